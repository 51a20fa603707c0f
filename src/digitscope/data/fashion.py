"""Fashion-MNIST: Zalando's clothing images in MNIST's exact format, an evaluation-only set.

It stands for "an image that is not a digit" when out-of-distribution scores are measured, so it is
registered with ``trainable=False``: never train or select on it. Sources, tried in order:

1. The Debian package ``dataset-fashion-mnist`` (``apt-get install dataset-fashion-mnist``), which puts
   the four IDX .gz files in ``DEBIAN_DIR``. Its .gz files do not match the published MD5s byte for
   byte, so they are checked by content instead: ``CHECKSUMS`` were computed from that package.
2. The official IDX files, MD5s as published.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..io import data_dir
from .cache import Arrays, DataUnavailableError, download_first
from .idx import read_idx

DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
BASE_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
IDX_FILES = {  # split -> (images file, its MD5, labels file, its MD5)
    "test": ("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79",
             "t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310"),
    "train": ("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
              "train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"),
}
SPLITS = tuple(IDX_FILES)
CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
           "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")

# SHA-256 of the canonical arrays (see cache.array_checksum), from dataset-fashion-mnist 0.0~git20200523.
CHECKSUMS = {
    "test": "6abb7165a4c55f50d4bc6b1bc8255d64b9a5cf1de989e99310039add74923235",
    "train": "c9471586015d65bcd36bd44575c3f83a8bfa8fd40cef404845336f3b15684d87",
}


def read_idx_folder(folder: Path) -> dict[str, Arrays]:
    """Read the four IDX .gz files from ``folder``: {'test': 10k, 'train': 60k}."""
    return {
        split: Arrays(read_idx(folder / images).astype(np.uint8), read_idx(folder / labels).astype(np.int64))
        for split, (images, _, labels, _) in IDX_FILES.items()
    }


def fetch_official(raw: Path) -> dict[str, Arrays]:
    for images, images_md5, labels, labels_md5 in IDX_FILES.values():
        download_first([BASE_URL + images], raw / images, images_md5)
        download_first([BASE_URL + labels], raw / labels, labels_md5)
    return read_idx_folder(raw)


def fetch() -> dict[str, Arrays]:
    """Both Fashion-MNIST splits, from the first source that answers."""
    raw = data_dir() / "raw" / "fashion"
    sources = {"Debian package": lambda: read_idx_folder(DEBIAN_DIR), "official": lambda: fetch_official(raw)}
    errors = []
    for name, source in sources.items():
        try:
            return source()
        except OSError as exc:
            errors.append(f"{name}: {exc}")
    files = [name for images, _, labels, _ in IDX_FILES.values() for name in (images, labels)]
    raise DataUnavailableError(
        f"Fashion-MNIST could not be fetched ({' | '.join(errors)}). Run `apt-get install "
        f"dataset-fashion-mnist`, or download {', '.join(files)} from {BASE_URL} into {raw}, and run again."
    )
