"""Which training digits an epoch sees, in what order and how often: folds, the epoch's order, and the weights of
the hard examples."""

from __future__ import annotations

from pathlib import Path

import numpy as np
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


def epoch_seed(seed: int, epoch: int, stream: int) -> int:
    """The seed of one epoch's random stream (0: the order of the images, 1 + r: rank r's augmentation and
    dropout), made from (seed, epoch) alone: never from an RNG state carried over, which would depend on how many
    ranks drew from it, so a run resumed on another number of ranks sees the same order of images."""
    return int(np.random.SeedSequence([seed % 2**63, epoch, stream]).generate_state(1)[0])


def epoch_order(seed: int, epoch: int, n: int, sample_weights: torch.Tensor | None) -> torch.Tensor:
    """The epoch's image indices (n,), the same on every rank."""
    generator = torch.Generator().manual_seed(epoch_seed(seed, epoch, 0))
    if sample_weights is None:
        return torch.randperm(n, generator=generator)
    # an epoch of the same length, hard digits drawn more often
    return torch.multinomial(sample_weights, n, replacement=True, generator=generator)
