"""Evaluation: metrics, confusion, figures."""

from .evaluate import evaluate
from .metrics import classification_report, confusion_matrix

__all__ = ["classification_report", "confusion_matrix", "evaluate"]
