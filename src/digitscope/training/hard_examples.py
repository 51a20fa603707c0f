"""Learning from the hardest digits: find them out of fold, then train with more of them.

A source paper suggests feeding the hard digits back with augmentation. A digit is "hard" by how little
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

from .. import data as datasets
from ..inference.classifier import DigitClassifier
from ..store.saved import save_tensors
from .config import TrainConfig
from .loop import train
from .sampling import FORMAT, fold_of


def find_hard_examples(base_config: TrainConfig, out: Path, folds: int = 5, progress: bool = False) -> dict:
    """Train ``folds`` models from ``base_config``, each holding one fold out, and write ``out`` (safetensors): the
    out-of-fold probability of the true label for every training digit."""
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

