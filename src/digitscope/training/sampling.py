"""Which training digits an epoch sees how often: folds, and the weights of the hard examples."""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors import safe_open

FORMAT = "digitscope-hard-examples/1"
FOLD_SEED = 20240501  # fixed, so that every fold model of a run agrees on which digits are in which fold


def fold_of(n: int, folds: int) -> torch.Tensor:
    """(n,) fold number of each training index: a fixed random partition into ``folds`` equal parts."""
    generator = torch.Generator().manual_seed(FOLD_SEED)
    return torch.randperm(n, generator=generator) % folds


def read_hard_examples(path: Path, expected_checksum: str, n: int) -> torch.Tensor:
    """(n,) out-of-fold true-label probabilities, refusing a file made for other training data."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"--hard-examples: no file at {path}; make one with `digitscope hard-examples`")
    with safe_open(str(path), "pt") as f:
        meta = f.metadata() or {}
        if meta.get("format") != FORMAT:
            raise ValueError(f"{path} is not a hard-examples file (format {meta.get('format')!r})")
        if meta.get("data_checksum") != expected_checksum:
            raise ValueError(f"{path} was made for other training data ({meta.get('data')}); make it again")
        scores = f.get_tensor("true_label_probability")
    if len(scores) < n:
        raise ValueError(f"{path} scores {len(scores)} digits but the training set has {n}")
    return scores[:n]


def sampling_weights(true_prob: torch.Tensor, fraction: float, weight: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(weights, is_hard): the ``fraction`` of digits with the lowest true-label probability are drawn
    ``weight`` times as often as the others."""
    if not 0 < fraction < 1:
        raise ValueError(f"--hard-fraction must be between 0 and 1, not {fraction}")
    if weight < 1:
        raise ValueError(f"--hard-weight must be at least 1, not {weight}")
    k = max(1, round(fraction * len(true_prob)))
    is_hard = torch.zeros(len(true_prob), dtype=torch.bool)
    is_hard[torch.argsort(true_prob)[:k]] = True
    return torch.where(is_hard, weight, 1.0), is_hard
