"""STGAN hyper-parameters: one frozen dataclass, defaults = the paper / reference code.

Saved as ``<experiment>/config.json`` beside the checkpoints; ``test.py`` and ``ckpt2pb.py`` rebuild
the networks from it. Fields marked ``arch`` shape the networks (a resumed run refuses a change);
``sched`` fields may change on resume (applied and said). Presets: ``paper`` (128 px, 200 epochs),
``attgan`` (the reference's AttGAN mode), ``demo`` (SynthFaces, 32 px, minutes on a CPU), ``long``
(the demo's networks for about an hour), ``tiny`` (tests: 32 px, a handful of channels).

    cfg = STGANConfig.preset("demo").replace(lr=5e-4)
    cfg.n_att                                        # 13: derived from atts
"""

from __future__ import annotations

from dataclasses import dataclass

from common_tools.errors import UserError
from common_tools.runs import Presets, arch, sched

AUGMENTATIONS = ("flip", "translation")   # of d_augment, in the order they are applied

# The 13 attributes the paper edits, in the reference order (also the order of input2/input3).
PAPER_ATTS = ("Bald", "Bangs", "Black_Hair", "Blond_Hair", "Brown_Hair", "Bushy_Eyebrows",
              "Eyeglasses", "Male", "Mouth_Slightly_Open", "Mustache", "No_Beard", "Pale_Skin",
              "Young")


@dataclass(frozen=True)
class STGANConfig(Presets):
    PRESETS = ("paper", "tiny", "demo", "long", "attgan")

    # data and labels
    atts: tuple[str, ...] = arch(PAPER_ATTS)  # attributes edited (columns of input2/input3), separate words
    img_size: int = arch(128)            # 128: 170x170 crop at (26, 3); 64: 148x148 crop at (40, 15)
    thres_int: float = arch(0.5)         # 0/1 labels are fed to G as (x*2-1)*thres_int
    # generator
    enc_dim: int = arch(64)              # Genc width of layer 1 (doubles per layer, cap 1024)
    dec_dim: int = arch(64)              # Gdec width base
    enc_layers: int = arch(5)            # Genc depth (4x4 stride-2 convs)
    dec_layers: int = arch(5)            # Gdec depth (4x4 stride-2 transposed convs); = enc_layers
    shortcut_layers: int = arch(4)       # skip connections Genc -> Gdec (through STU when use_stu)
    inject_layers: int = arch(4)         # times the attribute difference is tiled into Gdec
    use_stu: bool = arch(True)           # False = AttGAN mode (plain skips)
    stu_dim: int = arch(64)              # STU width at the shallowest skip (doubles per level)
    stu_kernel_size: int = arch(3)       # kernel of the STU gate / candidate convs
    stu_inject: bool = arch(True)        # concatenate diff to the state passed between STU cells
    bn_momentum: float = arch(0.999)     # batch-norm moving-average decay (TF1 slim decay)
    # discriminator
    dis_dim: int = arch(64)              # D width of layer 1
    dis_fc_dim: int = arch(1024)         # hidden width of the Dadv and Datt heads
    dis_layers: int = arch(5)            # D depth
    # losses
    lambda_gp: float = sched(10.0)       # gradient penalty weight in L_D
    lambda_d_att: float = sched(1.0)     # attribute BCE weight in L_D
    lambda_g_att: float = sched(10.0)    # attribute BCE weight in L_G
    lambda_rec: float = sched(100.0)     # L1 reconstruction weight in L_G
    # schedule
    batch_size: int = sched(32)          # images per D or G update
    epochs: int = sched(200)             # epochs of (n_d + 1) * batch_size images per iteration
    lr: float = sched(2e-4)              # Adam learning rate; divided by 10 from epoch lr_decay_epoch
    lr_decay_epoch: int = sched(100)     # 0-based epoch from which lr/10 is used (paper: half the epochs)
    beta1: float = sched(0.5)            # Adam beta_1
    beta2: float = sched(0.999)          # Adam beta_2
    adam_eps: float = sched(1e-8)        # Adam epsilon
    n_d: int = sched(5)                  # D updates per G update, each on a fresh batch
    d_att_warmup: int = sched(0)         # D updates on its attribute BCE alone (real batches) before iteration 1
    g_rec_warmup: int = sched(0)         # G updates on its reconstruction L1 alone before iteration 1 (after D's)
    flip_targets: float = sched(0.0)     # share of each batch whose target b is a with ONE attribute flipped
                                         # (conflicts resolved, as the test's edits); the rest: a shuffled (paper: 0)
    d_augment: str = sched("")           # D's inputs augmented, real and fake alike (DiffAugment-style, labels
                                         # kept): "" (paper), "flip", "translation" (1/8 of the side), "flip,translation"
    # bookkeeping
    seed: int = sched(0)                 # initial weights, the step's random stream, data order (+ start step)
    max_train_images: int = sched(0)     # use only the first N training images (0 = the whole split)
    n_sample: int = sched(8)             # validation images in the sample_training/ strips
    sample_every: int = sched(500)       # iterations between sample strips (0 = at epoch ends only)
    save_every: int = sched(500)         # iterations between checkpoints (0 = at epoch ends only)
    max_to_keep: int = sched(5)          # checkpoints kept in checkpoints/

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
            (self.d_att_warmup >= 0 and self.g_rec_warmup >= 0, "d_att_warmup and g_rec_warmup must be >= 0"),
            (0.0 <= self.flip_targets <= 1.0, f"flip_targets {self.flip_targets} must be in [0, 1]"),
            (set(self.augmentations) <= set(AUGMENTATIONS),
             f"d_augment {self.d_augment!r}: expected a comma-separated subset of {', '.join(AUGMENTATIONS)}"),
        ]
        for ok, message in checks:
            if not ok:
                raise UserError(f"bad STGAN config: {message}")

    @property
    def augmentations(self) -> tuple[str, ...]:
        return tuple(a.strip() for a in self.d_augment.split(",") if a.strip())

    @property
    def n_att(self) -> int:
        return len(self.atts)

    @property
    def images_per_iteration(self) -> int:
        """n_d D updates and one G update, each on a fresh batch."""
        return self.batch_size * (self.n_d + 1)

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
        """SynthFaces at 32 px on a CPU (`make demo`): visible edits in about 4 minutes of training.

        Deviates from the paper on purpose (measured in the README's table): 32 px (a quarter of the
        64-px cost per image), n_d 1 (not 5) and lr 5e-4 (not 2e-4) for many more G updates per
        minute; widths 32, 4 layers, 3 STU cells with 1x1 gate and candidate convs (not 3x3: G's
        forward 177 -> 102 MFLOPs per image, 1.36x the iterations per second, as good over two
        seeds); lr / 10 for the last quarter of the epochs; before iteration 1, 300 updates of D's
        attribute classifier on real faces and 300 of G's reconstruction (about 30 s together);
        λ_g_att 15 (not 10)."""
        base = dict(img_size=32, enc_dim=32, dec_dim=32, stu_dim=32, dis_dim=32, dis_fc_dim=128,
                    enc_layers=4, dec_layers=4, dis_layers=4, shortcut_layers=3, inject_layers=3,
                    stu_kernel_size=1,
                    bn_momentum=0.9, batch_size=16, epochs=20, lr_decay_epoch=15, lr=5e-4, n_d=1,
                    d_att_warmup=300, g_rec_warmup=300, lambda_g_att=15.0, n_sample=6, sample_every=0,
                    save_every=100)
        return cls(**{**base, **overrides})

    @classmethod
    def long(cls, **overrides) -> "STGANConfig":
        """The demo's networks for about an hour of a 2-core CPU (`make demo LONG=1`): 120 epochs (6x
        the demo's), with the paper's λ_g_att 10 and no warm-up, as the README's hour-long figures were measured."""
        return cls.demo(**{"epochs": 120, "lr_decay_epoch": 90, "save_every": 500, "d_att_warmup": 0,
                           "g_rec_warmup": 0, "lambda_g_att": 10.0, **overrides})

    @classmethod
    def tiny(cls, **overrides) -> "STGANConfig":
        """Tests: 32 px, 8 channels, 3 layers, 1 D update per G update; seconds on a CPU."""
        base = dict(img_size=32, enc_dim=8, dec_dim=8, stu_dim=8, dis_dim=8, dis_fc_dim=16,
                    enc_layers=3, dec_layers=3, dis_layers=3, shortcut_layers=2, inject_layers=2,
                    bn_momentum=0.9, batch_size=2, epochs=1, lr_decay_epoch=1, n_d=1, n_sample=2,
                    sample_every=0, save_every=0, max_to_keep=2)
        return cls(**{**base, **overrides})
