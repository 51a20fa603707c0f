"""CVL Single Digits (ICDAR 2013 Handwritten Digit Recognition Competition): digits of Austrian students.

Files are named ``DIGIT-WRITER-PAGE-INDEX.png``: the digit is the label, the writer groups a person's digits.
The competition's splits, each of writers the others do not have:

- ``train``: 7,000 digits of 67 writers;
- ``valid``: 7,000 digits of 60 other writers. The competition's rule, kept here: it chooses and tunes, it is
  never trained on (``choose_only``; the training code refuses it);
- ``eval``: 21,780 digits of 176 further writers, read when the source has it.

The official files are the original RGB scans at 300 dpi, of any size; this project's shared copy is the same
digits as 28 x 28 grey PNGs. Both go through the one preprocessing path (``preprocess.to_mnist``: dark ink on
light paper -> white on black, fitted into 20 x 20 and centred by mass), so the canonical arrays are MNIST-form
digits whatever the source.

Sources, first found wins: a zip or folder given (``digitscope data fetch cvl --from PATH``, holding ``train/``,
``valid/`` and optionally ``eval/``), the raw folder of the cache, this project's shared copy. The official
release is behind the page below, with no stable file address to download from, so a user online fetches it
there and passes it with ``--from``.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import numpy as np

from ..imageio import ImageError, read_image
from ..io import data_dir, file_sha256
from ..preprocess import to_mnist_batch
from .cache import Arrays, DataUnavailableError, shared_copy

OFFICIAL_PAGE = "https://cvl.tuwien.ac.at/research/cvl-databases/an-off-line-database-for-handwritten-digit-strings/"
SHARED_ZIP = "cvl-single-digits-28px-train-valid.zip"
SHARED_ZIP_SHA256 = "2abba5f8c608568bdf5e6d8b19eafb9e48a3597d53bb4c7bef2ee25320a714af"
SPLITS = ("train", "valid", "eval")
OPTIONAL = ("eval",)  # not in the shared copy
CHOOSE_ONLY = ("valid",)
TERMS = "CVL Single Digits, TU Wien Computer Vision Lab: free for research use"
# Canonical arrays of the shared copy's splits (what the official scans give may differ by resampling).
CHECKSUMS = {
    "train": "f55ab5d44fb3ccfdfecbef361e08b3ca677d43f2fa910c209f632e899daf4276",
    "valid": "18e8cb9445b0223e9fb2145a90bed004ad2550557064778eb07c9c5659dcceca",
}
# DIGIT-WRITER-PAGE-INDEX.png; a few files carry a further "-N" (two digits cut from one box).
NAME = re.compile(r"(?:^|/)(train|valid|eval)/(?:.*/)?(\d)-(\d+)-(\d+)(?:-\d+)+\.png$", re.IGNORECASE)


def raw_dir() -> Path:
    return data_dir() / "raw" / "cvl"


def parse_name(path: str) -> tuple[str, int, int] | None:
    """'valid/7-0168-18-03.png' -> ('valid', 7, 168): split, digit, writer; None for any other file."""
    match = NAME.search(path.replace("\\", "/"))
    if match is None:
        return None
    return match.group(1).lower(), int(match.group(2)), int(match.group(3))


class _Source:
    """The digits' files in a zip or a folder: ``members`` (their paths, sorted) and ``read(member)`` (bytes)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        if path.is_dir():
            self.members = sorted(p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file())
            self.read = lambda member: (path / member).read_bytes()
        elif zipfile.is_zipfile(path):
            self.zip = zipfile.ZipFile(path)
            self.members = sorted(self.zip.namelist())
            self.read = self.zip.read
        else:
            raise DataUnavailableError(f"{path}: neither a folder nor a zip of CVL's train/ and valid/ digits")


def read_source(path: Path) -> dict[str, Arrays]:
    """Every split found in a zip or folder, as canonical MNIST-form arrays in file-name order.

    A file that cannot be decoded stops the read with every such file named: a split with holes is not the
    published split, and its figures would not compare with anyone's."""
    source = _Source(path)
    found: dict[str, list[tuple[str, int]]] = {}
    for member in source.members:
        parsed = parse_name(member)
        if parsed is not None:
            found.setdefault(parsed[0], []).append((member, parsed[1]))
    missing = [s for s in SPLITS if s not in found and s not in OPTIONAL]
    if missing:
        raise DataUnavailableError(f"{path} holds no {' or '.join(f'{s}/' for s in missing)} digits named "
                                   "DIGIT-WRITER-PAGE-INDEX.png")
    out, errors = {}, []
    for split, files in found.items():
        images = []
        for member, _ in files:
            try:
                images.append(read_image(source.read(member), name=member))
            except (ImageError, OSError) as exc:
                errors.append(f"{member}: {exc}")
        if not errors:
            out[split] = Arrays(to_mnist_batch(images), np.array([d for _, d in files], dtype=np.int64))
    if errors:
        raise ValueError(f"{path}: {len(errors)} digit image(s) could not be read: " + "; ".join(errors[:10]))
    return out


def locate(source: Path | None = None) -> Path:
    """The zip or folder to read: ``source`` if given, else the raw folder's, else the shared copy (checked)."""
    if source is not None:
        if not source.exists():
            raise DataUnavailableError(f"{source} not found: --from takes CVL's zip or a folder with train/ valid/")
        return source
    for candidate in [raw_dir() / SHARED_ZIP, raw_dir()] + [f / SHARED_ZIP for f in shared_copy("cvl")]:
        if candidate.is_file():
            if (digest := file_sha256(candidate)) != SHARED_ZIP_SHA256:
                raise DataUnavailableError(f"{candidate}: SHA-256 {digest} is not the expected {SHARED_ZIP_SHA256}")
            return candidate
        if candidate.is_dir() and (candidate / "train").is_dir():
            return candidate
    raise DataUnavailableError(
        f"CVL Single Digits not found. Download the single-digit set (train and valid, optionally the evaluation "
        f"set) from {OFFICIAL_PAGE}, then run `digitscope data fetch cvl --from ZIP_OR_FOLDER`, or unpack it into "
        f"{raw_dir()} (train/, valid/)."
    )


def fetch(source: Path | None = None) -> dict[str, Arrays]:
    return read_source(locate(source))


def writer_ids(split: str, source: Path | None = None) -> np.ndarray:
    """The writer of each digit of a split, in the canonical order (file names sorted)."""
    members = _Source(locate(source)).members
    return np.array([p[2] for m in members if (p := parse_name(m)) is not None and p[0] == split], dtype=np.int64)
