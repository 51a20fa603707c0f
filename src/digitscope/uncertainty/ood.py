"""Out-of-distribution evaluation: can the model's scores tell MNIST test digits from things that are not
digits (or not digits as it knows them)?

Every set is built from data no model trains on: Fashion-MNIST test, mis-cut fragments of MNIST *test*
digits (the right half of one digit beside the left half of the next, seed 002's case), letters drawn from
fonts held out of training (``data.distractors.HELD_OUT_FONTS``), uniform and Gaussian noise, blank and
near-blank images, MNIST test digits inverted (dark on light, not preprocessed), and MNIST test digits
rotated by 90 degrees (a shift rather than an OOD case).
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import roc_auc_score, roc_curve

from .. import data
from ..data import distractors
from ..inference.scores import SCORES, digit_confidence
from ..labels import NOT_A_DIGIT
from ..preprocess import is_blank


def fragments(images: np.ndarray) -> np.ndarray:
    """Right half of digit i and left half of digit i+1, side by side, re-centred the way a reader would."""
    return np.stack([distractors.miscut(a, b, 14, 14) for a, b in zip(images[:-1], images[1:], strict=True)])


OOD_SETS = ("fashion-mnist", "fragments", "letters", "noise", "blank", "inverted", "rotated")


def make_ood_sets(test: np.ndarray, n: int = 5000, seed: int = 0, fashion: bool = True) -> dict[str, np.ndarray]:
    """name -> uint8 (<= n, 28, 28), built from ``test``, in-distribution digits no model trained on.
    Fashion-MNIST is left out where it cannot be had (or with ``fashion=False``), letters where the held-out
    fonts are not installed."""
    rng = np.random.default_rng(seed)
    n = min(n, len(test) - 1)
    pick = rng.permutation(len(test))[:n]
    half = n // 2
    sets = {}
    if fashion:
        try:
            sets["fashion-mnist"] = data.load("fashion:test").images[:n]
        except data.DataUnavailableError:
            pass
    sets["fragments"] = fragments(test[np.sort(rng.permutation(len(test))[:n + 1])])
    try:
        sets["letters"] = distractors.letters(n, seed, fonts="held-out")[0]
    except distractors.FontsNotFoundError:
        pass
    sets["noise"] = np.concatenate([
        rng.integers(0, 256, (half, 28, 28)),
        np.clip(rng.normal(0, 80, (n - half, 28, 28)), 0, 255),
    ]).astype(np.uint8)
    faint = np.zeros((n - half, 28, 28), np.uint8)
    faint[rng.random(faint.shape) < 0.01] = 60  # a few faint specks: a near-empty scan
    sets["blank"] = np.concatenate([np.zeros((half, 28, 28), np.uint8), faint])
    sets["inverted"] = 255 - test[pick]
    sets["rotated"] = np.ascontiguousarray(np.rot90(test[pick], axes=(1, 2)))
    return sets


def auroc_fpr95(in_scores: np.ndarray, out_scores: np.ndarray) -> dict:
    """AUROC of telling in-distribution (positive, higher score) from OOD, and the share of OOD images
    accepted at the threshold that accepts 95% of in-distribution digits."""
    y = np.r_[np.ones(len(in_scores)), np.zeros(len(out_scores))]
    s = np.r_[in_scores, out_scores].astype(np.float64)
    fpr, tpr, _ = roc_curve(y, s)
    return {"auroc": float(roc_auc_score(y, s)), "fpr95": float(fpr[np.searchsorted(tpr, 0.95)])}


def all_scores(model, images: np.ndarray) -> dict[str, np.ndarray]:
    """Every score of ``SCORES`` the model supports, plus 'reject-rule': the one predict uses (a blank
    image is refused before the model sees it, then the calibrated ``digit_confidence``).

    ``SCORES`` see the ten digit columns only (probabilities renormalised over them): for an 11-class model
    they measure what its digit part alone knows, and 'is-a-digit' (1 - p(not a digit)) what its extra
    class alone knows; the reject rule combines both."""
    logits = model.logits(images)  # (N, K)
    probs = model.predict_proba(images) if model.mc_samples else model.proba_from_logits(logits)
    inputs = {"logits": logits[:, :NOT_A_DIGIT], "probs": _digits_only(probs)}
    try:
        inputs["members"] = _digits_only(model.member_proba(images))  # (S, N, 10)
    except ValueError:  # a single model without MC dropout: no member scores
        pass
    out = {name: score(inputs[needs]) for name, (needs, score) in SCORES.items() if needs in inputs}
    if model.knows_not_a_digit:
        out["is-a-digit"] = 1.0 - probs[:, NOT_A_DIGIT]
    blank = is_blank(images)
    out["reject-rule"] = np.where(blank, -1.0, digit_confidence(probs))
    return out


def _digits_only(probs: np.ndarray) -> np.ndarray:
    """(..., K) -> (..., 10) the digit columns, renormalised (unchanged for a 10-class model)."""
    digits = np.asarray(probs, np.float64)[..., :NOT_A_DIGIT]
    return digits / np.clip(digits.sum(axis=-1, keepdims=True), 1e-30, None)


def ood_eval(model, in_spec: str = "mnist:test", n: int = 5000, seed: int = 0, fashion: bool = True) -> dict:
    """{set: {"auroc", "fpr95", "n", "by_score": {score: {"auroc", "fpr95"}}}}, each set against all of
    ``in_spec``; 'auroc' and 'fpr95' at the top of a set are those of the model's own reject rule."""
    test = data.load(in_spec).images
    in_scores = all_scores(model, test)
    report = {}
    for name, images in make_ood_sets(test, n, seed, fashion).items():
        out_scores = all_scores(model, images)
        by_score = {s: auroc_fpr95(in_scores[s], out_scores[s]) for s in in_scores}
        report[name] = {**by_score["reject-rule"], "n": len(images), "by_score": by_score}
    return report


