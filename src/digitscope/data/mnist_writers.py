"""MNIST split by writer: a validation set of whole writers that the training set never saw.

``mnist:val`` (the last 5,000 training digits) shares 251 of its 282 writers with ``mnist:train``, so a choice
made on it is made on people the network has already learnt: it measures how well a known hand is read, while
MNIST's test writers (297 of them, none in the training set) are all new. Here, with QMNIST's writer ids:

- ``val``: whole writers, about 5,000 digits, drawn from each NIST series (Census employees, high-school
  students) in its share of the 60,000, writers taken in the order of a salted hash of their id;
- ``train``: every other digit of MNIST's 60,000, in MNIST's order;
- ``test``: MNIST's test set, unchanged (its writers are in neither).

The split is a pure function of the data and the salt, the same on every machine; its checksums are known.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from . import qmnist
from .cache import Arrays

VALIDATION_DIGITS = 5_000
SPLIT_SALT = "digitscope/mnist-writers/v1"  # changing it moves writers across sides: never reuse old figures
SPLITS = ("train", "val", "test")
CHECKSUMS = {  # canonical arrays: train 54,834 digits of 493 writers, val 5,166 of 46 (2,696 Census, 2,470 students)
    "train": "af2ea9645c75ef9cb8eff0bb8a1d9e8077e967dfbbf9f9052aeb3251acde206b",
    "val": "70226a5d2cb4e0c877f8429ed25449a6a39c6eebc0d7a3677cd9af92ee68c6cf",
    "test": "f5147f7baa1787ec4b3cd00068f8ec8a61d969373b74639b6aef5c981fc5a5b2",
}


def validation_writers(writers: np.ndarray, series: np.ndarray) -> np.ndarray:
    """The writer ids of the validation side: for each NIST series group, writers in salted-hash order until the
    group's share of ``VALIDATION_DIGITS`` is reached."""
    chosen: list[int] = []
    for group in (series < 4, series == 4):  # Census employees (series 0-3), high-school students (4)
        quota = VALIDATION_DIGITS * group.sum() / len(writers)
        ids, counts = np.unique(writers[group], return_counts=True)
        order = sorted(range(len(ids)), key=lambda i: hashlib.sha256(f"{SPLIT_SALT}:{ids[i]}".encode()).digest())
        taken = 0
        for i in order:
            if taken >= quota:
                break
            chosen.append(int(ids[i]))
            taken += int(counts[i])
    return np.array(sorted(chosen), dtype=np.int64)


def is_validation(source: Path | None = None) -> np.ndarray:
    """(60000,) bool over MNIST's training set in order: True where the digit's writer is on the validation side."""
    table = qmnist.extended_labels("train-full", source)
    writers = table[:, qmnist.WRITER]
    return np.isin(writers, validation_writers(writers, table[:, qmnist.SERIES]))


def split(train_full: Arrays, test: Arrays, source: Path | None = None) -> dict[str, Arrays]:
    """Split MNIST's 60,000 training digits by writer; refuse writer ids that are not MNIST's digits in order."""
    qmnist.check_matches("train-full", train_full.labels, qmnist.extended_labels("train-full", source))
    qmnist.check_matches("test", test.labels, qmnist.extended_labels("test", source))
    val = is_validation(source)
    return {
        "train": Arrays(train_full.images[~val], train_full.labels[~val]),
        "val": Arrays(train_full.images[val], train_full.labels[val]),
        "test": test,
    }


def writer_ids(split_name: str, source: Path | None = None) -> np.ndarray:
    """The writer of each digit of a split, in the split's order (for per-writer figures)."""
    if split_name == "test":
        return qmnist.extended_labels("test", source)[:, qmnist.WRITER]
    if split_name not in SPLITS:
        raise ValueError(f"mnist-writers has no split {split_name!r}; choose one of: {', '.join(SPLITS)}")
    writers = qmnist.extended_labels("train-full", source)[:, qmnist.WRITER]
    val = is_validation(source)
    return writers[val] if split_name == "val" else writers[~val]
