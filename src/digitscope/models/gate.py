"""A digit reader behind a "not a digit" gate: the most accurate 10-class model decides which digit, an 11-class
model trained with distractors decides whether there is a digit at all.

An 11-class model learns to refuse scribbles, letters and mis-cut fragments, but training it moves its digit
boundaries too (fine-tuned from the 10-class default it reads MNIST test at 99.62-99.68% on the best digit,
against the default's 99.72%). The gate keeps each network to what it does best:

    p(digit d) = (1 - g) * p_reader(d)        p(not a digit) = g = p_detector(10)

so the best digit is always the reader's, and every doubt of the detector lowers the digit confidence that the
one reject rule reads. A detector trained from the reader with its first layers frozen (``--freeze N``) computes
the reader's own features there: the gate then runs those ``shared`` layers once for both, and costs little more
than the reader alone. Like the ensemble, the gate is an architecture of its own: it saves, loads and exports as
one model, and its ``forward`` returns the log of those 11 probabilities.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn

from ..labels import NOT_A_DIGIT
from .registry import create_model, register_model

if TYPE_CHECKING:
    from ..store.card import ModelCard


class NotADigitGate(nn.Module):
    """``shared`` > 0: ``detector`` holds only the layers after the reader's first ``shared`` and reads their output."""

    def __init__(self, reader: nn.Module, detector: nn.Module, shared: int = 0):
        super().__init__()
        self.reader = reader
        self.detector = detector
        self.shared = shared

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, 11) log-probabilities
        if self.shared:
            features = self.reader[:self.shared](x)
            digit_logits, detector_logits = self.reader[self.shared:](features), self.detector(features)
        else:
            digit_logits, detector_logits = self.reader(x), self.detector(x)
        digits = torch.log_softmax(digit_logits.float(), dim=1)  # (N, 10)
        detector = torch.log_softmax(detector_logits.float(), dim=1)  # (N, 11)
        is_digit = torch.logsumexp(detector[:, :NOT_A_DIGIT], dim=1, keepdim=True)  # (N, 1) log(1 - g)
        return torch.cat([digits + is_digit, detector[:, NOT_A_DIGIT:]], dim=1)


@register_model("a 10-class reader behind an 11-class 'not a digit' detector (reader, detector: {arch, arch_kwargs}); "
                "shared=N: the detector reads the reader's first N layers")
def gate(reader: dict, detector: dict, num_classes: int = NOT_A_DIGIT + 1, shared: int = 0) -> nn.Module:
    if num_classes != NOT_A_DIGIT + 1:
        raise ValueError(f"a gate answers the ten digits and 'not a digit' (11 classes), not {num_classes}")
    for role, part, classes, hint in (("reader", reader, NOT_A_DIGIT, "a model of the ten digits"),
                                      ("detector", detector, NOT_A_DIGIT + 1, "trained with --distractors")):
        if part["arch_kwargs"].get("num_classes", 10) != classes:
            raise ValueError(f"the gate's {role} has {part['arch_kwargs'].get('num_classes', 10)} classes; it must "
                             f"have {classes} ({hint})")
    reader_net, detector_net = (create_model(p["arch"], **p["arch_kwargs"]) for p in (reader, detector))
    if shared:
        if not (isinstance(reader_net, nn.Sequential) and isinstance(detector_net, nn.Sequential)
                and 0 < shared < min(len(reader_net), len(detector_net))):
            raise ValueError(f"shared={shared}: a gate can share only the first layers of two stacks of layers, "
                             "and not all of them")
        detector_net = detector_net[shared:]  # keeps the layers' names: its weights load from the full detector's
    return NotADigitGate(reader_net, detector_net, shared)


# A gate's digits are its reader's, and a specialist bundle's are its generalist's: whatever starts from or imitates a
# saved model's digit network (a specialist, a fine-tuning, an embedding) takes that network's architecture and
# weights, found by following the reader and generalist down to a plain network.
_DIGITS_INSIDE = {"gate": "reader", "specialists": "generalist"}


def _digit_path(card: ModelCard) -> tuple[list[str], dict]:
    """The attribute names from a saved model down to its digit network, and that network's arch and arch_kwargs."""
    path, spec = [], {"arch": card.arch, "arch_kwargs": card.arch_kwargs}
    while spec["arch"] in _DIGITS_INSIDE:
        path.append(_DIGITS_INSIDE[spec["arch"]])
        spec = spec["arch_kwargs"][path[-1]]
    return path, spec


def digit_reader_card(card: ModelCard) -> dict:
    """The arch and arch_kwargs of the network that tells a saved model's digits apart, from its card."""
    return _digit_path(card)[1]


def digit_reader(model: nn.Module, card: ModelCard) -> nn.Module:
    """The network that tells a loaded saved model's digits apart."""
    for name in _digit_path(card)[0]:
        model = getattr(model, name)
    return model


def digit_reader_weights(tensors: dict[str, torch.Tensor], card: ModelCard) -> dict[str, torch.Tensor]:
    """The weights of that network from a saved model's, named as in the network itself."""
    prefix = "".join(f"{name}." for name in _digit_path(card)[0])
    return {k.removeprefix(prefix): v for k, v in tensors.items() if k.startswith(prefix)}
