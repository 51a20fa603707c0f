"""QMNIST's extended labels (Yadav & Bottou 2019): the NIST writer of every MNIST digit.

QMNIST traced each MNIST digit back to its NIST form. Its label files are gzip IDX, element type int32
(magic 0x0C02), shape (N, 8); column 0 is the class, 1 the NIST series (0-3: Census employees, SD-3; 4:
high-school students, SD-1), 2 the writer id. The training file's 60,000 rows are MNIST's training set in
order; the first 10,000 rows of the test file are MNIST's test set in order (the other 50,000 are QMNIST's
reconstruction of the rest of NIST). :func:`extended_labels` checks both against MNIST's own labels.

Sources, first found wins: a folder or file given (``digitscope data fetch mnist-writers --from PATH``), the
raw folder of the cache, this project's shared copy, the official repository. Every file is checked
against its SHA-256 before it is read.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from ..io import data_dir, file_sha256
from .cache import DataUnavailableError, download_first, shared_copy
from .idx import read_idx

OFFICIAL = "https://raw.githubusercontent.com/facebookresearch/qmnist/master/"
FILES = {  # MNIST split -> (file, its SHA-256, how many of its rows are that split)
    "train-full": ("qmnist-train-labels-idx2-int.gz",
                   "2c05dc77f6b916b38e455e97ab129a42a444f3dbef09b278a366f82904e0dd9f", 60_000),
    "test": ("qmnist-test-labels-idx2-int.gz",
             "9fbcbe594c3766fdf4f0b15c5165dc0d1e57ac604e01422608bb72c906030d06", 10_000),
}
CLASS, SERIES, WRITER = 0, 1, 2  # the columns used here
TERMS = "QMNIST extended labels: BSD-style licence (facebookresearch/qmnist LICENSE)"


def raw_dir() -> Path:
    return data_dir() / "raw" / "qmnist"


def locate(name: str, sha256: str, source: Path | None = None) -> Path:
    """The checked path of one label file: from ``source`` (its folder or the file itself), else the raw
    folder, the shared copy or the official repository (downloaded into the raw folder)."""
    if source is not None:
        candidates = [source if source.is_file() else source / name]
    else:
        candidates = [raw_dir() / name] + [folder / name for folder in shared_copy("qmnist")]
    for path in candidates:
        if path.is_file():
            if (digest := file_sha256(path)) != sha256:
                raise DataUnavailableError(f"{path}: SHA-256 {digest} is not QMNIST's {sha256}: a changed or "
                                           f"damaged copy; replace it with the file from {OFFICIAL}")
            return path
    if source is not None:
        raise DataUnavailableError(f"{candidates[0]} not found: --from takes the folder holding {name} or the file")
    try:
        path = download_first([OFFICIAL + name], raw_dir() / name)
    except OSError as exc:
        raise DataUnavailableError(f"QMNIST's {name} could not be fetched ({exc}). Download it from {OFFICIAL} "
                                   f"into {raw_dir()}, or run `digitscope data fetch mnist-writers --from "
                                   f"FOLDER`.") from exc
    if (digest := file_sha256(path)) != sha256:
        path.unlink()
        raise DataUnavailableError(f"{OFFICIAL + name}: SHA-256 {digest} is not the expected {sha256}")
    return path


@functools.cache
def extended_labels(split: str, source: Path | None = None) -> np.ndarray:
    """(N, 8) int64 extended labels of MNIST's ``train-full`` (60,000) or ``test`` (10,000), in MNIST's order."""
    if split not in FILES:
        raise ValueError(f"QMNIST labels cover MNIST's {' and '.join(FILES)}, not {split!r}")
    name, sha256, rows = FILES[split]
    table = read_idx(locate(name, sha256, source))
    if table.ndim != 2 or table.shape[1] != 8 or len(table) < rows:
        raise ValueError(f"{name}: expected at least {rows} rows of 8 columns, got shape {table.shape}")
    return table[:rows].astype(np.int64)


def check_matches(split: str, labels: np.ndarray, table: np.ndarray) -> None:
    """Refuse extended labels that are not MNIST's own digits in MNIST's order."""
    if len(table) != len(labels) or not np.array_equal(table[:, CLASS], labels):
        agree = float(np.mean(table[:len(labels), CLASS] == labels[:len(table)]))
        raise ValueError(f"QMNIST's {split} labels are not MNIST's in order ({agree:.2%} agree): writer ids "
                         "would be attached to the wrong digits")
