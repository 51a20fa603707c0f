"""Evaluate a model on a dataset split: the metrics, and optionally the figures beside them."""

from __future__ import annotations

from pathlib import Path

from .. import data
from .metrics import classification_report


def evaluate(model, spec: str = "mnist:test", figures: Path | None = None) -> dict:
    """``model``: anything with ``predict_proba(uint8 N x 28 x 28)``; ``spec``: 'dataset:split'."""
    arrays = data.load(spec)
    report = {"data": spec, "data_checksum": arrays.checksum,
              **classification_report(arrays.labels, model.predict_proba(arrays.images))}
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
