"""A run picked up again: resumed from its checkpoint, with the same options."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from ..store.checkpoint import load_checkpoint
from .config import TrainConfig


def changed_options(saved_config: dict, cfg: TrainConfig) -> list[str]:
    """The options in which ``cfg`` differs from a run's saved config. Options added to digitscope since that
    run was saved take their defaults."""
    saved = {**dataclasses.asdict(TrainConfig()), **saved_config}
    return sorted(k for k, v in dataclasses.asdict(cfg).items() if saved.get(k) != v)


def read_resume_state(checkpoint: Path, cfg: TrainConfig) -> dict:
    if not checkpoint.exists():
        raise FileNotFoundError(f"--resume: no checkpoint at {checkpoint}")
    state = load_checkpoint(checkpoint)
    differ = changed_options(state["config"], cfg)
    if differ:
        raise ValueError(f"--resume: options differ from the interrupted run's ({', '.join(differ)}); "
                         "resume with the same ones")
    return state
