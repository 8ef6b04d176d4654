"""StackGANConfig: every setting of a Stage-I or Stage-II run, the reference's values as defaults.

One dataclass for both stages, with a ``stage`` field, rather than one class per stage: the two
stages share every field but two (a Stage-II run also needs the Stage-I checkpoint and the epoch it
starts from), the reference's YAML files have the same keys for both, and a Stage-II run must
rebuild the frozen Stage-I generator from the same architecture fields (``gf_dim``, ``z_dim``,
``c_dim``, ``lr_size``), which one class keeps in one ``config.json``. The stage-specific values are
derived (``image_size``, ``load_size``, the first epoch) or set by :meth:`StackGANConfig.for_stage`.

Each field is ``runs.arch`` (shapes the networks: a resume with another value is refused) or
``runs.sched`` (a resume applies the new value and says so); its comment is its ``--help``. The
reference's YAML key of each field is in :data:`YAML_KEYS` (stackgan/cli.py reads the YAML).

    cfg = StackGANConfig.paper()                  # Stage-I: 64 px crops of 76, 600 epochs
    cfg2 = StackGANConfig.paper().for_stage(2)    # Stage-II: 256 of 304, epochs 600 -> 1200
    cfg2.image_size, cfg2.load_size               # (256, 304)
    StackGANConfig.preset("tiny").for_stage(2)    # tests: 64 px Stage-II on 16 px Stage-I
"""

from __future__ import annotations

from dataclasses import dataclass

from common_tools import runs
from common_tools.errors import UserError

LOAD_RATIO = (76, 64)   # the reference loads 76 px (304 px) images and crops 64 (256)
HR_RATIO = 4            # Stage-II image side / Stage-I image side


@dataclass(frozen=True)
class StackGANConfig(runs.Presets):
    # --- what is trained ------------------------------------------------------------------------
    stage: int = runs.arch(1)                 # 1: Stage-I G and D (lr_size px); 2: Stage-II G and D (4 x lr_size px) on a frozen Stage-I G
    # --- networks (GAN.*, Z_DIM) ----------------------------------------------------------------
    z_dim: int = runs.arch(100)               # size of the noise z of Stage-I G (Z_DIM)
    c_dim: int = runs.arch(128)               # size of the CA sample c and of D's compressed text (GAN.EMBEDDING_DIM)
    gf_dim: int = runs.arch(128)              # generator width: Stage-I G has 8*gf_dim channels at 4x4 (GAN.GF_DIM)
    df_dim: int = runs.arch(64)               # discriminator width: 8*df_dim channels at 4x4 (GAN.DF_DIM)
    embedding_dim: int = runs.arch(1024)      # size of one text embedding (char-CNN-RNN: 1024); must match the data
    lr_size: int = runs.arch(64)              # Stage-I image side in pixels (a multiple of 16); Stage-II makes 4x this
    num_residual: int = runs.arch(4)          # residual blocks of Stage-II G at 16x16
    mixed_precision: bool = runs.arch(False)  # Keras mixed policy (mixed_float16 with loss scaling on GPU, bf16 on CPU)
    # --- data (DATASET_NAME, EMBEDDING_TYPE) ----------------------------------------------------
    dataset_name: str = runs.sched("birds")   # data set folder name under Data/ (birds, flowers) (DATASET_NAME)
    embedding_type: str = runs.sched("cnn-rnn")  # embedding pickle: cnn-rnn or skip-thought (EMBEDDING_TYPE)
    num_embedding: int = runs.sched(4)        # captions averaged per training sample, of the 10 per image (TRAIN.NUM_EMBEDDING)
    # --- losses (TRAIN.COEFF.KL, TRAIN.B_WRONG, TRAIN.COND_AUGMENTATION) ------------------------
    kl_coeff: float = runs.sched(2.0)         # weight of the CA's KL term in the G loss (TRAIN.COEFF.KL)
    b_wrong: bool = runs.sched(True)          # D also sees mismatched (image, text) pairs: real + (wrong + fake)/2 (TRAIN.B_WRONG)
    cond_augmentation: bool = runs.sched(True)  # sample c = mu + sigma*eps (False: c = mu, no KL) (TRAIN.COND_AUGMENTATION)
    # --- optimisation (TRAIN.*) -----------------------------------------------------------------
    batch_size: int = runs.sched(64)          # images per iteration (TRAIN.BATCH_SIZE)
    generator_lr: float = runs.sched(2e-4)    # G's Adam learning rate before the halvings (TRAIN.GENERATOR_LR)
    discriminator_lr: float = runs.sched(2e-4)  # D's Adam learning rate before the halvings (TRAIN.DISCRIMINATOR_LR)
    beta1: float = runs.sched(0.5)            # Adam beta1 of G and D (the reference's; beta2 stays 0.999)
    lr_decay_epoch: int = runs.sched(50)      # both lrs halve every N epochs (Stage-II: after pretrained_epoch) (TRAIN.LR_DECAY_EPOCH)
    max_epoch: int = runs.sched(600)          # last epoch; Stage-II counts on from pretrained_epoch (TRAIN.MAX_EPOCH)
    pretrained_epoch: int = runs.sched(600)   # Stage-II: the epoch its run starts at (the Stage-I epochs) (TRAIN.PRETRAINED_EPOCH)
    max_iterations: int = runs.sched(0)       # stop after N iterations instead (0: run to max_epoch) (TRAIN.MAX_ITERATIONS, not in the reference)
    pretrained_model: str = runs.sched("")    # Stage-II: the Stage-I checkpoint (prefix, checkpoints/ folder or run folder) (TRAIN.PRETRAINED_MODEL)
    seed: int = runs.sched(0)                 # seed of the step's random generator (z, eps) and of the data order
    run_eagerly: bool = runs.sched(False)     # run the step op by op, not as one traced tf.function: no tracing wait (~10 s), slower steps
    # --- checkpoints, logs, samples -------------------------------------------------------------
    snapshot_interval: int = runs.sched(2000)  # checkpoint every N iterations, and at the end (TRAIN.SNAPSHOT_INTERVAL)
    max_to_keep: int = runs.sched(5)          # checkpoints kept on disk
    log_steps: int = runs.sched(10)           # JSONL / TensorBoard record every N iterations
    sample_steps: int = runs.sched(0)         # preview grid every N iterations (0: once per epoch, as the reference)
    num_copy: int = runs.sched(4)             # samples per caption in previews and inference grids (TRAIN.NUM_COPY)

    # ---- derived values ------------------------------------------------------------------------
    @property
    def hr_size(self) -> int:
        """Stage-II image side: 4 x lr_size (256)."""
        return HR_RATIO * self.lr_size

    @property
    def image_size(self) -> int:
        """The side of the images this stage generates and its D sees: lr_size or hr_size."""
        return self.lr_size if self.stage == 1 else self.hr_size

    @property
    def load_size(self) -> int:
        """The side of the stored images this stage crops from: 76 (Stage-I) or 304 (Stage-II)."""
        return self.image_size * LOAD_RATIO[0] // LOAD_RATIO[1]

    @property
    def start_epoch(self) -> int:
        """The epoch iteration 0 of this run belongs to: 0, or pretrained_epoch for Stage-II."""
        return 0 if self.stage == 1 else self.pretrained_epoch

    def __post_init__(self):
        if self.stage not in (1, 2):
            raise UserError(f"stage must be 1 or 2, got {self.stage}")
        if self.lr_size < 16 or self.lr_size % 16:
            raise UserError(f"lr_size must be a positive multiple of 16 (Stage-I G up-samples 4x4 "
                            f"four times), got {self.lr_size}")
        if self.gf_dim % 4:
            raise UserError(f"gf_dim must be a multiple of 4 (Stage-II G ends at gf_dim/4 channels), "
                            f"got {self.gf_dim}")
        if self.embedding_type not in ("cnn-rnn", "skip-thought"):
            raise UserError(f"embedding_type must be cnn-rnn or skip-thought, got {self.embedding_type!r}")
        for name in ("z_dim", "c_dim", "gf_dim", "df_dim", "embedding_dim", "num_residual",
                     "batch_size", "num_embedding", "lr_decay_epoch", "max_epoch",
                     "snapshot_interval", "log_steps", "num_copy", "max_to_keep"):
            if getattr(self, name) < 1:
                raise UserError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("max_iterations", "sample_steps", "pretrained_epoch"):
            if getattr(self, name) < 0:
                raise UserError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.stage == 2 and self.max_epoch <= self.pretrained_epoch and not self.max_iterations:
            raise UserError(f"Stage-II runs from epoch pretrained_epoch={self.pretrained_epoch} to "
                            f"max_epoch={self.max_epoch}: max_epoch must be larger (the reference: "
                            "600 -> 1200)")

    def for_stage(self, stage: int) -> "StackGANConfig":
        """This config for ``stage`` with that stage's schedule: Stage-II halves the lrs every 100
        epochs and runs from pretrained_epoch to pretrained_epoch + max_epoch (the reference's
        600 -> 1200); Stage-I every 50 epochs from 0 to max_epoch. Same config when already there."""
        if stage == self.stage:
            return self
        if stage == 2:
            return self.replace(stage=2, lr_decay_epoch=2 * self.lr_decay_epoch,
                                pretrained_epoch=self.max_epoch,
                                max_epoch=2 * self.max_epoch)
        return self.replace(stage=1, lr_decay_epoch=max(1, self.lr_decay_epoch // 2),
                            max_epoch=max(1, self.max_epoch - self.pretrained_epoch))

    # ---- presets -------------------------------------------------------------------------------
    @classmethod
    def paper(cls) -> "StackGANConfig":
        """The reference's Stage-I run: CUB birds, batch 64, 600 epochs, lr halved every 50
        (``.for_stage(2)``: 600 more epochs, lr halved every 100 after the first 600)."""
        return cls()

    @classmethod
    def tiny(cls) -> "StackGANConfig":
        """Tests: 16 px Stage-I (64 px Stage-II), a few channels, batch 2, 4 iterations, every
        record logged, eager steps (a fraction of a second each, no tracing wait) on a CPU."""
        return cls(z_dim=8, c_dim=4, gf_dim=4, df_dim=2, lr_size=16, num_residual=1,
                   batch_size=2, max_epoch=1, pretrained_epoch=1, max_iterations=4,
                   lr_decay_epoch=1, snapshot_interval=4, log_steps=1, sample_steps=0,
                   num_copy=2, max_to_keep=3, run_eagerly=True)

    @classmethod
    def demo(cls) -> "StackGANConfig":
        """SynthBirds on a CPU in minutes: 32 px Stage-I (128 px Stage-II), reduced widths."""
        return cls(z_dim=32, c_dim=32, gf_dim=16, df_dim=8, lr_size=32, num_residual=2,
                   batch_size=16, max_epoch=40, pretrained_epoch=40, lr_decay_epoch=20,
                   snapshot_interval=200, log_steps=10, num_copy=4)


PRESETS = StackGANConfig.PRESETS

# YAML keys -> config fields: the reference's (stageI/cfg/birds.yml, misc/config.py), then ours. Keys the
# entry scripts read themselves (TRAIN.FLAG, GPU_ID, CONFIG_NAME, TEST.*) are in stackgan/cli.py.
YAML_KEYS = {
    "Z_DIM": "z_dim",
    "DATASET_NAME": "dataset_name",
    "EMBEDDING_TYPE": "embedding_type",
    "GAN.EMBEDDING_DIM": "c_dim",
    "GAN.DF_DIM": "df_dim",
    "GAN.GF_DIM": "gf_dim",
    "TRAIN.BATCH_SIZE": "batch_size",
    "TRAIN.NUM_COPY": "num_copy",
    "TRAIN.MAX_EPOCH": "max_epoch",
    "TRAIN.MAX_ITERATIONS": "max_iterations",
    "TRAIN.SNAPSHOT_INTERVAL": "snapshot_interval",
    "TRAIN.PRETRAINED_MODEL": "pretrained_model",
    "TRAIN.PRETRAINED_EPOCH": "pretrained_epoch",
    "TRAIN.DISCRIMINATOR_LR": "discriminator_lr",
    "TRAIN.GENERATOR_LR": "generator_lr",
    "TRAIN.LR_DECAY_EPOCH": "lr_decay_epoch",
    "TRAIN.NUM_EMBEDDING": "num_embedding",
    "TRAIN.COND_AUGMENTATION": "cond_augmentation",
    "TRAIN.B_WRONG": "b_wrong",
    "TRAIN.COEFF.KL": "kl_coeff",
    "TRAIN.MIXED_PRECISION": "mixed_precision",
    # not in the reference's misc/config.py: the rest of the fields, so that every one is settable
    "TRAIN.BETA1": "beta1",
    "TRAIN.SEED": "seed",
    "TRAIN.RUN_EAGERLY": "run_eagerly",
    "TRAIN.MAX_TO_KEEP": "max_to_keep",
    "TRAIN.LOG_STEPS": "log_steps",
    "TRAIN.SAMPLE_STEPS": "sample_steps",
    "GAN.LR_IMSIZE": "lr_size",
    "GAN.NUM_RESIDUAL": "num_residual",
    "TEXT.DIMENSION": "embedding_dim",          # StackGAN-v2's key for the embedding size
}
