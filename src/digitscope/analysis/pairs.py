"""Confusable pairs: which two digits a classifier mixes up most, and its errors on each pair.

A pair's confusion is symmetric: the i read as j plus the j read as i. Counted mistakes are few on a strong
model (a dozen on MNIST's 5,000 validation digits), so ties are broken by the soft confusion, the probability
each digit's images give the other digit of the pair.
"""

from __future__ import annotations

import numpy as np


def soft_confusion(labels: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """(K, K): row i, column j = the summed probability that images of digit i give digit j."""
    probs = np.asarray(probs, dtype=np.float64)
    onehot = np.eye(probs.shape[1])[np.asarray(labels)]  # (N, K)
    return onehot.T @ probs


def confused_pairs(counts: np.ndarray, top_k: int, soft: np.ndarray | None = None,
                   classes: np.ndarray | None = None) -> list[dict]:
    """The ``top_k`` pairs (i < j) with the most mistakes either way, most first; pairs with no mistakes (and
    no soft confusion, when ``soft`` is given) are left out, so fewer than ``top_k`` may come back. ``classes``:
    only pairs of these (a gate's "not a digit" has no images to train a specialist on in digit data)."""
    counts = np.asarray(counts)
    if counts.ndim != 2 or counts.shape[0] != counts.shape[1]:
        raise ValueError(f"a confusion matrix is K x K, got shape {counts.shape}")
    if top_k < 1:
        raise ValueError(f"--top-k must be at least 1, not {top_k}")
    both = counts + counts.T
    soft_both = np.zeros(both.shape) if soft is None else np.asarray(soft) + np.asarray(soft).T
    i, j = np.triu_indices(len(counts), k=1)
    if classes is not None:
        kept = np.isin(i, classes) & np.isin(j, classes)
        i, j = i[kept], j[kept]
    order = np.lexsort((j, i, -soft_both[i, j], -both[i, j]))  # most mistakes first, then most soft confusion
    pairs = [{"pair": [int(i[o]), int(j[o])], "mistakes": int(both[i[o], j[o]]),
              "first_as_second": int(counts[i[o], j[o]]), "second_as_first": int(counts[j[o], i[o]]),
              **({"soft_confusion": float(soft_both[i[o], j[o]])} if soft is not None else {})}
             for o in order if both[i[o], j[o]] > 0 or soft_both[i[o], j[o]] > 0]
    return pairs[:top_k]


def pair_errors(labels: np.ndarray, answers: np.ndarray, pairs: list[list[int]]) -> list[int]:
    """For each pair (a, b): how many images of a were answered b, plus of b answered a."""
    labels, answers = np.asarray(labels), np.asarray(answers)
    return [int(((labels == a) & (answers == b)).sum() + ((labels == b) & (answers == a)).sum()) for a, b in pairs]


def compare_on_pairs(labels: np.ndarray, without: np.ndarray, with_: np.ndarray, pairs: list[list[int]]) -> dict:
    """Errors on each pair and overall, for two sets of answers to the same images (e.g. a generalist alone,
    then with its specialists)."""
    labels, without, with_ = np.asarray(labels), np.asarray(without), np.asarray(with_)
    before, after = pair_errors(labels, without, pairs), pair_errors(labels, with_, pairs)
    return {
        "n": int(len(labels)),
        "pairs": [{"pair": list(p), "errors_without": b, "errors_with": a} for p, b, a in zip(pairs, before, after,
                                                                                           strict=True)],
        "pair_errors_without": sum(before), "pair_errors_with": sum(after),
        "errors_without": int((without != labels).sum()), "errors_with": int((with_ != labels).sum()),
        "accuracy_without": float((without == labels).mean()), "accuracy_with": float((with_ == labels).mean()),
        "changed": int((without != with_).sum()),
    }
