"""Run folders and checkpoint paths (no TensorFlow): what ``TRAIN.PRETRAINED_MODEL`` may name.

A run folder is ``<run_dir>/{config.json, checkpoints/model_<step>.ckpt.*}``. A checkpoint may be
given as its prefix (``.../checkpoints/model_82000.ckpt``, the reference's form), a file of it, the
``checkpoints/`` folder (its newest) or the run folder itself (its ``checkpoints/``' newest).

    prefix = resolve_checkpoint("ckt_logs/birds/stageI", key="TRAIN.PRETRAINED_MODEL")
    run_dir = run_dir_of(prefix)                            # ckt_logs/birds/stageI
"""

from __future__ import annotations

import os
from typing import Optional

from common_tools import runs
from common_tools.checkpoint import find_checkpoint
from common_tools.errors import UserError

CHECKPOINT_NAME = "model_{step}.ckpt"     # the reference's snapshot name ("%s/%s_%s.ckpt")

# the fields a Stage-II run's frozen Stage-I G is built from: they must equal the Stage-I run's
STAGE1_FIELDS = ("z_dim", "c_dim", "gf_dim", "embedding_dim", "lr_size")


def checkpoint_name(step: int) -> str:
    return CHECKPOINT_NAME.format(step=int(step))


def resolve_checkpoint(path: str, key: str = "--checkpoint") -> str:
    """The checkpoint prefix ``path`` names; one UserError naming ``key`` and the path if none."""
    if not path:
        raise UserError(f"{key} is empty: expected a checkpoint (run folder, checkpoints/ folder or "
                        "model_<step>.ckpt prefix)")
    candidate = os.path.join(path, "checkpoints")
    if os.path.isdir(candidate):
        path = candidate
    try:
        return find_checkpoint(path)
    except UserError as exc:
        raise UserError(f"{key} {path}: {exc}") from None


def run_dir_of(prefix: str) -> str:
    """The run folder of a checkpoint prefix (the folder above ``checkpoints/``, else its own)."""
    folder = os.path.dirname(os.path.abspath(prefix))
    return os.path.dirname(folder) if os.path.basename(folder) == "checkpoints" else folder


def saved_config(prefix: str, cls) -> Optional[object]:
    """The ``config.json`` of the checkpoint's run folder, or None when there is none."""
    run_dir = run_dir_of(prefix)
    if not os.path.isfile(os.path.join(run_dir, runs.CONFIG_NAME)):
        return None
    return runs.load_config(cls, run_dir)


def check_stage1_fields(cfg, stage1_cfg, prefix: str, key: str = "TRAIN.PRETRAINED_MODEL") -> None:
    """One UserError if the Stage-I run behind ``prefix`` was built with other Stage-I G fields."""
    for name in STAGE1_FIELDS:
        mine, theirs = getattr(cfg, name), getattr(stage1_cfg, name)
        if mine != theirs:
            raise UserError(f"{key} {prefix} was trained with {name}={theirs!r} but this Stage-II run "
                            f"has {name}={mine!r}: the frozen Stage-I G must be built as it was trained "
                            f"(give {name} {theirs!r})")


def stage1_checkpoint(cfg, key: str = "TRAIN.PRETRAINED_MODEL") -> str:
    """The Stage-I checkpoint prefix a fresh Stage-II run loads its frozen G from
    (``cfg.pretrained_model``), checked against the Stage-I run's config.json when it has one."""
    from .config import StackGANConfig

    if not cfg.pretrained_model:
        raise UserError(f"Stage-II trains on a frozen Stage-I G, but {key} is empty: give the Stage-I "
                        "run, e.g. --set TRAIN.PRETRAINED_MODEL ckt_logs/birds/stageI")
    prefix = resolve_checkpoint(cfg.pretrained_model, key)
    stage1_cfg = saved_config(prefix, StackGANConfig)
    if stage1_cfg is not None:
        check_stage1_fields(cfg, stage1_cfg, prefix, key)
    return prefix
