"""Training losses, chosen by name in the training config."""

from __future__ import annotations

import torch.nn.functional as F

LOSSES = ("ce",)


def make_loss(name: str, label_smoothing: float = 0.0):
    """Return ``loss(logits (N, K), targets (N,)) -> scalar``."""
    if name == "ce":
        return lambda logits, y: F.cross_entropy(logits, y, label_smoothing=label_smoothing)
    raise ValueError(f"unknown loss {name!r}; choose one of: {', '.join(LOSSES)}")


__all__ = ["LOSSES", "make_loss"]
