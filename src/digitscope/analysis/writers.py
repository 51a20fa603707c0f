"""How a model reads people, not only digits: accuracy per writer, the worst writers, and one confusion's rate.

A mean accuracy hides the writers a model fails: one person's 1 with a long up-stroke read as 7 a hundred times
is one writer in the mean and the whole of that person's experience. So the report gives the mean of the worst
tenth of writers beside the mean over digits, and the rate of the confusion asked about (1 -> 7 by default).
"""

from __future__ import annotations

import numpy as np

WORST_SHARE = 0.1  # the worst tenth of writers


def writer_report(labels: np.ndarray, answers: np.ndarray, writers: np.ndarray,
                  confusion: tuple[int, int] = (1, 7)) -> dict:
    """Figures of (N,) answers against (N,) labels, grouped by (N,) writer ids.

    ``worst_decile_accuracy``: the mean accuracy of the worst ``WORST_SHARE`` of writers (at least one);
    ``confusion_rate``: the share of true ``confusion[0]`` answered ``confusion[1]``."""
    labels, answers, writers = np.asarray(labels), np.asarray(answers), np.asarray(writers)
    if not len(labels) == len(answers) == len(writers):
        raise ValueError(f"labels, answers and writers must be as many: {len(labels)}, {len(answers)}, "
                         f"{len(writers)}")
    correct = answers == labels
    ids, index = np.unique(writers, return_inverse=True)
    per_writer = np.bincount(index, weights=correct) / np.bincount(index)
    worst = np.sort(per_writer)[:max(1, round(WORST_SHARE * len(ids)))]
    true, said = confusion
    of_true = labels == true
    return {
        "n": int(len(labels)),
        "accuracy": float(correct.mean()),
        "per_digit": {int(d): float(correct[labels == d].mean()) for d in np.unique(labels)},
        "writers": int(len(ids)),
        "worst_decile_accuracy": float(worst.mean()),
        "worst_writer_accuracy": float(worst[0]),
        "confusion": f"{true}->{said}",
        "confusion_rate": float((answers[of_true] == said).mean()) if of_true.any() else 0.0,
    }
