"""Some mistakes cost more than others: a cost matrix C, C[i][j] = the cost of answering j when the truth is i.

Given as ``numeric`` (|i - j|, the view of the numerical-loss paper, Suzuki et al. 2021: a 3 read as 8 is worse
than a 3 read as 2), as an inline
list of exceptions to the 0/1 cost (``"1->7=5,7->1=5"``), or as a file (JSON: a K x K list of lists; CSV:
K rows of K numbers). The Bayes decision that minimises the expected cost, ``min_cost_decision``, needs no
retraining: it turns any model's probabilities into the answer with the lowest expected cost.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import numpy as np

_PAIR = re.compile(r"^\s*(\d+)\s*->\s*(\d+)\s*=\s*([-+]?\d*\.?\d+(?:[eE][-+]?\d+)?)\s*$")


def parse_cost(spec: str, num_classes: int = 10) -> np.ndarray:
    """A (K, K) float64 cost matrix from 'numeric', 'zero-one', 'I->J=c,...' or the path of a JSON/CSV file."""
    spec = spec.strip()
    k = num_classes
    if spec == "numeric":
        idx = np.arange(k)
        return np.abs(idx[:, None] - idx[None, :]).astype(np.float64)
    if spec in ("", "zero-one"):
        return 1.0 - np.eye(k)
    if "->" in spec:
        cost = 1.0 - np.eye(k)
        for part in spec.split(","):
            m = _PAIR.match(part)
            if not m:
                raise ValueError(f"cannot read {part.strip()!r} in --cost: write TRUE->ANSWER=COST, e.g. 1->7=5")
            i, j, c = int(m[1]), int(m[2]), float(m[3])
            for d in (i, j):
                if d >= k:
                    raise ValueError(f"--cost names digit {d}, but there are only {k} classes (0-{k - 1})")
            if i == j:
                raise ValueError(f"--cost {part.strip()!r}: a right answer costs nothing; give pairs of two digits")
            cost[i, j] = c
        return validate_cost(cost, k)
    path = Path(spec)
    if not path.exists():
        raise ValueError(f"--cost {spec!r} is neither 'numeric', 'zero-one', a list like 1->7=5, nor a file")
    if path.suffix.lower() == ".json":
        rows = json.loads(path.read_text())
    else:
        rows = [[float(v) for v in row] for row in csv.reader(path.read_text().splitlines()) if row]
    return validate_cost(np.asarray(rows, dtype=np.float64), k)


def validate_cost(cost: np.ndarray, num_classes: int = 10) -> np.ndarray:
    cost = np.asarray(cost, dtype=np.float64)
    if cost.shape != (num_classes, num_classes):
        raise ValueError(f"a cost matrix must be {num_classes} x {num_classes} (true x answered), got "
                         f"{' x '.join(map(str, cost.shape))}")
    if not np.isfinite(cost).all():
        raise ValueError("a cost matrix must hold finite numbers")
    if (cost < 0).any():
        i, j = np.argwhere(cost < 0)[0]
        raise ValueError(f"costs cannot be negative: C[{i}][{j}] = {cost[i, j]:g}")
    if np.diag(cost).any():
        raise ValueError("the diagonal must be 0: answering the true digit costs nothing")
    return cost


def expected_costs(probs: np.ndarray, cost: np.ndarray) -> np.ndarray:
    """(N, K): the expected cost of each answer j, sum_i p_i C[i][j]."""
    return np.asarray(probs) @ cost


def min_cost_decision(probs: np.ndarray, cost: np.ndarray) -> np.ndarray:
    """(N,) the answer with the lowest expected cost (Bayes decision); with 0/1 cost, the most probable."""
    return expected_costs(probs, cost).argmin(axis=1)


def mean_cost(labels: np.ndarray, answers: np.ndarray, cost: np.ndarray) -> float:
    return float(cost[np.asarray(labels), np.asarray(answers)].mean())
