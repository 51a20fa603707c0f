"""Evaluate a model on a dataset split: the metrics, and optionally the figures beside them."""

from __future__ import annotations

from pathlib import Path

from .. import data
from .metrics import classification_report


def evaluate(model, spec: str = "mnist:test", figures: Path | None = None) -> dict:
    """``model``: anything with ``predict_proba(uint8 N x 28 x 28)``; ``spec``: 'dataset:split'."""
    from ..inference.scores import digit_confidence
    from ..labels import NOT_A_DIGIT
    from ..uncertainty.calibration import calibration_report
    from ..uncertainty.reject import aurc

    arrays = data.load(spec)
    probs = model.predict_proba(arrays.images)
    answers = model.decide(probs) if hasattr(model, "decide") else probs.argmax(1)
    # Accuracy is that of the digit each answer gives (``Prediction.digit``). A refusal ("uncertain", or "not
    # a digit" from an 11-class model) still gives its best digit and counts in the selective figures below, the
    # share of digits answered; ``accuracy_not_a_digit_wrong`` counts a "not a digit" answer as an error instead.
    digits = model.best_digit(probs) if hasattr(model, "best_digit") else answers
    correct = digits == arrays.labels
    knows_not_a_digit = probs.shape[1] > NOT_A_DIGIT
    report = {"data": spec, "data_checksum": arrays.checksum,
              **classification_report(arrays.labels, probs, y_pred=digits, cost=getattr(model, "cost", None)),
              "calibration": calibration_report(probs, arrays.labels),
              "aurc": aurc(digit_confidence(probs), correct)}
    if knows_not_a_digit:
        report["not_a_digit_rate"] = float((answers == NOT_A_DIGIT).mean())
        report["accuracy_not_a_digit_wrong"] = float((answers == arrays.labels).mean())
    rule = model.card.reject if hasattr(model, "card") else None
    if rule:  # the model's own reject rule, chosen on validation, applied as predict applies it
        accepted = ~model.is_uncertain(probs) & (answers != NOT_A_DIGIT)
        report["selective"] = {"coverage": float(accepted.mean()),
                               "risk": float((~correct[accepted]).mean()) if accepted.any() else 0.0,
                               "threshold": rule["threshold"], "max_risk": rule.get("max_risk")}
    if figures is not None:
        from .plots import plot_confusion, plot_error_histogram

        figures = Path(figures)
        figures.mkdir(parents=True, exist_ok=True)
        report["figures"] = {
            "confusion": str(plot_confusion(report["confusion_matrix"], figures / "confusion.png",
                                            f"Confusion on {spec}")),
            "error_histogram": str(plot_error_histogram(report["error_magnitude_histogram"],
                                                        figures / "error_histogram.png")),
        }
    return report
