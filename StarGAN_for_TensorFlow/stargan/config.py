"""StarGANConfig: every setting of a run, with the paper's (and the seed's) values as defaults.

The config is saved as ``<output_dir>/config.json`` beside the checkpoints; test, freeze and eval
rebuild the networks from that file, never from re-typed flags.

    cfg = StarGANConfig.preset("demo")
    cfg = dataclasses.replace(cfg, batch_size=8)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Tuple

from common_tools.errors import UserError

HAIR_COLOURS = ("Black_Hair", "Blond_Hair", "Brown_Hair", "Gray_Hair")


@dataclass(frozen=True)
class StarGANConfig:
    # --- networks -------------------------------------------------------------------------------
    image_size: int = 128           # square input/output size in pixels (must be a multiple of 2**d_repeat_num)
    c_dim: int = 5                  # number of domain labels; must equal len(selected_attrs)
    selected_attrs: Tuple[str, ...] = ("Black_Hair", "Blond_Hair", "Brown_Hair", "Male", "Young")
    g_conv_dim: int = 64            # channels of G's first conv (doubled by each down-sampling)
    d_conv_dim: int = 64            # channels of D's first conv (doubled by each strided conv)
    g_repeat_num: int = 6           # residual blocks in G
    d_repeat_num: int = 6           # strided convs in D
    # --- losses ---------------------------------------------------------------------------------
    lambda_cls: float = 1.0         # weight of the domain classification loss
    lambda_rec: float = 10.0        # weight of the cycle reconstruction loss (G only)
    lambda_gp: float = 10.0         # weight of the WGAN-GP gradient penalty (D only)
    # --- optimisation ---------------------------------------------------------------------------
    batch_size: int = 16
    n_critic: int = 5               # D updates per G update (the seed's d_train_repeat)
    g_lr: float = 1e-4
    d_lr: float = 1e-4
    beta1: float = 0.5
    beta2: float = 0.999
    training_iterations: int = 200_000   # counted in D updates
    num_step_decay: int = 100_000   # lr decays linearly to 0 over the last num_step_decay iterations
    lr_update_step: int = 1_000     # the lr is recomputed every lr_update_step iterations
    mixed_precision: bool = False   # Keras mixed_float16 policy with loss scaling
    xla: bool = False               # compile the train step with XLA (jit_compile)
    seed: int = 0                   # weights, data order, target labels
    # --- data -----------------------------------------------------------------------------------
    n_test: int = 1999              # the first n_test shuffled rows are the test split (CelebA: 1999)
    split_seed: int = 1234          # shuffle seed of the train/test split (the reference's)
    # --- logging and checkpoints ----------------------------------------------------------------
    summary_steps: int = 10         # JSONL / TensorBoard scalars every N iterations
    save_steps: int = 1_000         # sample grid every N iterations
    checkpoint_steps: int = 10_000  # checkpoint every N iterations (and at the end)
    max_to_keep: int = 5            # checkpoints kept on disk
    # --- test hook ------------------------------------------------------------------------------
    inject_nan_at: int = 0          # >0: make the D loss NaN at this iteration (fault tests only)

    def __post_init__(self):
        if self.c_dim != len(self.selected_attrs):
            raise UserError(f"c_dim is {self.c_dim} but {len(self.selected_attrs)} selected_attrs "
                            f"were given ({' '.join(self.selected_attrs)}); they must be equal")
        if len(set(self.selected_attrs)) != len(self.selected_attrs):
            raise UserError(f"selected_attrs has duplicates: {' '.join(self.selected_attrs)}")
        step = 2 ** self.d_repeat_num
        if self.image_size % step or self.image_size < step:
            raise UserError(f"image_size {self.image_size} must be a positive multiple of "
                            f"2**d_repeat_num = {step}")
        for name in ("batch_size", "n_critic", "training_iterations", "lr_update_step",
                     "summary_steps", "save_steps", "checkpoint_steps", "g_conv_dim", "d_conv_dim"):
            if getattr(self, name) < 1:
                raise UserError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.num_step_decay < 0 or self.n_test < 0:
            raise UserError("num_step_decay and n_test must be >= 0")

    # ---- presets ---------------------------------------------------------------------------------
    @classmethod
    def paper(cls) -> "StarGANConfig":
        """The paper / seed run: CelebA 128 px, batch 16, 200k iterations."""
        return cls()

    @classmethod
    def tiny(cls) -> "StarGANConfig":
        """Tests: 32 px, 8 channels, one residual block; a step takes milliseconds on CPU."""
        return cls(image_size=32, g_conv_dim=8, d_conv_dim=8, g_repeat_num=1, d_repeat_num=4,
                   batch_size=2, training_iterations=4, num_step_decay=2, lr_update_step=1,
                   summary_steps=1, save_steps=2, checkpoint_steps=2, n_critic=2, n_test=4)

    @classmethod
    def demo(cls) -> "StarGANConfig":
        """SynthFaces on a CPU: 64 px, reduced widths, visible edits in a few minutes."""
        return cls(image_size=64, g_conv_dim=16, d_conv_dim=16, g_repeat_num=3, d_repeat_num=5,
                   batch_size=16, n_critic=5, g_lr=2e-4, d_lr=2e-4,
                   training_iterations=1_200, num_step_decay=400, lr_update_step=50,
                   summary_steps=10, save_steps=200, checkpoint_steps=200, n_test=64)

    @classmethod
    def preset(cls, name: str) -> "StarGANConfig":
        presets = {"paper": cls.paper, "tiny": cls.tiny, "demo": cls.demo}
        if name not in presets:
            raise UserError(f"unknown preset {name!r}; expected one of {', '.join(presets)}")
        return presets[name]()

    def replace(self, **changes) -> "StarGANConfig":
        return dataclasses.replace(self, **changes)


PRESETS = ("paper", "tiny", "demo")
