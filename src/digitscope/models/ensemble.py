"""Deep ensembles (Lakshminarayanan et al. 2017): independently trained members, probabilities averaged.

An ensemble is an architecture like any other, so it saves, loads and exports as one model: its
``forward`` returns the log of the mean member probability, whose softmax is that mean.

Line readers (``linenet``) combine per text, not per column (``line_ensemble``): its ``forward`` returns every member's
column log-probabilities, and ``reading.line_model`` gives a text the geometric mean of the members' CTC probabilities
of it. Seeds trained apart put a digit's spike in neighbouring columns as often as in the same one, so the mean of
their columns can fall to blank where each member read a digit.
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
        """(S, N, K) softmax of each member."""
        return torch.stack([torch.softmax(m(x).float(), dim=1) for m in self.members])

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, K) log mean probability
        return self.member_probabilities(x).mean(0).clamp_min(1e-12).log()


@register_model("deep ensemble: the mean of its members' probabilities (members: [{arch, arch_kwargs}, ...])")
def ensemble(members: list[dict], num_classes: int = 10) -> nn.Module:
    return Ensemble(_create_members(members, num_classes))


def _create_members(members: list[dict], num_classes: int) -> list[nn.Module]:
    if not members:
        raise ValueError("an ensemble needs at least one member")
    return [create_model(m["arch"], **{**m["arch_kwargs"], "num_classes": num_classes}) for m in members]


class LineEnsemble(nn.Module):
    def __init__(self, members: list[nn.Module]):
        super().__init__()
        self.members = nn.ModuleList(members)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, MEMBERS, COLUMNS, K) each member's log-probabilities
        return torch.stack([m(x).float().log_softmax(-1) for m in self.members], 1)


@register_model("deep ensemble of line readers: a text's probability is the geometric mean of its members' (members: "
                "[{arch: linenet, arch_kwargs}, ...])", reads="line")
def line_ensemble(members: list[dict], num_classes: int) -> nn.Module:
    return LineEnsemble(_create_members(members, num_classes))
