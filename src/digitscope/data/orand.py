"""ORAND-CAR-A: handwritten courtesy amounts cut from real Uruguayan bank cheques (ICFHR 2014 HDSRC).

Two formats are read:

- **COCO** (the copy kept on this project's machines): ``annotations.json`` with ``images``,
  ``annotations`` (``bbox`` = [x, y, w, h] in pixels, one per digit) and ``categories`` named "0".."9",
  the images in ``images/`` beside it (or beside the json itself, as some exports put them). The label of
  an amount is its digit boxes read left to right.
- **ORAND's official release** (``ORAND-CAR-2014/CAR-A/``): ``a_train_gt.txt`` and ``a_test_gt.txt``,
  lines ``FILE DIGITS``, the images in ``a_train_images/`` and ``a_test_images/`` (or beside the text
  file). It has no boxes.

The amounts are images of any size, so they do not fit the canonical ``Arrays`` form of the catalog, and
nothing is cached: the 720 JPEGs of the shared copy decode in about 0.3 s (measured on 2 cores), less than
an npz of their 18 MB of pixels would take to write, and reading the source each time cannot go stale.

The split into what is trained on and what is judged on (:func:`split_names`) is by amount, fixed by a
salted hash of its ORAND id, so it is the same in both formats and an amount keeps its side when more of
the release is added.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..imageio import ImageError, read_image
from ..io import file_sha256
from .cache import DataUnavailableError

TERMS = ("ORAND-CAR-A (ICFHR 2014 HDSRC, ORAND S.A., Chile): research use; its digit boxes from a public COCO "
         "labelling of the same images")

# Where this project's machines keep the COCO copy, relative to the directory the project runs from.
SHARED = Path("..") / "shared" / "data" / "orand-car-a"
SHARED_ANNOTATIONS_SHA256 = "2c01acc23e330877f6f04965218cb94b5fc0c3590f5c3df555cf20a7a664f077"
OFFICIAL_PAGE = "http://www.orand.cl/en/icfhr2014-hdsr/#datasets"
GT_FILES = ("a_train_gt.txt", "a_test_gt.txt")

SPLITS = ("train", "test")
TEST_FRACTION = 0.25
SPLIT_SALT = "digitscope/orand-car-a/split/v1"  # changing it moves amounts across sides: never reuse old figures

DIGITS = tuple(str(d) for d in range(10))
_ROBOFLOW_SUFFIX = re.compile(r"_(png|jpg|jpeg)\.rf\.[0-9a-f]+$")


@dataclass(frozen=True)
class Amounts:
    """Cheque amounts as read, in the source's order; an image that could not be read is left out and named
    in ``errors``."""

    names: list[str]  # file names as in the source
    images: list[np.ndarray]  # uint8, (H, W) grey or (H, W, 3) RGB as decoded, any size
    texts: list[str]  # the digits alone, left to right
    boxes: list[np.ndarray] | None  # (L, 4) float32 x0, y0, x1, y1 in pixels, left to right; None: no boxes
    errors: list[str] = field(default_factory=list)  # one line per image left out, starting with its name
    source: str = ""  # where it was read from

    def __post_init__(self) -> None:
        n = len(self.names)
        if len(self.images) != n or len(self.texts) != n or (self.boxes is not None and len(self.boxes) != n):
            raise ValueError("names, images, texts and boxes must be as many")
        if self.boxes is not None:
            for name, text, b in zip(self.names, self.texts, self.boxes, strict=True):
                if b.shape != (len(text), 4):
                    raise ValueError(f"{name}: {len(text)} digits but boxes of shape {b.shape}")

    def __len__(self) -> int:
        return len(self.names)

    @property
    def ids(self) -> list[str]:
        return [amount_id(n) for n in self.names]

    def subset(self, names: list[str]) -> Amounts:
        """These amounts (file names or ORAND ids), in the order given; a name not here is an error."""
        index = {key: i for i, (n, a) in enumerate(zip(self.names, self.ids, strict=True)) for key in (n, a)}
        missing = [n for n in names if n not in index]
        if missing:
            raise KeyError(f"{len(missing)} amounts not in {self.source or 'these amounts'}: {missing[:5]}")
        rows = [index[n] for n in names]
        return Amounts([self.names[i] for i in rows], [self.images[i] for i in rows], [self.texts[i] for i in rows],
                       None if self.boxes is None else [self.boxes[i] for i in rows], list(self.errors), self.source)

    def split(self, which: str) -> Amounts:
        """The ``train`` or ``test`` (held-out) part of these amounts, by :func:`split_names`."""
        return self.subset(split_names(self.names)[which])


def amount_id(name: str) -> str:
    """The ORAND id of an amount's file: ``a_car_000720`` for ``a_car_000720.png`` and for the COCO export's
    ``a_car_000720_png.rf.<hash>.jpg``, so both formats name an amount alike."""
    return _ROBOFLOW_SUFFIX.sub("", Path(name).stem)


def split_names(names: list[str]) -> dict[str, list[str]]:
    """{'train': names, 'test': names}: about 75% / 25%, disjoint, covering all, in the order given.

    Each amount's side depends on its ORAND id alone (a salted SHA-256), not on which other amounts are
    present, so a bigger or smaller copy of the release never moves an amount across."""
    sides: dict[str, list[str]] = {"train": [], "test": []}
    for name in names:
        digest = hashlib.sha256(f"{SPLIT_SALT}:{amount_id(name)}".encode()).digest()
        sides["test" if int.from_bytes(digest[:8], "big") < TEST_FRACTION * 2**64 else "train"].append(name)
    return sides


def _decode(folder: Path, names: list[str],
            alternatives: tuple[Path, ...] = ()) -> tuple[dict[str, np.ndarray], list[str]]:
    """Decode each named image (in ``folder``, else the first alternative folder holding it); a bad or missing
    file becomes one error line and never stops the others."""
    images, errors = {}, []
    for name in names:
        path = next((d / name for d in [folder, *alternatives] if (d / name).is_file()), folder / name)
        try:
            images[name] = read_image(path, name=name)
        except ImageError as exc:
            errors.append(str(exc))
    return images, errors


def read_coco(path: str | Path, images_dir: str | Path | None = None) -> Amounts:
    """A COCO labelling: ``path`` is the json or the folder holding ``annotations.json``.

    Raises ``ValueError`` for an annotation file that is not the expected form (categories other than the
    digits, an image without a box, a box outside the image); images that cannot be read are left out and
    named in ``errors``."""
    path = Path(path)
    json_path = path / "annotations.json" if path.is_dir() else path
    if images_dir is None:
        images_dir = json_path.parent / "images" if (json_path.parent / "images").is_dir() else json_path.parent
    images_dir = Path(images_dir)
    try:
        coco = json.loads(json_path.read_text())
        categories = {c["id"]: str(c["name"]) for c in coco["categories"]}
        entries = {im["id"]: im for im in coco["images"]}
        annotations = coco["annotations"]
    except (KeyError, TypeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{json_path}: not a COCO annotation file ({type(exc).__name__}: {exc})") from exc
    not_digits = sorted(set(categories.values()) - set(DIGITS))
    if not_digits:
        raise ValueError(f"{json_path}: categories must be the digits 0-9, found {not_digits}")

    per_image: dict[int, list[tuple[list[float], str]]] = {i: [] for i in entries}
    problems = []
    for a in annotations:
        image = entries.get(a.get("image_id"))
        bbox = a.get("bbox")
        if image is None or a.get("category_id") not in categories or not (isinstance(bbox, list) and len(bbox) == 4):
            problems.append(f"annotation {a.get('id')}: unknown image or category, or no [x, y, w, h] bbox")
            continue
        x, y, w, h = (float(v) for v in bbox)
        # A pixel of slack: exports round boxes drawn to the very edge outwards.
        if w <= 0 or h <= 0 or x < -1 or y < -1 or x + w > image["width"] + 1 or y + h > image["height"] + 1:
            problems.append(f"{image['file_name']}: box {bbox} is empty or outside its "
                            f"{image['width']}x{image['height']} image")
            continue
        per_image[image["id"]].append(([x, y, x + w, y + h], categories[a["category_id"]]))
    problems += [f"{entries[i]['file_name']}: no digit box" for i, digits in per_image.items() if not digits]
    if problems:
        raise ValueError(f"{json_path}: {len(problems)} problems, first: " + "; ".join(problems[:3]))

    order = sorted(entries)  # the file's own image order, by id
    names = [entries[i]["file_name"] for i in order]
    decoded, errors = _decode(images_dir, names)
    kept_names, images, texts, boxes = [], [], [], []
    for i, name in zip(order, names, strict=True):
        if name not in decoded:
            continue
        entry, image = entries[i], decoded[name]
        if image.shape[:2] != (entry["height"], entry["width"]):
            errors.append(f"{name}: decoded {image.shape[1]}x{image.shape[0]}, the annotations say "
                          f"{entry['width']}x{entry['height']}, so its boxes cannot be trusted")
            continue
        # Left to right by centre: a 7's long foot or a 1's up-stroke may start left of the digit before it.
        digits = sorted(per_image[i], key=lambda d: ((d[0][0] + d[0][2]) / 2, d[0][0]))
        kept_names.append(name)
        images.append(image)
        texts.append("".join(label for _, label in digits))
        boxes.append(np.array([b for b, _ in digits], np.float32))
    return Amounts(kept_names, images, texts, boxes, errors, str(json_path))


def read_gt(path: str | Path, images_dir: str | Path | None = None) -> Amounts:
    """ORAND's official ground truth: one ``a_*_gt.txt`` (lines ``FILE DIGITS``), or a folder holding
    ``a_train_gt.txt`` and/or ``a_test_gt.txt`` (read in that order). No boxes.

    The images are looked for in ``images_dir`` if given, else beside the text file and in ``a_train_images/``
    / ``a_test_images/`` (the release's own layout). Raises ``ValueError`` for a malformed line; images that
    cannot be read are left out and named in ``errors``."""
    path = Path(path)
    gt_files = [path / f for f in GT_FILES if (path / f).is_file()] if path.is_dir() else [path]
    if not gt_files:
        raise ValueError(f"{path}: holds neither {' nor '.join(GT_FILES)}")
    names, texts, errors, images = [], [], [], []
    for gt in gt_files:
        labels = {}
        for number, line in enumerate(gt.read_text().splitlines(), 1):
            if not line.strip():
                continue
            parts = line.split()
            if len(parts) != 2 or not parts[1].isdigit() or not parts[1].isascii():
                raise ValueError(f"{gt}:{number}: expected 'FILE DIGITS', got {line.strip()!r}")
            if parts[0] in labels:
                raise ValueError(f"{gt}:{number}: {parts[0]} is labelled twice")
            labels[parts[0]] = parts[1]
        folder = Path(images_dir) if images_dir is not None else gt.parent
        prefix = gt.name.removesuffix("_gt.txt")
        decoded, bad = _decode(folder, list(labels), (gt.parent / f"{prefix}_images",))
        errors += bad
        for name, text in labels.items():
            if name in decoded:
                names.append(name)
                texts.append(text)
                images.append(decoded[name])
    return Amounts(names, images, texts, None, errors, ", ".join(map(str, gt_files)))


def read(path: str | Path) -> Amounts:
    """Either format, told apart by what ``path`` is or holds."""
    path = Path(path)
    if path.suffix == ".json" or (path.is_dir() and (path / "annotations.json").is_file()):
        return read_coco(path)
    if path.name.endswith("_gt.txt") or (path.is_dir() and any((path / f).is_file() for f in GT_FILES)):
        return read_gt(path)
    raise DataUnavailableError(f"{path} holds no ORAND-CAR-A amounts: {_WHAT_TO_PLACE}")


_WHAT_TO_PLACE = (
    f"get ORAND's ICFHR 2014 HDSRC release (Handwritten Digit String Recognition Challenge, {OFFICIAL_PAGE}; "
    f"research use) and give its CAR-A folder, which holds {' and '.join(GT_FILES)} with a_train_images/ and "
    f"a_test_images/; or a COCO labelling of it (annotations.json with images/ beside it) placed at {SHARED} "
    "relative to the directory you run from")


def load(path: str | Path | None = None, split: str | None = None) -> Amounts:
    """ORAND-CAR-A amounts from ``path`` if given, else the COCO copy at ``../shared/data/orand-car-a`` (where
    this project's machines keep it; its annotations are checked against their SHA-256). ``split``: ``train``,
    ``test`` (held out), or None for all."""
    if split is not None and split not in SPLITS:
        raise ValueError(f"unknown ORAND-CAR-A split {split!r}; choose one of: {', '.join(SPLITS)}")
    if path is not None:
        if not Path(path).exists():
            raise DataUnavailableError(f"{path} does not exist: {_WHAT_TO_PLACE}")
        amounts = read(path)
    elif (SHARED / "annotations.json").is_file():
        digest = file_sha256(SHARED / "annotations.json")
        if digest != SHARED_ANNOTATIONS_SHA256:
            raise DataUnavailableError(f"{SHARED / 'annotations.json'} has SHA-256 {digest}, not the expected "
                                       f"{SHARED_ANNOTATIONS_SHA256}: a changed or damaged copy")
        amounts = read_coco(SHARED)
    else:
        raise DataUnavailableError(f"ORAND-CAR-A not found (no path given, and no {SHARED.resolve()}): "
                                   f"{_WHAT_TO_PLACE}")
    return amounts if split is None else amounts.split(split)
