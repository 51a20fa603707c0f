"""How well the Reader reads real amounts with a box per digit (ORAND-CAR-A and the like).

One scoring for every place that reports it (``benchmarks/read_amounts.py``, ``benchmarks/real_writers.py``): the
exact share (the digits-only text, refused or not), the share refused, exact among the answered, the mean IoU of the
digit boxes matched one to one with the share of true boxes matched, and amounts/s with ``Reader.read`` called one
image at a time (decoding excluded).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np

from ..boxes import box_iou
from .reader import Reader, Reading

MIN_IOU = 0.1


def match_boxes(found: np.ndarray, true: np.ndarray) -> np.ndarray:
    """IoUs of found (F, 4) and true (T, 4) boxes matched one to one, best first; pairs under MIN_IOU stay apart."""
    if len(found) == 0 or len(true) == 0:
        return np.zeros(0)
    table = box_iou(found[:, None, :], true[None, :, :])  # (F, T)
    pairs = []
    while table.max() >= MIN_IOU:
        f, t = np.unravel_index(np.argmax(table), table.shape)
        pairs.append(float(table[f, t]))
        table[f, :], table[:, t] = -1, -1
    return np.array(pairs)


def score_amounts(reader: Reader, images: Sequence[np.ndarray], texts: Sequence[str], boxes: Sequence[np.ndarray],
                  on_wrong: Callable[[int, Reading], None] | None = None) -> dict:
    """Read every amount once and score it; ``on_wrong(index, reading)`` is called for each wrong or refused one."""
    if not images:
        raise ValueError("no amounts to score")
    reader.read(images[0])  # warm-up: the first call builds the inference backend
    exact = refused = exact_answered = 0
    ious: list[float] = []
    true_boxes, seconds = 0, 0.0
    for k, (image, text, true) in enumerate(zip(images, texts, boxes, strict=True)):
        started = time.perf_counter()
        reading = reader.read(image)
        seconds += time.perf_counter() - started
        right = reading.text == text
        exact += right
        refused += reading.rejected
        exact_answered += right and not reading.rejected
        found = np.array([d.box for d in reading.digits], float).reshape(-1, 4)
        ious += list(match_boxes(found, np.asarray(true, float).reshape(-1, 4)))
        true_boxes += len(true)
        if on_wrong is not None and (not right or reading.rejected):
            on_wrong(k, reading)
    n = len(images)
    return {"n": n, "exact": exact / n, "refused": refused / n, "answered": n - refused,
            "exact_answered": exact_answered / max(1, n - refused),
            "box_iou": float(np.mean(ious)) if ious else 0.0, "boxes_matched": len(ious) / max(1, true_boxes),
            "amounts_per_second": n / seconds}
