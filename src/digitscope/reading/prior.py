"""The segmentation prior: how likely a candidate span, read as a given digit, is that one whole digit.

A digit classifier answers every candidate with a digit, and on MNIST-like ink with near certainty: half a
0 is a confident 1, two touching 7s one confident 7. Its probabilities cannot tell a whole digit from a
fragment or a pair, so the path search multiplies each candidate's digit probability by the probability
that a span of that shape is one whole digit of that kind: a logistic model on the span's shape
(``segment.SHAPE``: width, height, gaps, atoms, the ink its cuts cross) and on each digit's own width and
height, fitted on strings of ``mnist:train`` digits of all three synthetic kinds:

    digitscope fit prior --strings 1500 --seed 0 --out FILE

It depends on the segmentation, not on the classifier (the class of a whole digit is its true label), so
one prior serves every model; a classifier with a "not a digit" class adds its own answer on top.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .segment import SHAPE

PRIOR_PATH = Path(__file__).parent.parent / "weights" / "reading-prior.json"
# A whole digit matches a true digit's box at least this well (intersection over union).
WHOLE_IOU = 0.7


# Each digit's own width and height, on radial basis functions (centres, width) over line heights: a
# digit's plausible sizes need not be a bell curve (a 1 is narrow or, with its flag, as wide as a 7).
WIDTH_CENTRES, WIDTH_SPREAD = np.linspace(0.1, 1.5, 11), 0.1
HEIGHT_CENTRES, HEIGHT_SPREAD = np.linspace(0.3, 1.1, 5), 0.15


def _bumps(values: np.ndarray, centres: np.ndarray, spread: float) -> np.ndarray:
    return np.exp(-0.5 * ((values[:, None] - centres[None, :]) / spread) ** 2)


def design(shape: np.ndarray) -> np.ndarray:
    """(E, len(SHAPE)) span shapes -> (E, 10, F) features of each span read as each digit."""
    width, height, gap, atoms, cut_left, cut_right = shape.T
    e = len(shape)
    common = np.stack([gap, gap > 0, atoms == 2, atoms >= 3, cut_left, cut_right, cut_left > 0, cut_right > 0],
                      axis=1).astype(np.float64)  # (E, 8)
    own = np.concatenate([np.ones((e, 1)), _bumps(width, WIDTH_CENTRES, WIDTH_SPREAD),
                          _bumps(height, HEIGHT_CENTRES, HEIGHT_SPREAD)], axis=1)  # (E, B)
    per_digit = np.einsum("ek,dc->edck", own, np.eye(10)).reshape(e, 10, 10 * own.shape[1])  # (E, 10, 10 B)
    return np.concatenate([np.broadcast_to(common[:, None, :], (e, 10, common.shape[1])), per_digit], axis=2)


class SegmentPrior:
    def __init__(self, coef: np.ndarray, intercept: float, card: dict | None = None):
        self.coef = np.asarray(coef, np.float64)  # (F,)
        self.intercept = float(intercept)
        self.card = card or {}

    @classmethod
    def load(cls, path: str | Path = PRIOR_PATH) -> SegmentPrior:
        card = json.loads(Path(path).read_text())
        if card.get("shape") != list(SHAPE):
            raise ValueError(f"{path}: fitted on span features {card.get('shape')}, the segmentation now gives "
                             f"{list(SHAPE)}; refit with `digitscope fit prior`")
        return cls(card["coef"], card["intercept"], card)

    def log_odds(self, shape: np.ndarray) -> np.ndarray:
        """(E, len(SHAPE)) span shapes -> (E, 10) log-odds that each span is one whole digit d."""
        return design(shape) @ self.coef + self.intercept

    def save(self, path: str | Path) -> None:
        card = {**self.card, "shape": list(SHAPE), "coef": self.coef.round(6).tolist(),
                "intercept": round(self.intercept, 6)}
        Path(path).write_text(json.dumps(card, indent=1) + "\n")
