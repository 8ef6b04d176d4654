"""StarGANConfig: every setting of a run, with the paper's (and the seed's) values as defaults.

The config is saved as ``<output_dir>/config.json`` beside ``checkpoints/``; test, freeze and eval
rebuild the networks from that file, never from re-typed flags. Each field is marked architecture
(``runs.arch``: fixed once trained, a resume with another value is refused) or schedule
(``runs.sched``: a resume applies the new value and says so); its comment is its ``--help`` text.

    cfg = StarGANConfig.preset("demo").replace(batch_size=8)     # presets: paper, tiny, demo, long
    cfg.c_dim                      # 5: derived from selected_attrs, never set
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Tuple

from common_tools import runs
from common_tools.errors import UserError

DEFAULT_ATTRS = ("Black_Hair", "Blond_Hair", "Brown_Hair", "Male", "Young")


@dataclass(frozen=True)
class StarGANConfig(runs.Presets):
    PRESETS = ("paper", "tiny", "demo", "long")

    # --- networks -------------------------------------------------------------------------------
    image_size: int = runs.arch(128)        # square input/output size in pixels (a multiple of 2**d_repeat_num)
    selected_attrs: Tuple[str, ...] = runs.arch(DEFAULT_ATTRS)  # the domain labels, in order (c_dim = their number)
    g_conv_dim: int = runs.arch(64)         # channels of G's first conv (doubled by each down-sampling)
    d_conv_dim: int = runs.arch(64)         # channels of D's first conv (doubled by each strided conv)
    g_repeat_num: int = runs.arch(6)        # residual blocks in G
    d_repeat_num: int = runs.arch(6)        # strided convs in D
    mixed_precision: bool = runs.arch(False)  # Keras mixed policy (loss-scaled Adam on GPU)
    # --- losses ---------------------------------------------------------------------------------
    lambda_cls: float = runs.sched(1.0)     # weight of the domain classification loss
    lambda_rec: float = runs.sched(10.0)    # weight of the cycle reconstruction loss (G only)
    lambda_gp: float = runs.sched(10.0)     # weight of the WGAN-GP gradient penalty (D only)
    lambda_id: float = runs.sched(0.0)      # identity-mapping loss |x - G(x, c_org)| (G only; not the paper's: 0)
    # --- optimisation ---------------------------------------------------------------------------
    batch_size: int = runs.sched(16)        # batch size
    n_critic: int = runs.sched(5)           # D updates per G update (the seed's d_train_repeat)
    g_lr: float = runs.sched(1e-4)          # G's Adam learning rate before the decay
    d_lr: float = runs.sched(1e-4)          # D's Adam learning rate before the decay
    beta1: float = runs.sched(0.5)          # Adam beta1
    beta2: float = runs.sched(0.999)        # Adam beta2
    training_iterations: int = runs.sched(200_000)  # number of total iterations (counted in D updates)
    num_step_decay: int = runs.sched(100_000)  # lr decays linearly to 0 over the last N iterations
    lr_update_step: int = runs.sched(1_000)  # the lr is recomputed every N iterations
    xla: bool = runs.sched(False)           # compile the train step with XLA (jit_compile)
    seed: int = runs.sched(0)               # the step's random generator (targets, GP mixing) and the data order
    # --- data -----------------------------------------------------------------------------------
    n_test: int = runs.sched(1999)          # the first n_test shuffled rows are the test split (CelebA: 1999)
    split_seed: int = runs.sched(1234)      # shuffle seed of the train/test split (the reference's)
    # --- logging and checkpoints ----------------------------------------------------------------
    summary_steps: int = runs.sched(10)     # summary period: JSONL / TensorBoard scalars every N iterations
    save_steps: int = runs.sched(1_000)     # save sample period: a grid every N iterations
    checkpoint_steps: int = runs.sched(10_000)  # checkpoint period (and at the end)
    max_to_keep: int = runs.sched(5)        # checkpoints kept on disk

    @property
    def c_dim(self) -> int:
        """The dimension of the condition: one label per selected attribute."""
        return len(self.selected_attrs)

    def __post_init__(self):
        if not self.selected_attrs or len(set(self.selected_attrs)) != len(self.selected_attrs):
            raise UserError(f"selected_attrs must be distinct names, got {' '.join(self.selected_attrs)!r}")
        step = 2 ** self.d_repeat_num
        if self.image_size % step or self.image_size < step:
            raise UserError(f"image_size {self.image_size} must be a positive multiple of "
                            f"2**d_repeat_num = {step}")
        for name in ("batch_size", "n_critic", "training_iterations", "lr_update_step",
                     "summary_steps", "save_steps", "checkpoint_steps", "g_conv_dim", "d_conv_dim"):
            if getattr(self, name) < 1:
                raise UserError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.lambda_id < 0:
            raise UserError(f"lambda_id must be >= 0, got {self.lambda_id}")
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
        """SynthFaces on a CPU (`make demo`): 32 px, widths 16, batch 8, about 4 minutes of training.

        Deviates from the paper's schedule on purpose (what was tried: the README's table): 32 px
        with 4 strided D convs and batch 8 (an iteration costs about 0.055 s on a quiet 2-core CPU
        against 0.19 s at 64 px and batch 16, so 3,900 G updates fit the budget instead of 900), G updated every iteration (n_critic 1,
        not 5), lr 2e-4 decayed over the second half, lambda_cls 3 and lambda_rec 30 (not 1 and 10)."""
        return cls(image_size=32, g_conv_dim=16, d_conv_dim=16, g_repeat_num=3, d_repeat_num=4,
                   batch_size=8, n_critic=1, g_lr=2e-4, d_lr=2e-4, lambda_cls=3.0, lambda_rec=30.0,
                   training_iterations=3900, num_step_decay=1950, lr_update_step=50,
                   summary_steps=10, save_steps=975, checkpoint_steps=975, n_test=64)

    @classmethod
    def long(cls) -> "StarGANConfig":
        """The demo's networks and losses for about an hour of a 2-core CPU (`make demo LONG=1`):
        about 13x the iterations, the lr decayed over the second half; 200 test faces."""
        return cls.demo().replace(training_iterations=50_000, num_step_decay=25_000, lr_update_step=250,
                                  save_steps=5_000, checkpoint_steps=1_000, n_test=200)


PRESETS = StarGANConfig.PRESETS
