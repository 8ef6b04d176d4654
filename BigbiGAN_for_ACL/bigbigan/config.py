"""BigBiGAN hyper-parameters: one frozen dataclass, defaults = the reference / the card's MNIST run.

Saved as ``<result_path>/config.json`` beside the checkpoints; freezing and inference rebuild the
networks from it. Fields marked ``arch`` shape the networks (a resumed run refuses a change);
``sched`` fields may change on resume (applied and said). Presets: ``paper`` (MNIST, 50 epochs,
batch 256), ``demo`` (SynthDigits, reduced widths, minutes on a CPU), ``long`` (the demo's networks
for about half an hour), ``tiny`` (tests: a handful of channels, batch 4, 4 iterations).

    cfg = BigBiGANConfig.preset("demo").replace(iterations=200)
    cfg.channels, cfg.init                 # 1, "truncated_normal": derived from cfg.dataset
    cfg.replace(kernel_init="orthogonal").init   # "orthogonal": chosen (--kernel_init)
    cfg.total_steps(60_000)                # 50 epochs * 234 batches = 11,700 iterations
"""

from __future__ import annotations

from dataclasses import dataclass

from common_tools.errors import UserError
from common_tools.runs import Presets, arch, sched

DATASETS = ("mnist", "fashion_mnist", "cifar10")
IMAGE_SIZE = 32            # G's output side (4 -> 8 -> 16 -> 32); images are resized to it
KERNEL_INITS = ("auto", "truncated_normal", "orthogonal")
NUM_CLASSES = 10           # every supported data set has 10 classes


@dataclass(frozen=True)
class BigBiGANConfig(Presets):
    PRESETS = ("paper", "tiny", "demo", "long")

    # data (the data set fixes the channels and the initializer, so it is part of the architecture)
    dataset: str = arch("mnist")         # mnist | fashion_mnist | cifar10 (tensorflow_datasets spelling)
    # networks (bigbigan.networks)
    ch: int = arch(64)                   # G and F width (gen_disc_ch): G 4ch -> 4ch -> 2ch -> ch, F ch -> 4ch
    en_ch: int = arch(32)                # E's RevNet width of the first stage (doubles per stage)
    latent_dim: int = arch(100)          # z and E(x) size; split into 4 chunks in G (x1 is [256, latent_dim])
    embed_dim: int = arch(32)            # G's label embedding, appended to latent chunks 1-3
    units: int = arch(64)                # width of the residual MLP blocks of H and J
    en_units: int = arch(256)            # width of E's two residual MLP head blocks
    conditional: bool = arch(True)       # G and F see the label (label embedding, projection)
    kernel_init: str = arch("auto")      # auto: by dataset (the reference: truncated_normal for MNIST, else orthogonal) | truncated_normal | orthogonal
    dropout: float = sched(0.2)          # dropout rate in the residual MLP blocks of H, J and E
    # optimisation
    batch_size: int = sched(256)         # images per iteration (train_batch_size); the last partial batch is dropped
    num_epochs: int = sched(50)          # epochs over the training split (ignored when iterations > 0)
    iterations: int = sched(0)           # > 0: train exactly this many iterations instead of num_epochs
    n_disc: int = sched(2)               # D updates per G+E update, on the same batch with fresh z (D_G_ratio)
    lr_d: float = sched(2e-4)            # Adam learning rate of D = (F, H, J)
    lr_ge: float = sched(2e-4)           # Adam learning rate of G and E (one optimizer for both)
    lr_e: float = arch(0.0)              # > 0: E's own Adam at this rate (kept in the checkpoint); 0: E shares G's (reference)
    beta1: float = sched(0.5)            # Adam beta_1 (both optimizers)
    beta2: float = sched(0.999)          # Adam beta_2 (both optimizers)
    mixed_precision: bool = sched(False)  # Keras mixed precision: mixed_float16 on GPU (loss-scaled), mixed_bfloat16 on CPU
    # bookkeeping
    seed: int = sched(0)                 # initial weights, dropout and z streams; data order (+ start step)
    log_every: int = sched(10)           # iterations between train_log.jsonl records (and the last)
    sample_every: int = sched(500)       # iterations between sample grids in samples/ (0 = at the end only)
    checkpoint_every: int = sched(1000)  # iterations between checkpoints (and always at the end)
    max_to_keep: int = sched(5)          # checkpoints kept in checkpoints/

    def __post_init__(self):
        if self.dataset not in DATASETS:
            raise UserError(f"unknown dataset {self.dataset!r}: expected one of {', '.join(DATASETS)}")
        if self.latent_dim < 4 or self.latent_dim % 4:
            raise UserError(f"latent_dim must be a positive multiple of 4 (G splits z into 4 "
                            f"chunks), got {self.latent_dim}")
        for name in ("ch", "en_ch", "embed_dim", "units", "en_units", "batch_size", "n_disc",
                     "log_every", "checkpoint_every", "max_to_keep"):
            if getattr(self, name) < 1:
                raise UserError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("num_epochs", "iterations", "sample_every"):
            if getattr(self, name) < 0:
                raise UserError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.iterations == 0 and self.num_epochs == 0:
            raise UserError("num_epochs and iterations are both 0: nothing to train")
        if self.kernel_init not in KERNEL_INITS:
            raise UserError(f"unknown kernel_init {self.kernel_init!r}: expected one of {', '.join(KERNEL_INITS)}")
        if self.lr_e < 0:
            raise UserError(f"lr_e must be >= 0 (0: E shares G's optimizer), got {self.lr_e}")
        if not 0.0 <= self.dropout < 1.0:
            raise UserError(f"dropout must be in [0, 1), got {self.dropout}")

    # ---- derived values ------------------------------------------------------------------------
    @property
    def channels(self) -> int:
        """Image channels: 3 for CIFAR-10, 1 for the MNIST-style sets."""
        return 3 if self.dataset == "cifar10" else 1

    @property
    def init(self) -> str:
        """Kernel initializer: ``kernel_init``, or with "auto" the reference's: truncated normal
        (0.02) for MNIST, orthogonal otherwise."""
        if self.kernel_init != "auto":
            return self.kernel_init
        return "truncated_normal" if self.dataset == "mnist" else "orthogonal"

    @property
    def num_classes(self) -> int:
        return NUM_CLASSES

    @property
    def image_size(self) -> int:
        return IMAGE_SIZE

    def steps_per_epoch(self, num_images: int) -> int:
        """Whole batches in one pass over ``num_images`` (drop_remainder)."""
        return num_images // self.batch_size

    def total_steps(self, num_images: int) -> int:
        """Iterations of the run: ``iterations`` if set, else num_epochs whole passes."""
        if self.iterations:
            return self.iterations
        per_epoch = self.steps_per_epoch(num_images)
        if per_epoch < 1:
            raise UserError(f"{num_images} training images make no whole batch of {self.batch_size}: "
                            "lower --train_batch_size or give more images")
        return self.num_epochs * per_epoch

    def network_kwargs(self) -> dict:
        """Arguments of :func:`bigbigan.networks.build_networks` for this config."""
        return dict(channels=self.channels, ch=self.ch, en_ch=self.en_ch, latent_dim=self.latent_dim,
                    num_classes=self.num_classes, embed_dim=self.embed_dim, units=self.units,
                    en_units=self.en_units, dropout=self.dropout, conditional=self.conditional,
                    init=self.init, image_size=self.image_size)

    # ---- presets -------------------------------------------------------------------------------
    @classmethod
    def paper(cls) -> "BigBiGANConfig":
        """The card / reference run: MNIST, 50 epochs of batch 256, Adam(0.5, 0.999) 2e-4, 2 D steps."""
        return cls()

    @classmethod
    def tiny(cls) -> "BigBiGANConfig":
        """Tests: 4-channel networks (latent 100 kept: the card's x1 is [256, 100]), batch 4, 4 steps,
        one D step per G+E step (the traced step is half the size; step tests set n_disc=2)."""
        return cls(ch=4, en_ch=4, embed_dim=4, units=8, en_units=8, batch_size=4, iterations=4,
                   n_disc=1, log_every=1, sample_every=0, checkpoint_every=4)

    @classmethod
    def demo(cls) -> "BigBiGANConfig":
        """SynthDigits on a CPU: quarter widths, batch 64, 300 iterations (a few minutes), and
        lr_ge 1e-3: with the paper's 2e-4 D wins within 100 iterations at this length (G collapses
        to black images, E(x) to a point), with 1e-3 the game stays balanced. lr_d stays the
        paper's 2e-4: with 5e-4 or 1e-3 D won within 60 iterations on an AMD CPU (G's output
        sigmoid saturated: black images for good), while 1e-3 had given the best probe on an
        Intel one; 2e-4 stayed balanced on both (README, 模型性能)."""
        return cls(ch=16, en_ch=16, embed_dim=16, units=64, en_units=128, batch_size=64, lr_ge=1e-3, lr_d=2e-4,
                   iterations=300, log_every=10, sample_every=100, checkpoint_every=100)

    @classmethod
    def long(cls) -> "BigBiGANConfig":
        """The README's longer run (`make demo LONG=1`, 32 minutes on the Intel CPU it was measured
        on): the demo networks for 7,000 iterations with lr_d 1e-3, as that run was trained."""
        return cls.demo().replace(lr_d=1e-3, iterations=7000)
