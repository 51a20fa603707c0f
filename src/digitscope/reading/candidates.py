"""``mnist-candidates``: MNIST digits, plus the Reader's own candidates cut from synthetic strings of them.

A digit in a string reaches the classifier as the Reader cuts it: slanted, thinned or thickened by the pen,
with a sliver of a touching neighbour, or cut through where two digits overlap. And the Reader asks the
classifier about spans that are no digit at all: half of one, two merged into one. MNIST alone shows neither.
This set shows both, as the Reader sees them:

- every MNIST image of the split (labels 0-9), so that single digits stay as well read as before;
- the candidates (``reading.reader.candidates``, the same cut and the same ``to_mnist``) of strings drawn from
  the digits of the MNIST split of the same name, in all three layouts of ``reading.synthetic``: a candidate
  whose box matches one digit's ink box (IoU >= ``DIGIT_IOU``) is that digit; one that matches none (IoU <
  ``NONE_IOU`` with every digit) is class 10, "not a digit"; the ones in between are left out.

Train a reader of the ten digits with ``--classes 0,1,2,3,4,5,6,7,8,9`` (class 10 left out) and a detector with
every class (``--distractors`` adds the generated non-digits to those). Each split has its own seeds; test strings
come from mnist:test digits only. The cache is named after the code that cuts and labels the candidates
(``DatasetInfo.made_by``): a change to the Reader's segmentation makes the set again on its next use.
"""

from __future__ import annotations

import numpy as np

from ..data.cache import Arrays
from ..labels import NOT_A_DIGIT

SPLITS = ("train", "val", "test")
# Strings per layout; a string gives about two candidates per digit, two thirds of them whole digits.
STRINGS = {"train": {"a": 3_000, "b": 6_000, "c": 3_000}, "val": {"a": 300, "b": 600, "c": 300},
           "test": {"a": 500, "b": 1_000, "c": 500}}
SEEDS = {"train": 100, "val": 200, "test": 300}
DIGIT_IOU = 0.75
NONE_IOU = 0.5
MERGED_SHARE = 0.6  # a span holding this much of two digits' boxes is a merge (overlapping neighbours share 10-25%)


def label_candidates(span_boxes: np.ndarray, digit_boxes: np.ndarray) -> np.ndarray:
    """(E,) labels of candidate boxes (E, 4) against the true digits' ink boxes (L, 4), both x0, y0, x1, y1
    in the same pixels: the digit's position (0..L-1) where IoU >= DIGIT_IOU, -2 for none (IoU < NONE_IOU with
    every digit), -1 in between. Also -1: a span that holds one whole digit and nothing of another (a digit
    joined to an edge of the scene, a blot of noise), which is the digit with something beside it, not a mis-cut.
    And -2, whatever its IoU: a span that holds most of two digits (a 4 with the narrow 1 that touches it), a merge."""
    from ..boxes import box_iou

    spans, digits = span_boxes[:, None, :].astype(float), digit_boxes[None, :, :].astype(float)
    iou = box_iou(spans, digits)  # (E, L)
    overlap = np.clip(np.minimum(spans[..., 2:], digits[..., 2:]) - np.maximum(spans[..., :2], digits[..., :2]),
                      0, None)  # (E, L, 2) width and height of each span's overlap with each digit
    inside = overlap.prod(axis=-1) / (digits[..., 2:] - digits[..., :2]).prod(axis=-1)  # (E, L) share of the digit
    one_digit_and_more = ((inside >= 0.9).sum(axis=1) == 1) & ((inside >= 0.2).sum(axis=1) == 1)
    merge = (inside >= MERGED_SHARE).sum(axis=1) >= 2
    best, top = iou.argmax(axis=1), iou.max(axis=1)
    labels = np.where(top >= DIGIT_IOU, best, np.where((top < NONE_IOU) & ~one_digit_and_more, -2, -1))
    return np.where(merge, -2, labels)


def string_candidates(images, texts: list[str], boxes: list[np.ndarray]) -> Arrays:
    """The labelled candidates of many strings (``reading.synthetic.DigitStrings``' fields)."""
    from .reader import candidates

    crops, labels = [], []
    for image, text, digit_boxes in zip(images, texts, boxes, strict=True):
        found = candidates(np.asarray(image))
        if found is None:
            continue
        _, spans, canonical, factor = found
        position = label_candidates(spans.boxes * factor, digit_boxes)
        digits = np.array([int(c) for c in text])
        keep = position != -1
        crops.append(canonical[keep])
        labels.append(np.where(position[keep] >= 0, digits[np.maximum(position[keep], 0)], NOT_A_DIGIT))
    return Arrays(np.concatenate(crops), np.concatenate(labels).astype(np.int64))


def digits_and_their_cuts(digits: Arrays, counts: dict[str, int], seed: int) -> Arrays:
    """The digits themselves, then the labelled candidates of ``counts[layout]`` synthetic strings of them in each
    layout (a: sequences, b: free-form strings, c: house-number scenes; seeds ``seed``, ``seed + 1``, ``seed + 2``)."""
    from ..data import synthetic

    layouts = {"a": synthetic.mnist_sequences, "b": synthetic.freeform_strings, "c": synthetic.house_number_scenes}
    parts = [digits]
    for k, (layout, make) in enumerate(layouts.items()):
        strings = make(digits.images, digits.labels, counts[layout], seed + k)
        parts.append(string_candidates(strings.images, strings.texts, strings.boxes))
    return Arrays(np.concatenate([p.images for p in parts]), np.concatenate([p.labels for p in parts]))


def writers_candidates_split(split: str) -> Arrays:
    """The same from the writer-disjoint MNIST splits (``mnist-writers:train`` / ``val``)."""
    from ..data.catalog import load

    return digits_and_their_cuts(load(f"mnist-writers:{split}"), STRINGS[split], SEEDS[split])


def candidates_split(split: str) -> Arrays:
    from ..data.catalog import load

    return digits_and_their_cuts(load(f"mnist:{split}"), STRINGS[split], SEEDS[split])

