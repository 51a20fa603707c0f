"""SVHN cropped digits (format 2): colour 32x32 crops of house numbers from Google Street View.

Each split is one MATLAB v5 file with ``X`` (32, 32, 3, N) uint8 and ``y`` (N, 1), where the label 10
means the digit 0. Canonical form here: images (N, 32, 32, 3) uint8 RGB, labels int64 0-9. Splits are
separate downloads (``extra`` alone is 1.3 GB), so ``fetch_split`` fetches just the one asked for.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..io import data_dir
from .cache import Arrays, DataUnavailableError, download_first

BASE_URL = "http://ufldl.stanford.edu/housenumbers/"
FILES = {  # split -> (file, published MD5)
    "test": ("test_32x32.mat", "eb5a983be6a315427106f1b69d8d0b4a"),
    "train": ("train_32x32.mat", "e26dedcc434d2e4c54c9b2d4a06d8373"),
    "extra": ("extra_32x32.mat", "a93ce644f1a588dc4d68dda5feec44a7"),
}
SPLITS = tuple(FILES)


def read_mat(path: Path) -> Arrays:
    """Read one SVHN .mat file into canonical arrays."""
    from scipy.io import loadmat  # here, not at import: scipy.io costs every command half a second at start

    mat = loadmat(path, variable_names=("X", "y"))
    images = np.ascontiguousarray(np.transpose(mat["X"], (3, 0, 1, 2)), dtype=np.uint8)  # (N, 32, 32, 3)
    labels = mat["y"].reshape(-1).astype(np.int64)
    return Arrays(images, np.where(labels == 10, 0, labels))


def fetch_split(split: str) -> Arrays:
    """One SVHN split; a file already in the raw folder (placed by hand) is not downloaded."""
    name, md5 = FILES[split]
    raw = data_dir() / "raw" / "svhn"
    try:
        path = download_first([BASE_URL + name], raw / name, md5)
    except OSError as exc:
        raise DataUnavailableError(
            f"SVHN {split} could not be fetched ({exc}). Download {BASE_URL + name} into {raw / name}, "
            f"and run again."
        ) from exc
    return read_mat(path)


def fetch() -> dict[str, Arrays]:
    return {split: fetch_split(split) for split in SPLITS}
