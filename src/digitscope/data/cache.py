"""Where datasets live on disk, how they are checksummed, and how files get there without half-writes.

Every dataset is cached in one canonical form: ``images`` (uint8, N x H x W[, C]) and ``labels``
(int64, N) in an ``.npz`` under ``$DIGITSCOPE_DATA`` (default ``~/.cache/digitscope``).
"""

from __future__ import annotations

import hashlib
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..io import atomic_path


class DataUnavailableError(RuntimeError):
    """A dataset could not be fetched from any of its sources; the message says how to place it by hand."""


@dataclass(frozen=True)
class Arrays:
    """One split of a dataset in canonical form."""

    images: np.ndarray  # (N, H, W) or (N, H, W, C), uint8
    labels: np.ndarray  # (N,), int64

    def __post_init__(self) -> None:
        if self.images.dtype != np.uint8:
            raise TypeError(f"images must be uint8, got {self.images.dtype}")
        if self.labels.dtype != np.int64:
            raise TypeError(f"labels must be int64, got {self.labels.dtype}")
        if len(self.images) != len(self.labels):
            raise ValueError(f"{len(self.images)} images but {len(self.labels)} labels")

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def checksum(self) -> str:
        return array_checksum(self.images, self.labels)


def array_checksum(images: np.ndarray, labels: np.ndarray) -> str:
    """SHA-256 of the canonical arrays: shape, then C-order bytes. Identical data from any source agrees."""
    h = hashlib.sha256()
    h.update(repr(images.shape).encode())
    h.update(np.ascontiguousarray(images, dtype=np.uint8).tobytes())
    h.update(np.ascontiguousarray(labels, dtype="<i8").tobytes())
    return h.hexdigest()


def save_arrays(path: Path, arrays: Arrays) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, images=arrays.images, labels=arrays.labels)


def load_arrays(path: Path) -> Arrays:
    with np.load(path, allow_pickle=False) as z:
        return Arrays(z["images"], z["labels"])


def download(url: str, target: Path, md5: str | None = None, timeout: float = 30.0) -> Path:
    """Download ``url`` to ``target`` atomically; verify its MD5 when the publisher gives one."""
    with atomic_path(target) as tmp:
        digest = hashlib.md5()
        with urllib.request.urlopen(url, timeout=timeout) as response, open(tmp, "wb") as out:
            for block in iter(lambda: response.read(1 << 20), b""):
                digest.update(block)
                out.write(block)
        if md5 is not None and digest.hexdigest() != md5:
            raise OSError(f"{url}: MD5 {digest.hexdigest()} does not match the published {md5}")
    return target


def download_first(urls: list[str], target: Path, md5: str | None = None) -> Path:
    """Try each mirror in turn; raise ``OSError`` listing every failure when none answers."""
    if target.exists():
        return target
    errors = []
    for url in urls:
        try:
            return download(url, target, md5)
        except (OSError, urllib.error.URLError, TimeoutError) as exc:
            errors.append(f"{url}: {exc}")
    raise OSError("; ".join(errors))


def shared_copy(folder: str) -> list[Path]:
    """Where this project's offline machines keep a copy of a dataset: ``../shared/data/FOLDER`` beside the
    project, seen from the directory it runs in or from a source checkout's root. Existing folders only."""
    checkout_root = Path(__file__).resolve().parents[3]  # src/digitscope/data/cache.py -> the checkout
    candidates = [Path("..") / "shared" / "data" / folder, checkout_root.parent / "shared" / "data" / folder]
    found: list[Path] = []
    for path in candidates:
        if path.is_dir() and not any(path.resolve() == f.resolve() for f in found):
            found.append(path)
    return found
