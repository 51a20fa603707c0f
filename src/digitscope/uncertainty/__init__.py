"""Knowing when the model does not know: confidence scores, MC dropout."""

from .mc_dropout import mc_dropout_proba
from .scores import (
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
           "mc_dropout_proba", "member_disagreement", "mutual_information", "softmax"]
