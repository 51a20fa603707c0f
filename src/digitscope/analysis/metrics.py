"""Evaluation metrics of a classifier on a labelled set, including the numeric errors of the numerical-loss
paper (Suzuki et al. 2021).

numeric error per image = mean |true - predicted| over all images (a correct answer counts 0);
numeric error per misidentified image = the same mean over the wrong answers only.
"""

from __future__ import annotations

import numpy as np


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> np.ndarray:
    """(K, K) counts: row = true class, column = predicted class."""
    return np.bincount(y_true * num_classes + y_pred, minlength=num_classes**2).reshape(num_classes, num_classes)


def classification_report(y_true: np.ndarray, probs: np.ndarray, values: np.ndarray | None = None,
                          y_pred: np.ndarray | None = None, cost: np.ndarray | None = None) -> dict:
    """All metrics for true labels (N,) and predicted probabilities (N, K).

    ``values`` gives each class's numeric value (default: the class index, i.e. the digit); ``y_pred``
    the answers when a decision rule other than the most probable class made them; ``cost`` a cost
    matrix whose mean per image is then reported too."""
    y_true = np.asarray(y_true, dtype=np.int64)
    probs = np.asarray(probs, dtype=np.float64)
    n, k = probs.shape
    y_pred = probs.argmax(axis=1) if y_pred is None else np.asarray(y_pred, dtype=np.int64)
    values = np.arange(k, dtype=np.float64) if values is None else np.asarray(values, dtype=np.float64)
    wrong = y_pred != y_true
    magnitude = np.abs(values[y_true] - values[y_pred])  # 0 where correct
    cm = confusion_matrix(y_true, y_pred, k)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(cm.sum(0) > 0, np.diag(cm) / cm.sum(0), np.nan)
        recall = np.where(cm.sum(1) > 0, np.diag(cm) / cm.sum(1), np.nan)
    magnitudes, counts = np.unique(magnitude[wrong], return_counts=True)
    return {
        "n": int(n),
        "accuracy": float(1 - wrong.mean()),
        "error_rate": float(wrong.mean()),
        "errors": int(wrong.sum()),
        "log_loss": float(-np.log(np.clip(probs[np.arange(n), y_true], 1e-12, 1.0)).mean()),
        "numeric_error_per_image": float(magnitude.mean()),
        "numeric_error_per_misidentified": float(magnitude[wrong].mean()) if wrong.any() else 0.0,
        "error_magnitude_histogram": {f"{m:g}": int(c) for m, c in zip(magnitudes, counts, strict=True)},
        "per_class": [
            {"class": c, "support": int(cm[c].sum()), "precision": _nan_to_none(precision[c]),
             "recall": _nan_to_none(recall[c])}
            for c in range(k)
        ],
        "confusion_matrix": cm.tolist(),
        **({"mean_cost": float(np.asarray(cost)[y_true, y_pred].mean())} if cost is not None else {}),
    }


def _nan_to_none(x: float) -> float | None:
    return None if np.isnan(x) else float(x)
