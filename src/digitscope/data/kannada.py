"""Kannada-MNIST (Prabhu 2019): handwritten Kannada digits 0-9 in MNIST's exact format.

Three splits: ``train`` (60,000) and ``test`` (10,000) from the main collection, and ``dig`` (10,240,
Dig-MNIST): digits written by other volunteers on other sheets, a deliberately harder shifted test set
(the paper's baseline falls from 96.8% on test to 76.1% on dig). Labels are the digit values 0-9.

Source: the author's repository vinayprabhu/Kannada_MNIST, folder ``data/output_tensors/MNIST_format``,
which holds gzip IDX files (the ones the author's own Keras-style loader reads). The repository
publishes no checksums, so none are checked on download.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..io import data_dir
from .cache import Arrays, DataUnavailableError, download_first
from .idx import read_idx

MIRRORS = [
    "https://raw.githubusercontent.com/vinayprabhu/Kannada_MNIST/master/data/output_tensors/MNIST_format/",
    "https://github.com/vinayprabhu/Kannada_MNIST/raw/master/data/output_tensors/MNIST_format/",
]
IDX_FILES = {  # split -> (images file, labels file)
    "train": ("X_kannada_MNIST_train-idx3-ubyte.gz", "y_kannada_MNIST_train-idx1-ubyte.gz"),
    "test": ("X_kannada_MNIST_test-idx3-ubyte.gz", "y_kannada_MNIST_test-idx1-ubyte.gz"),
    "dig": ("X_dig_MNIST-idx3-ubyte.gz", "y_dig_MNIST-idx1-ubyte.gz"),
}
SPLITS = tuple(IDX_FILES)


def read_idx_folder(folder: Path) -> dict[str, Arrays]:
    """Read the six IDX .gz files from ``folder``: {'train': 60k, 'test': 10k, 'dig': 10,240}."""
    return {
        split: Arrays(read_idx(folder / images).astype(np.uint8), read_idx(folder / labels).astype(np.int64))
        for split, (images, labels) in IDX_FILES.items()
    }


def fetch() -> dict[str, Arrays]:
    """All Kannada-MNIST splits; files already in the raw folder (placed by hand) are not downloaded."""
    raw = data_dir() / "raw" / "kannada"
    files = [name for pair in IDX_FILES.values() for name in pair]
    try:
        for name in files:
            download_first([mirror + name for mirror in MIRRORS], raw / name)
    except OSError as exc:
        raise DataUnavailableError(
            f"Kannada-MNIST could not be fetched ({exc}). Download {', '.join(files)} from {MIRRORS[0]} "
            f"into {raw}, and run again."
        ) from exc
    return read_idx_folder(raw)
