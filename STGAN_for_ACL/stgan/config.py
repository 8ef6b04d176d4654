"""STGAN hyper-parameters: one frozen dataclass, defaults = the paper / reference code.

Saved as ``config.json`` beside the checkpoints; ``test.py`` and ``ckpt2pb.py`` rebuild the networks
from it. Presets: ``paper`` (128 px, 200 epochs), ``demo`` (SynthFaces, 64 px, minutes on a CPU),
``tiny`` (tests: 32 px, a handful of channels).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from common_tools.errors import UserError

# The 13 attributes the paper edits, in the reference order (also the order of input2/input3).
PAPER_ATTS = ("Bald", "Bangs", "Black_Hair", "Blond_Hair", "Brown_Hair", "Bushy_Eyebrows",
              "Eyeglasses", "Male", "Mouth_Slightly_Open", "Mustache", "No_Beard", "Pale_Skin",
              "Young")


@dataclass(frozen=True)
class STGANConfig:
    experiment_name: str = "default"  # output/<experiment_name>/...
    # data
    atts: tuple[str, ...] = PAPER_ATTS  # attributes edited (columns of input2/input3)
    img_size: int = 128               # 128: 170x170 crop at (26, 3); 64: 148x148 crop at (40, 15)
    # generator
    enc_dim: int = 64                 # Genc width of layer 1 (doubles per layer, cap 1024)
    dec_dim: int = 64                 # Gdec width base
    enc_layers: int = 5               # Genc depth (4x4 stride-2 convs)
    dec_layers: int = 5               # Gdec depth (4x4 stride-2 transposed convs)
    shortcut_layers: int = 4          # skip connections Genc -> Gdec (through STU when use_stu)
    inject_layers: int = 4            # times the attribute difference is tiled into Gdec
    use_stu: bool = True              # False = AttGAN mode (plain skips)
    stu_dim: int = 64                 # STU width at the shallowest skip (doubles per level)
    stu_kernel_size: int = 3          # kernel of the STU gate / candidate convs
    stu_inject: bool = True           # concatenate diff to the state passed between STU cells
    bn_momentum: float = 0.999        # batch-norm moving-average decay (TF1 slim decay)
    # discriminator
    dis_dim: int = 64                 # D width of layer 1
    dis_fc_dim: int = 1024            # hidden width of the Dadv and Datt heads
    dis_layers: int = 5               # D depth
    # losses
    thres_int: float = 0.5            # labels scaled (x*2-1)*thres_int
    lambda_gp: float = 10.0           # gradient penalty weight in L_D
    lambda_d_att: float = 1.0         # attribute BCE weight in L_D
    lambda_g_att: float = 10.0        # attribute BCE weight in L_G
    lambda_rec: float = 100.0         # L1 reconstruction weight in L_G
    # schedule
    batch_size: int = 32
    epochs: int = 200
    lr: float = 2e-4                  # Adam; divided by 10 from epoch lr_decay_epoch
    lr_decay_epoch: int = 100         # default: half the epochs
    beta1: float = 0.5
    beta2: float = 0.999
    adam_eps: float = 1e-8
    n_d: int = 5                      # D updates per G update, each on a fresh batch
    # bookkeeping
    seed: int = 0
    max_train_images: int = 0         # 0 = whole training split
    n_sample: int = 8                 # validation images in the sample grids
    sample_every: int = 500           # G steps between sample grids (0 = at epoch ends only)
    save_every: int = 500             # G steps between checkpoints (always at epoch ends)
    max_to_keep: int = 5

    def __post_init__(self):
        checks = [
            (self.img_size % (2 ** max(self.enc_layers, self.dis_layers)) == 0,
             f"img_size {self.img_size} must be divisible by 2**layers"),
            (1 <= self.enc_layers and self.dec_layers == self.enc_layers,
             "enc_layers and dec_layers must be equal and >= 1"),
            (0 <= self.shortcut_layers <= self.enc_layers - 1,
             f"shortcut_layers must be in 0..{self.enc_layers - 1}"),
            (0 <= self.inject_layers <= self.dec_layers - 1,
             f"inject_layers must be in 0..{self.dec_layers - 1}"),
            (len(self.atts) > 0 and len(set(self.atts)) == len(self.atts),
             "atts must be a non-empty list of distinct attribute names"),
            (self.batch_size >= 1 and self.epochs >= 1 and self.n_d >= 1, "batch_size, epochs, n_d >= 1"),
        ]
        for ok, message in checks:
            if not ok:
                raise UserError(f"bad STGAN config: {message}")

    @property
    def n_att(self) -> int:
        return len(self.atts)

    @classmethod
    def paper(cls, **overrides) -> "STGANConfig":
        """The paper: 128 px, batch 32, 200 epochs, 13 attributes, STU on 4 skips."""
        return cls(**overrides)

    @classmethod
    def attgan(cls, **overrides) -> "STGANConfig":
        """AttGAN mode of the reference: no STU, 1 shortcut, 1 injection."""
        return cls(**{"use_stu": False, "shortcut_layers": 1, "inject_layers": 1, **overrides})

    @classmethod
    def demo(cls, **overrides) -> "STGANConfig":
        """SynthFaces at 64 px with reduced widths: visible edits after a few CPU minutes.

        Deviates from the paper's schedule on purpose: n_d 2 (not 5) and lr 1e-3 give 3x more G
        updates per minute; with n_d 5 / lr 2e-4 the edits were still faint after 230 iterations."""
        base = dict(experiment_name="demo", img_size=64, enc_dim=16, dec_dim=16, stu_dim=16,
                    dis_dim=16, dis_fc_dim=128, enc_layers=4, dec_layers=4, dis_layers=4,
                    shortcut_layers=3, inject_layers=3, bn_momentum=0.9, batch_size=8, epochs=6,
                    lr_decay_epoch=5, lr=1e-3, n_d=2, n_sample=6, sample_every=0, save_every=50)
        return cls(**{**base, **overrides})

    @classmethod
    def tiny(cls, **overrides) -> "STGANConfig":
        """Tests: 32 px, 8 channels, 3 layers; seconds on a CPU."""
        base = dict(experiment_name="tiny", img_size=32, enc_dim=8, dec_dim=8, stu_dim=8, dis_dim=8,
                    dis_fc_dim=16, enc_layers=3, dec_layers=3, dis_layers=3, shortcut_layers=2,
                    inject_layers=2, bn_momentum=0.9, batch_size=2, epochs=1, lr_decay_epoch=1,
                    n_sample=2, sample_every=0, save_every=0, max_to_keep=2)
        return cls(**{**base, **overrides})


PRESETS = {"paper": STGANConfig.paper, "attgan": STGANConfig.attgan, "demo": STGANConfig.demo,
           "tiny": STGANConfig.tiny}


def preset(name: str, **overrides) -> STGANConfig:
    if name not in PRESETS:
        raise UserError(f"unknown preset {name!r}: expected one of {', '.join(PRESETS)}")
    return PRESETS[name](**overrides)


def replace(cfg: STGANConfig, **changes) -> STGANConfig:
    return dataclasses.replace(cfg, **changes)
