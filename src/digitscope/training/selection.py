"""Which epoch a run keeps: chosen on validation, never on test."""

from __future__ import annotations

SELECTION_RULES = ("best", "one-se", "last")


def is_selected(accuracy: float, best_accuracy: float, n_val: int, rule: str) -> bool:
    """Does this (latest) epoch become the saved model?

    'best': only a new best validation accuracy. 'one-se': any epoch within one standard error
    (sqrt(p(1-p)/n)) of the best so far — differences that small are noise on a 5,000-image split,
    and among indistinguishable epochs the latest, most annealed one is preferred (Breiman's rule).
    'last': every epoch, so the last one (a final fit)."""
    if rule == "last":
        return True
    if rule == "best":
        return accuracy >= best_accuracy
    if rule == "one-se":
        se = (best_accuracy * (1 - best_accuracy) / n_val) ** 0.5
        return accuracy >= best_accuracy - se
    raise ValueError(f"unknown selection rule {rule!r}; choose {', '.join(SELECTION_RULES)}")
