"""Deep ensembles (Lakshminarayanan et al. 2017): independently trained members, probabilities averaged.

An ensemble is an architecture like any other, so it saves, loads and exports as one model: its
``forward`` returns the log of the mean member probability, whose softmax is that mean. Members of a line reader
(``linenet``) average per column: seeds of one recipe read the same ink map with the same receptive field, so their
columns line up (``line_ensemble``).
"""

from __future__ import annotations

import torch
from torch import nn

from .registry import create_model, register_model


class Ensemble(nn.Module):
    def __init__(self, members: list[nn.Module]):
        super().__init__()
        self.members = nn.ModuleList(members)

    def member_probabilities(self, x: torch.Tensor) -> torch.Tensor:
        """(S, N, K) softmax of each member; (S, N, COLUMNS, K) for line readers."""
        return torch.stack([torch.softmax(m(x).float(), dim=-1) for m in self.members])

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, K) or (N, COLUMNS, K) log mean probability
        return self.member_probabilities(x).mean(0).clamp_min(1e-12).log()


@register_model("deep ensemble: the mean of its members' probabilities (members: [{arch, arch_kwargs}, ...])")
def ensemble(members: list[dict], num_classes: int = 10) -> nn.Module:
    if not members:
        raise ValueError("an ensemble needs at least one member")
    return Ensemble([create_model(m["arch"], **{**m["arch_kwargs"], "num_classes": num_classes}) for m in members])


@register_model("deep ensemble of line readers: the mean of its members' probabilities in every column (members: "
                "[{arch: linenet, arch_kwargs}, ...])", reads="line")
def line_ensemble(members: list[dict], num_classes: int) -> nn.Module:
    return ensemble(members, num_classes)
