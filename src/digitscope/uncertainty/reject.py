"""The one rule that decides "answer" or "not sure": reject when the confidence score is below a threshold.

The threshold is chosen on the validation split, either for a target risk (the largest coverage whose
error rate among accepted digits is at most ``max_risk``) or for a target coverage. Selective
classification in the sense of Geifman & El-Yaniv (2017); AURC is the area under the risk-coverage curve.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..figures import pyplot, save


def risk_coverage(scores: np.ndarray, correct: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(coverage, risk, threshold) when accepting the k most confident examples, k = 1..N.

    Accepting ``scores >= threshold[k-1]`` keeps ``coverage[k-1]`` of the data at error rate ``risk[k-1]``
    (ties in the score are accepted or refused together, so only the last of a run of ties is a real option).
    """
    order = np.argsort(-np.asarray(scores), kind="stable")
    s, wrong = np.asarray(scores)[order], ~np.asarray(correct, bool)[order]
    k = np.arange(1, len(s) + 1)
    risk = np.cumsum(wrong) / k
    last_of_ties = np.append(s[1:] != s[:-1], True)
    return (k / len(s))[last_of_ties], risk[last_of_ties], s[last_of_ties]


def aurc(scores: np.ndarray, correct: np.ndarray) -> float:
    """Area under the risk-coverage curve (lower is better): the mean risk over all coverages."""
    coverage, risk, _ = risk_coverage(scores, correct)
    return float(np.trapezoid(risk, coverage)) if len(coverage) > 1 else float(risk[0])


def choose_threshold(scores: np.ndarray, correct: np.ndarray, max_risk: float | None = None,
                     coverage: float | None = None) -> dict:
    """The threshold for a target risk or a target coverage (exactly one of them), with what it achieves."""
    if (max_risk is None) == (coverage is None):
        raise ValueError("give exactly one of max_risk and coverage")
    cov, risk, thresholds = risk_coverage(scores, correct)
    if max_risk is not None:
        if not 0 <= max_risk < 1:
            raise ValueError(f"max_risk must be in [0, 1), not {max_risk}")
        ok = np.flatnonzero(risk <= max_risk)
        i = ok[-1] if len(ok) else None
    else:
        if not 0 < coverage <= 1:
            raise ValueError(f"coverage must be in (0, 1], not {coverage}")
        i = int(np.searchsorted(cov, coverage - 1e-12))
        i = min(i, len(cov) - 1)
    if i is None:  # even the single most confident answer is wrong too often: refuse everything
        return {"threshold": float("inf"), "coverage": 0.0, "risk": 0.0,
                "max_risk": max_risk, "target_coverage": coverage}
    return {"threshold": float(thresholds[i]), "coverage": float(cov[i]), "risk": float(risk[i]),
            "max_risk": max_risk, "target_coverage": coverage}


def plot_risk_coverage(curves: dict[str, tuple[np.ndarray, np.ndarray]], path: Path,
                       title: str = "Risk-coverage") -> Path:
    """One line per method: error rate among accepted digits against the share accepted."""
    fig, ax = pyplot().subplots(figsize=(6, 4), dpi=110)
    for name, (coverage, risk) in curves.items():
        ax.plot(coverage, risk, label=name)
    ax.set(xlabel="coverage (share of digits answered)", ylabel="risk (error rate among answered)",
           title=title, xlim=(0.9, 1.0))
    ax.set_ylim(bottom=0)
    ax.legend()
    fig.tight_layout()
    return save(fig, path)
