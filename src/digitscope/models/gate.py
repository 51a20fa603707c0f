"""A digit reader behind a "not a digit" gate: the most accurate 10-class model decides which digit, an 11-class
model trained with distractors decides whether there is a digit at all.

An 11-class model learns to refuse scribbles, letters and mis-cut fragments, but training it moves its digit
boundaries too (fine-tuned from the 10-class default it reads MNIST test at 99.62-99.68% on the best digit,
against the default's 99.72%). The gate keeps each network to what it does best:

    p(digit d) = (1 - g) * p_reader(d)        p(not a digit) = g = p_detector(10)

so the best digit is always the reader's, and every doubt of the detector lowers the digit confidence that the
one reject rule reads. Like the ensemble, the gate is an architecture of its own: it saves, loads and exports as
one model, and its ``forward`` returns the log of those 11 probabilities.
"""

from __future__ import annotations

import torch
from torch import nn

from ..labels import NOT_A_DIGIT
from .registry import create_model, register_model


class NotADigitGate(nn.Module):
    def __init__(self, reader: nn.Module, detector: nn.Module):
        super().__init__()
        self.reader = reader
        self.detector = detector

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, 11) log-probabilities
        digits = torch.log_softmax(self.reader(x).float(), dim=1)  # (N, 10)
        detector = torch.log_softmax(self.detector(x).float(), dim=1)  # (N, 11)
        is_digit = torch.logsumexp(detector[:, :NOT_A_DIGIT], dim=1, keepdim=True)  # (N, 1) log(1 - g)
        return torch.cat([digits + is_digit, detector[:, NOT_A_DIGIT:]], dim=1)


@register_model("a 10-class reader behind an 11-class 'not a digit' detector (reader, detector: {arch, arch_kwargs})")
def gate(reader: dict, detector: dict, num_classes: int = NOT_A_DIGIT + 1) -> nn.Module:
    if num_classes != NOT_A_DIGIT + 1:
        raise ValueError(f"a gate answers the ten digits and 'not a digit' (11 classes), not {num_classes}")
    for role, part, classes, hint in (("reader", reader, NOT_A_DIGIT, "a model of the ten digits"),
                                      ("detector", detector, NOT_A_DIGIT + 1, "trained with --distractors")):
        if part["arch_kwargs"].get("num_classes", 10) != classes:
            raise ValueError(f"the gate's {role} has {part['arch_kwargs'].get('num_classes', 10)} classes; it must "
                             f"have {classes} ({hint})")
    return NotADigitGate(create_model(reader["arch"], **reader["arch_kwargs"]),
                         create_model(detector["arch"], **detector["arch_kwargs"]))
