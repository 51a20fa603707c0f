"""EMNIST letters (Cohen et al. 2017): handwritten letters from NIST SD 19 in MNIST's 28x28 format.

Labels are 1-26 for a-z, kept as published (``LETTERS[label - 1]`` names one); upper and lower case
share a class. Splits: ``train`` (124,800) and ``test`` (20,800).

Source: NIST's ``gzip.zip`` (about 560 MB, every EMNIST variant); only the four letters members are
extracted. EMNIST stores each image transposed relative to MNIST (its MATLAB, column-major origin), so
``read_letters`` transposes them back: letters stand upright, like MNIST digits.
"""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import numpy as np

from ..io import atomic_path, data_dir
from .cache import Arrays, DataUnavailableError, download_first
from .idx import read_idx

URLS = [
    "https://biometrics.nist.gov/cs_links/EMNIST/gzip.zip",
    "https://www.itl.nist.gov/iaui/vip/cs_links/EMNIST/gzip.zip",
]
ARCHIVE = "gzip.zip"
ARCHIVE_MD5 = "58c8d27c78d21e728a6bc7b3cc06412e"  # NIST publishes none; the value torchvision pins
MEMBER_DIR = "gzip/"  # folder of the members inside the archive
IDX_FILES = {  # split -> (images file, labels file)
    "train": ("emnist-letters-train-images-idx3-ubyte.gz", "emnist-letters-train-labels-idx1-ubyte.gz"),
    "test": ("emnist-letters-test-images-idx3-ubyte.gz", "emnist-letters-test-labels-idx1-ubyte.gz"),
}
SPLITS = tuple(IDX_FILES)
LETTERS = "abcdefghijklmnopqrstuvwxyz"


def read_letters(folder: Path) -> dict[str, Arrays]:
    """Read the four letters IDX .gz files from ``folder``, images turned upright."""
    out = {}
    for split, (images, labels) in IDX_FILES.items():
        upright = np.ascontiguousarray(read_idx(folder / images).transpose(0, 2, 1), dtype=np.uint8)
        out[split] = Arrays(upright, read_idx(folder / labels).astype(np.int64))
    return out


def extract_letters(archive: Path, folder: Path) -> None:
    """Copy the letters members out of ``archive`` into ``folder``, each atomically."""
    with zipfile.ZipFile(archive) as z:
        for name in (name for pair in IDX_FILES.values() for name in pair):
            with atomic_path(folder / name) as tmp, z.open(MEMBER_DIR + name) as src, open(tmp, "wb") as dst:
                shutil.copyfileobj(src, dst)


def fetch() -> dict[str, Arrays]:
    """Both splits; letters files already in the raw folder (placed by hand) skip the download."""
    raw = data_dir() / "raw" / "emnist"
    files = [name for pair in IDX_FILES.values() for name in pair]
    if not all((raw / name).exists() for name in files):
        try:
            archive = download_first(URLS, raw / ARCHIVE, ARCHIVE_MD5)
        except OSError as exc:
            raise DataUnavailableError(
                f"EMNIST letters could not be fetched ({exc}). Download {URLS[0]} into {raw / ARCHIVE} "
                f"(or place its members {', '.join(files)} in {raw}), and run again."
            ) from exc
        extract_letters(archive, raw)
    return read_letters(raw)
