"""Training losses, chosen by name in the training config.

- ``ce``: cross-entropy (with the config's label smoothing).
- ``numerical`` (the numerical-loss paper, Suzuki et al. 2021, Algorithm 1 / equation 1):
  ``beta * CE + (1 - beta) * alpha * |v_true - sum_i p_i v_i|``, cross-entropy plus the distance between the true
  digit's value and the value the probabilities expect, so that mistakes, when they happen, are numerically small.
- ``cost``: cross-entropy plus ``cost_weight`` times the expected cost ``sum_j p_j C[true][j]`` of a cost
  matrix (``--cost``, see ``digitscope.costs``): probability mass on expensive answers is pushed down most.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..costs import parse_cost

LOSSES = ("ce", "numerical", "cost")


def class_values(spec: str, num_classes: int) -> torch.Tensor:
    """The value of each class: '' = 0..K-1, or a comma-separated list (other numeral sets, other orders)."""
    if not spec:
        return torch.arange(num_classes, dtype=torch.float32)
    values = [float(v) for v in spec.split(",")]
    if len(values) != num_classes:
        raise ValueError(f"--values gives {len(values)} values for {num_classes} classes")
    return torch.tensor(values)


def make_loss(cfg, num_classes: int):
    """Return ``loss(logits (N, K), targets (N,)) -> scalar`` for the config's ``loss`` and its options."""
    def ce(logits, y):
        return F.cross_entropy(logits, y, label_smoothing=cfg.label_smoothing)

    if cfg.loss == "ce":
        return ce
    if cfg.loss == "numerical":
        if not 0 <= cfg.beta <= 1:
            raise ValueError(f"--beta must be between 0 and 1, not {cfg.beta}")
        values = class_values(cfg.values, num_classes)

        def numerical(logits, y):
            v = values.to(logits.device)
            expected = torch.softmax(logits, dim=1) @ v  # (N,) the value the probabilities expect
            return cfg.beta * ce(logits, y) + (1 - cfg.beta) * cfg.alpha * (v[y] - expected).abs().mean()

        return numerical
    if cfg.loss == "cost":
        if not cfg.cost:
            raise ValueError("--loss cost needs a cost matrix: --cost numeric, --cost '1->7=5,7->1=5' or a file")
        cost = torch.from_numpy(parse_cost(cfg.cost, num_classes)).float()

        def cost_sensitive(logits, y):
            expected_cost = (torch.softmax(logits, dim=1) * cost.to(logits.device)[y]).sum(1)  # (N,)
            return ce(logits, y) + cfg.cost_weight * expected_cost.mean()

        return cost_sensitive
    raise ValueError(f"unknown loss {cfg.loss!r}; choose one of: {', '.join(LOSSES)}")


__all__ = ["LOSSES", "class_values", "make_loss"]
