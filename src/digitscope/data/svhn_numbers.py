"""SVHN full numbers (format 1): house-number photos with a box around every digit.

Each split is a ``.tar.gz`` holding ``SPLIT/1.png ... SPLIT/N.png`` and ``SPLIT/digitStruct.mat``, a MATLAB
v7.3 file (HDF5) with ``digitStruct/name`` and ``digitStruct/bbox``: per image, a reference to its file
name (uint16 characters) and to a group of ``label``, ``left``, ``top``, ``width``, ``height``. Each of
those holds the value itself when the image has one digit, and references to one value per digit
otherwise. The label 10 means the digit 0.

Canonical form here, as Goodfellow et al. 2014 and the multi-digit capstone report prepare it: each photo cropped
to the union of
its digit boxes enlarged by 30%, resized to ``size`` x ``size`` (64, for random 54 x 54 training crops, or 54),
boxes rescaled into the crop. ``images`` (N, S, S, 3) uint8, ``digits`` (N, MAX_DIGITS) int64 padded with -1,
``boxes`` (N, MAX_DIGITS, 4) float32 as [x0, y0, x1, y1] in crop pixels. The few numbers longer than
MAX_DIGITS are left out, as in both papers.
"""

from __future__ import annotations

import io
import tarfile
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
from PIL import Image

from ..io import atomic_path, data_dir
from .cache import DataUnavailableError, download_first

BASE_URL = "http://ufldl.stanford.edu/housenumbers/"
SPLITS = ("train", "test", "extra")
MAX_DIGITS = 5
ENLARGE = 0.3  # each side of the union box grows by 15%, 30% in all


@dataclass(frozen=True)
class Annotation:
    name: str  # the PNG's file name inside the split folder
    digits: list[int]  # 0-9, left to right as annotated
    boxes: list[list[float]]  # [x0, y0, x1, y1] in image pixels, one per digit


@dataclass(frozen=True)
class NumberImages:
    images: np.ndarray  # (N, S, S, 3) uint8
    digits: np.ndarray  # (N, MAX_DIGITS) int64, -1 after the last digit
    boxes: np.ndarray  # (N, MAX_DIGITS, 4) float32, zeros after the last digit

    def lengths(self) -> np.ndarray:
        return (self.digits >= 0).sum(axis=1)


def _values(f: h5py.File, field: h5py.Dataset) -> list[float]:
    """One bbox field: the value itself for a single digit, references to one value each for several."""
    raw = field[()]
    if h5py.check_dtype(ref=field.dtype) is None:
        return [float(v) for v in np.ravel(raw)]
    return [float(np.ravel(f[ref][()])[0]) for ref in np.ravel(raw)]


def read_digit_struct(path: Path) -> list[Annotation]:
    """Every image's annotation from a ``digitStruct.mat`` (the references cannot be read in bulk)."""
    annotations = []
    with h5py.File(path, "r") as f:
        try:
            names, bboxes = f["digitStruct/name"], f["digitStruct/bbox"]
        except KeyError as exc:
            raise ValueError(f"{path} is not an SVHN digitStruct.mat: no digitStruct/name and digitStruct/bbox") \
                from exc
        for name_ref, bbox_ref in zip(np.ravel(names[()]), np.ravel(bboxes[()]), strict=True):
            name = "".join(map(chr, np.ravel(f[name_ref][()])))
            group = f[bbox_ref]
            labels, left, top, width, height = (_values(f, group[key])
                                                for key in ("label", "left", "top", "width", "height"))
            annotations.append(Annotation(
                name, [int(v) % 10 for v in labels],
                [[x, y, x + w, y + h] for x, y, w, h in zip(left, top, width, height, strict=True)]))
    return annotations


def crop_number(image: np.ndarray, boxes: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """(H, W, 3) photo and (K, 4) boxes -> (size, size, 3) crop of the enlarged union box, boxes in the crop."""
    x0, y0 = boxes[:, 0].min(), boxes[:, 1].min()
    x1, y1 = boxes[:, 2].max(), boxes[:, 3].max()
    grow_x, grow_y = (x1 - x0) * ENLARGE / 2, (y1 - y0) * ENLARGE / 2
    # Whole pixels; the crop may reach past the photo's edge, where PIL's crop pads with black.
    left, top = int(np.floor(x0 - grow_x)), int(np.floor(y0 - grow_y))
    right, bottom = int(np.ceil(x1 + grow_x)), int(np.ceil(y1 + grow_y))
    crop = Image.fromarray(image).crop((left, top, right, bottom)).resize((size, size), Image.Resampling.BILINEAR)
    scale = np.array([size / (right - left), size / (bottom - top)] * 2, dtype=np.float32)
    return np.asarray(crop), ((boxes - np.array([left, top, left, top])) * scale).astype(np.float32)


def read_split_archive(archive: Path, size: int = 64) -> NumberImages:
    """A format-1 ``SPLIT.tar.gz`` as published -> canonical crops, without unpacking it to disk."""
    with tarfile.open(archive, "r:gz") as tar:
        members = {Path(m.name).name: m for m in tar.getmembers() if m.isfile()}
        if "digitStruct.mat" not in members:
            raise ValueError(f"{archive} holds no digitStruct.mat: not an SVHN format-1 archive")
        annotations = read_digit_struct(io.BytesIO(tar.extractfile(members["digitStruct.mat"]).read()))
        kept = [a for a in annotations if len(a.digits) <= MAX_DIGITS]
        images = np.zeros((len(kept), size, size, 3), np.uint8)
        digits = np.full((len(kept), MAX_DIGITS), -1, np.int64)
        boxes = np.zeros((len(kept), MAX_DIGITS, 4), np.float32)
        for i, a in enumerate(kept):
            with Image.open(tar.extractfile(members[a.name])) as photo:
                pixels = np.asarray(photo.convert("RGB"))
            images[i], boxes[i, :len(a.digits)] = crop_number(pixels, np.array(a.boxes, np.float32), size)
            digits[i, :len(a.digits)] = a.digits
    return NumberImages(images, digits, boxes)


def cache_file(split: str, size: int) -> Path:
    return data_dir() / f"svhn-numbers-{split}-{size}.npz"


def load(split: str, size: int = 64) -> NumberImages:
    """One split in canonical form, from the cache, an archive placed by hand, or the official site."""
    if split not in SPLITS:
        raise ValueError(f"unknown SVHN split {split!r}; choose one of: {', '.join(SPLITS)}")
    cached = cache_file(split, size)
    if not cached.exists():
        raw = data_dir() / "raw" / "svhn" / f"{split}.tar.gz"
        try:
            archive = download_first([f"{BASE_URL}{split}.tar.gz"], raw)
        except OSError as exc:
            raise DataUnavailableError(
                f"SVHN numbers ({split}) could not be fetched ({exc}). Download {BASE_URL}{split}.tar.gz "
                f"into {raw}, and run again.") from exc
        numbers = read_split_archive(archive, size)
        with atomic_path(cached) as tmp, open(tmp, "wb") as f:
            np.savez(f, images=numbers.images, digits=numbers.digits, boxes=numbers.boxes)
    with np.load(cached, allow_pickle=False) as z:
        return NumberImages(z["images"], z["digits"], z["boxes"])
