"""Where datasets live on disk, how they are checksummed, and how files get there without half-writes.

Every dataset is cached in one canonical form: ``images`` (uint8, N x H x W[, C]) and ``labels``
(int64, N) in an ``.npz`` under ``$DIGITSCOPE_DATA`` (default ``~/.cache/digitscope``).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np


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


def data_dir() -> Path:
    root = Path(os.environ.get("DIGITSCOPE_DATA", Path.home() / ".cache" / "digitscope"))
    root.mkdir(parents=True, exist_ok=True)
    return root


def array_checksum(images: np.ndarray, labels: np.ndarray) -> str:
    """SHA-256 of the canonical arrays: shape, then C-order bytes. Identical data from any source agrees."""
    h = hashlib.sha256()
    h.update(repr(images.shape).encode())
    h.update(np.ascontiguousarray(images, dtype=np.uint8).tobytes())
    h.update(np.ascontiguousarray(labels, dtype="<i8").tobytes())
    return h.hexdigest()


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def source_digest(*sources: str) -> hashlib._Hash:
    """SHA-256 over the package's Python sources named (files or folders, relative to the package), names and
    contents: the key of a cache of what that code makes, so that changed code makes it again."""
    package = Path(__file__).parent.parent
    files = sorted(p for name in sources for p in
                   ((package / name).rglob("*.py") if (package / name).is_dir() else [package / name]))
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.relative_to(package).as_posix().encode())
        digest.update(path.read_bytes())
    return digest


@contextmanager
def atomic_path(target: Path):
    """Yield a temporary path beside ``target``; rename it into place only if the block succeeds."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o644)  # mkstemp makes owner-only files; caches and models are meant to be shared
        os.replace(tmp_path, target)
    finally:
        tmp_path.unlink(missing_ok=True)


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
