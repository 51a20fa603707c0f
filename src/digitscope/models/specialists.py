"""A generalist with specialists for its most confused pairs of digits (stacked models, as suggested for digits
written in look-alike variants).

When the generalist's two most probable digits are a pair that has a specialist and its margin
``p1 - p2`` is below ``threshold``, the specialist (a two-class model trained on those two digits alone)
decides how the pair's probability mass is split; every other digit keeps its probability, so the output
is still a probability vector. Like the ensemble, the bundle is an architecture of its own: it saves, loads
and runs as one model, and its ``forward`` returns the log of the routed probabilities.
"""

from __future__ import annotations

import torch
from torch import nn

from .registry import create_model, register_model


def route(probs: torch.Tensor, pairs: torch.Tensor, threshold: float) -> torch.Tensor:
    """(N,) the index of the pair each row goes to, -1 for none.

    probs (N, K): the generalist's probabilities; pairs (P, 2): the digits of each specialist. A row goes to
    pair k when its top two digits are that pair (in either order) and their margin is below ``threshold``."""
    top_p, top_i = probs.topk(2, dim=1)  # (N, 2)
    first, second = top_i[:, :1], top_i[:, 1:]  # (N, 1) each, against (P,) pair digits below
    a, b = pairs[:, 0], pairs[:, 1]
    is_pair = ((first == a) & (second == b)) | ((first == b) & (second == a))  # (N, P): at most one True per row
    close = (top_p[:, 0] - top_p[:, 1]) < threshold  # (N,)
    hit = is_pair & close[:, None]
    return torch.where(hit.any(1), hit.int().argmax(1), torch.full_like(close, -1, dtype=torch.long))


class SpecialistBundle(nn.Module):
    def __init__(self, generalist: nn.Module, specialists: list[nn.Module], pairs: list[list[int]],
                 threshold: float, generalist_temperature: float = 1.0):
        super().__init__()
        self.generalist = generalist
        self.specialists = nn.ModuleList(specialists)
        self.register_buffer("pairs", torch.tensor(pairs, dtype=torch.long).reshape(-1, 2), persistent=False)
        self.threshold = threshold
        # The generalist's own calibration: margins are read on the probabilities its users see.
        self.generalist_temperature = generalist_temperature

    def generalist_probabilities(self, x: torch.Tensor) -> torch.Tensor:  # (N, K)
        return torch.softmax(self.generalist(x).float() / self.generalist_temperature, dim=1)

    def combine(self, x: torch.Tensor, probs: torch.Tensor, threshold: float) -> tuple[torch.Tensor, torch.Tensor]:
        """(routed probabilities (N, K), pair index per row (N,), -1 where the generalist kept its answer).
        Each specialist runs on the rows routed to it only."""
        routed = route(probs, self.pairs, threshold)
        out = probs.clone()
        for k, specialist in enumerate(self.specialists):
            rows = (routed == k).nonzero().squeeze(1)  # (R,)
            split = torch.softmax(specialist(x[rows]).float(), dim=1)  # (R, 2): shares of the pair's two digits
            pair = self.pairs[k]
            mass = probs[rows][:, pair].sum(1, keepdim=True)  # (R, 1)
            out[rows[:, None], pair[None, :]] = mass * split
        return out, routed

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, K) log routed probabilities
        probs, _ = self.combine(x, self.generalist_probabilities(x), self.threshold)
        return probs.clamp_min(1e-12).log()


@register_model("generalist + two-class specialists for its most confused pairs (generalist: {arch, arch_kwargs}, "
                "specialists: [{arch, arch_kwargs, pair}], threshold: the margin below which a pair is routed)")
def specialists(generalist: dict, specialists: list[dict], threshold: float, generalist_temperature: float = 1.0,
                num_classes: int = 10) -> nn.Module:
    pairs = [s["pair"] for s in specialists]
    for pair in pairs:
        if len(pair) != 2 or pair[0] == pair[1] or not all(0 <= d < num_classes for d in pair):
            raise ValueError(f"a specialist's pair must be two different classes of 0-{num_classes - 1}, not {pair}")
    if len({tuple(sorted(p)) for p in pairs}) != len(pairs):
        raise ValueError(f"two specialists for the same pair: {pairs}")
    return SpecialistBundle(
        create_model(generalist["arch"], **{**generalist["arch_kwargs"], "num_classes": num_classes}),
        [create_model(s["arch"], **{**s["arch_kwargs"], "num_classes": 2}) for s in specialists],
        pairs, threshold, generalist_temperature)
