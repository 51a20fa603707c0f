"""The best reading of a row of atoms: dynamic programming over the cut graph.

Atoms (pieces of ink, left to right) are separated by nodes 0..n. An edge (start, end) reads atoms
start..end-1 as one thing, either a digit or nothing (a speck, a "not a digit" answer) and carries a score,
the log-probability of that reading. A path from node 0 to node n is a segmentation of the whole row
and its score is the sum of its edges' scores: the combined log-probability. Every segmentation is
considered, in O(edges x digits) time rather than by listing them: the best path to a node with k digits
read so far only depends on the best paths to the nodes before it.
"""

from __future__ import annotations

import numpy as np


def best_path(num_atoms: int, starts: np.ndarray, ends: np.ndarray, scores: np.ndarray, is_digit: np.ndarray,
              length: int | None = None) -> list[int] | None:
    """Indices of the edges of the best-scoring path from node 0 to node ``num_atoms``, left to right.

    starts, ends (E,) int: node indices with start < end; scores (E,) float log-probabilities (-inf: not
    allowed); is_digit (E,) bool: whether the edge reads a digit (counted towards ``length``) or nothing.
    With ``length`` the path must read exactly that many digits. None when no path exists.

    Scores may also be (E, length): column k is the edge's score as the (k+1)-th digit read, so that a path can
    be made to read one given text (each edge scored as that text's k-th digit); a nothing-edge's row holds one
    score throughout.
    """
    starts, ends = np.asarray(starts, np.int64), np.asarray(ends, np.int64)
    scores, is_digit = np.asarray(scores, np.float64), np.asarray(is_digit, bool)
    if scores.ndim == 2 and (length is None or scores.shape[1] != length):
        raise ValueError("scores per digit position (E, length) need the length they are for")
    if not (len(starts) == len(ends) == len(scores) == len(is_digit)):
        raise ValueError("starts, ends, scores and is_digit must have one entry per edge")
    if len(starts) and not ((starts >= 0) & (starts < ends) & (ends <= num_atoms)).all():
        raise ValueError(f"every edge needs 0 <= start < end <= {num_atoms}")
    max_digits = num_atoms if length is None else length
    if max_digits > num_atoms:
        return None
    # best[node, k]: the highest score of a path from node 0 to `node` that read k digits;
    # back[node, k]: the last edge of that path.
    best = np.full((num_atoms + 1, max_digits + 1), -np.inf)
    back = np.full((num_atoms + 1, max_digits + 1), -1, np.int64)
    best[0, 0] = 0.0
    # Edges sorted by their end node: when an edge is relaxed, every path into its start is final.
    for e in np.argsort(ends, kind="stable"):
        step = int(is_digit[e])
        score = scores[e] if scores.ndim == 1 else scores[e, :max_digits] if step else scores[e, 0]
        candidate = best[starts[e], :max_digits + 1 - step] + score  # (k,) arriving with k + step digits
        target = best[ends[e], step:]
        better = candidate > target
        target[better] = candidate[better]
        back[ends[e], step:][better] = e

    finals = best[num_atoms]
    k = int(np.argmax(finals)) if length is None else length
    if not np.isfinite(finals[k]):
        return None
    path, node = [], num_atoms
    while node > 0:
        e = int(back[node, k])
        path.append(e)
        node, k = int(starts[e]), k - int(is_digit[e])
    return path[::-1]
