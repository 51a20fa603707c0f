"""``orand-candidates``: the Reader's own candidates cut from real cheque amounts (ORAND-CAR-A), with MNIST.

The bundled reading model learnt digits from MNIST and from the Reader's cuts of synthetic MNIST strings. Real
amounts are written otherwise (a 1 with a long flag, thin pen strokes, open 4s), and the model doubts many of their
digits. This set shows it those digits as the Reader cuts them:

- every candidate of each amount (``reading.reader.candidates``), labelled as ``mnist-candidates`` labels them
  (``candidates.label_candidates``: a digit where its box matches one digit's box, "not a digit" where it matches
  none or holds most of two), against the annotated boxes tightened to the ink the Reader sees inside them (the
  annotators' boxes are loose, the Reader's are tight to the ink);
- each annotated digit cut out alone from that ink, so that every digit is there once whole;
- a sample of ``mnist-candidates`` (MNIST digits and the Reader's cuts of synthetic strings of them) of the split of
  the same role, so that what the model reads well stays read well.

Only ORAND's **train** side (``data.orand``) is used, split again by amount into ``fit`` (about 4/5) and ``choose``
(about 1/5, to validate and to choose on). The held-out test side is never read here.
"""

from __future__ import annotations

import hashlib

import numpy as np

from ..data.cache import Arrays
from ..labels import NOT_A_DIGIT

SPLITS = ("fit", "choose")
CHOOSE_FRACTION = 0.2
SALT = "digitscope/orand-candidates/choose/v1"
# What the model was trained on before, and how much of it: mnist-candidates (MNIST digits and the Reader's cuts of
# synthetic MNIST strings). Plain MNIST digits alone were not enough: a model fine-tuned with 20k of them forgot the
# cuts of touching digits and read 6-10-digit mnist:val strings at 86.6% instead of 92.0%. With 30k of
# mnist-candidates the bundled reading model's recipe read them at 93.5% (1,000 strings; the previous model 96.2%),
# with 90k at 94.9%, and the held-out fifth of ORAND train at 76.6% either way (benchmarks/read_amounts.py).
MNIST = {"fit": ("mnist-candidates:train", 90_000), "choose": ("mnist-candidates:val", 3_000)}


def side(name: str) -> str:
    """``fit`` or ``choose`` for an ORAND train amount, by a salted hash of its ORAND id."""
    from ..data.orand import amount_id

    digest = hashlib.sha256(f"{SALT}:{amount_id(name)}".encode()).digest()
    return "choose" if int.from_bytes(digest[:8], "big") < CHOOSE_FRACTION * 2**64 else "fit"


def tight_boxes(ink: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Annotated boxes (L, 4) shrunk to the ink (H, W) inside each, where there is any."""
    out = np.round(boxes).astype(np.int64)
    h, w = ink.shape
    for k, (x0, y0, x1, y1) in enumerate(out):
        x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
        inside = ink[y0:y1, x0:x1] > 0
        if inside.any():
            rows, cols = np.flatnonzero(inside.any(axis=1)), np.flatnonzero(inside.any(axis=0))
            out[k] = [x0 + cols[0], y0 + rows[0], x0 + cols[-1] + 1, y0 + rows[-1] + 1]
    return out


def amount_candidates(images: list[np.ndarray], texts: list[str], boxes: list[np.ndarray]) -> Arrays:
    """The labelled candidates and the whole annotated digits of many amounts."""
    from ..preprocess import ink_map, ink_to_mnist
    from .candidates import label_candidates
    from .paper import drop_texture
    from .reader import candidates
    from .scene import clean_scene

    crops, labels = [], []
    for image, text, digit_boxes in zip(images, texts, boxes, strict=True):
        digits = np.array([int(c) for c in text])
        ink = drop_texture(ink_map(clean_scene(image)))
        tight = tight_boxes(ink, digit_boxes)
        for (x0, y0, x1, y1), d in zip(tight, digits, strict=True):
            canvas = np.zeros((y1 - y0 + 4, x1 - x0 + 4), np.uint8)
            canvas[2:-2, 2:-2] = np.round(ink[y0:y1, x0:x1])
            crops.append(ink_to_mnist(canvas)[None])
            labels.append(np.array([d]))
        found = candidates(image)
        if found is None:
            continue
        _, spans, canonical, factor = found
        position = label_candidates(spans.boxes * factor, tight)
        keep = position != -1
        crops.append(canonical[keep])
        labels.append(np.where(position[keep] >= 0, digits[np.maximum(position[keep], 0)], NOT_A_DIGIT))
    return Arrays(np.concatenate(crops), np.concatenate(labels).astype(np.int64))


def cuts_split(split: str) -> Arrays:
    """The whole digits and the labelled candidates of the ORAND train amounts on one side (``fit``, ``choose``)."""
    from ..data import orand

    amounts = orand.load(split="train")
    amounts = amounts.subset([n for n in amounts.names if side(n) == split])
    return amount_candidates(amounts.images, amounts.texts, amounts.boxes)


def candidates_split(split: str) -> Arrays:
    from ..data.catalog import load

    real = cuts_split(split)
    spec, count = MNIST[split]
    # mnist-candidates is registered: this runs only as orand-candidates' fetch, which reading.datasets registers
    # beside it.
    mnist = load(spec)
    pick = np.random.default_rng(0).permutation(len(mnist))[:count]
    return Arrays(np.concatenate([real.images, mnist.images[pick]]),
                  np.concatenate([real.labels, mnist.labels[pick]]))

