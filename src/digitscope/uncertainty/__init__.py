"""Knowing when the model does not know: confidence scores here; MC dropout, calibration, the gate and
out-of-distribution sets in their modules (they need PyTorch, which answering from a compiled graph does not)."""

from ..inference.scores import (
    SCORES,
    digit_confidence,
    energy,
    entropy,
    margin,
    max_logit,
    max_probability,
    member_disagreement,
    mutual_information,
    softmax,
)

__all__ = ["SCORES", "digit_confidence", "energy", "entropy", "margin", "max_logit", "max_probability",
           "member_disagreement", "mutual_information", "softmax"]
