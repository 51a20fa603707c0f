"""Learning from the hardest digits: find them out of fold, then train with more of them.

Seed 001 suggests feeding the hard digits back with augmentation. A digit is "hard" by how little
probability a model gives its true label when that model never saw it: K fold models, each trained on the
other K-1 folds of the training split, score the fold they held out. (Scoring with a model trained on the
same digits would call memorised digits easy.) The result is one file that ``train --hard-examples``
reads: the training loop then samples the hardest fraction more often, with stronger augmentation.
"""

from __future__ import annotations

import dataclasses
import json
import tempfile
from pathlib import Path

import numpy as np
import torch
from safetensors import safe_open

from . import data as datasets
from .classifier import DigitClassifier
from .saved import save_tensors

FORMAT = "digitscope-hard-examples/1"
FOLD_SEED = 20240501  # fixed, so that every fold model of a run agrees on which digits are in which fold


def fold_of(n: int, folds: int) -> torch.Tensor:
    """(n,) fold number of each training index: a fixed random partition into ``folds`` equal parts."""
    generator = torch.Generator().manual_seed(FOLD_SEED)
    return torch.randperm(n, generator=generator) % folds


def find_hard_examples(base_config, out: Path, folds: int = 5, progress: bool = False) -> dict:
    """Train ``folds`` models from ``base_config`` (a TrainConfig), each holding one fold out, and write
    ``out`` (safetensors): the out-of-fold probability of the true label for every training digit."""
    from .train import train  # the loop imports this module for fold_of

    if folds < 2:
        raise ValueError(f"--folds must be at least 2, not {folds}")
    arrays = datasets.load(f"{base_config.data}:{base_config.train_split}")
    n = base_config.limit_train or len(arrays)
    fold = fold_of(n, folds).numpy()
    true_prob = np.full(n, np.nan, np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(folds):
            cfg = dataclasses.replace(base_config, folds=folds, holdout_fold=k, hard_examples="")
            train(cfg, Path(tmp) / f"fold{k}", progress=progress)
            held_out = np.flatnonzero(fold == k)
            probs = DigitClassifier.load(Path(tmp) / f"fold{k}").predict_proba(arrays.images[held_out])
            true_prob[held_out] = probs[np.arange(len(held_out)), arrays.labels[held_out]]
    meta = {"format": FORMAT, "data": f"{base_config.data}:{base_config.train_split}",
            "data_checksum": arrays.checksum, "folds": str(folds),
            "config": json.dumps(dataclasses.asdict(base_config))}
    save_tensors(Path(out), {"true_label_probability": torch.from_numpy(true_prob)}, meta)
    order = np.argsort(true_prob)
    return {"out": str(out), "images": int(n), "folds": folds,
            "out_of_fold_accuracy": float((true_prob > 0.5).mean()),  # a lower bound: > 0.5 is always the top class
            "hardest": [{"index": int(i), "label": int(arrays.labels[i]), "true_label_probability": float(true_prob[i])}
                        for i in order[:10]]}


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
