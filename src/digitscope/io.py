"""Files: where digitscope keeps what it makes, atomic writes (an interruption never leaves a half file),
checksums, and the digest of the package's own code that keys caches of what that code makes."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path


def data_dir() -> Path:
    root = Path(os.environ.get("DIGITSCOPE_DATA", Path.home() / ".cache" / "digitscope"))
    root.mkdir(parents=True, exist_ok=True)
    return root


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def source_digest(*sources: str) -> hashlib._Hash:
    """SHA-256 over the package's Python sources named (files or folders, relative to the package), names and
    contents: the key of a cache of what that code makes, so that changed code makes it again."""
    package = Path(__file__).parent
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


def write_json(path: Path, obj: dict) -> None:
    with atomic_path(Path(path)) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=False) + "\n")
