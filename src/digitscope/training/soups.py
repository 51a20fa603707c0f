"""A soup: the weights of several fine-tunes of one network averaged into one network (Wortsman et al. 2022,
"Model soups"). Fine-tuned from the same starting weights, the runs stay in one basin, where their average reads
about as an ensemble of them would, at the cost of a single network; networks trained apart do not average.

    digitscope soup runs/a runs/b runs/c --greedy-on mnist-cvl:val --out runs/soup

Greedy (``--greedy-on SPEC``): the ingredients in order of their accuracy on SPEC, each kept only if the soup
with it reads SPEC at least as well as without; SPEC is a validation split, never one trained on or tested on.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ..data import catalog
from ..models import count_parameters
from ..models.persist import load_model, save_model
from ..runtime import default_device, resolve_precision
from ..store.bundled import resolve_model_path
from ..store.card import ModelCard, shared_training_data
from ..store.saved import code_version
from .loop import evaluate_logits


def average_weights(states: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """The mean of each floating-point tensor (BatchNorm's running statistics included); counters from the
    first."""
    return {k: torch.stack([s[k].float() for s in states]).mean(0).to(v.dtype) if v.is_floating_point() else v
            for k, v in states[0].items()}


def make_soup(paths: list[str | Path], out: Path, greedy_on: str | None = None, command: str = "") -> ModelCard:
    """Average the weights of the saved models ``paths`` (greedily chosen on ``greedy_on`` when given) into
    ``out`` (``out.safetensors`` + ``out.json``); returns its card."""
    if len(paths) < 2:
        raise ValueError(f"a soup needs at least 2 ingredients, got {len(paths)}")
    loaded = [load_model(resolve_model_path(p)) for p in paths]
    cards = [card for _, card in loaded]
    if len({(c.arch, repr(c.arch_kwargs)) for c in cards}) > 1:
        raise ValueError("a soup averages networks of one architecture; these differ: "
                         + ", ".join(sorted({c.arch for c in cards})))
    if any(c.members or c.parts or c.specialists for c in cards):
        raise ValueError("a soup averages single networks, not ensembles, gates or specialist bundles")
    starts = {c.config.get("init") for c in cards}
    if len(starts) > 1 or not starts.pop():
        raise ValueError("a soup averages fine-tunes of one network (each trained with the same --init); networks "
                         "trained apart do not average")
    shared = shared_training_data(cards, "a soup's ingredients")
    # What every ingredient's card says of its data: the images, but not how often each part was drawn
    # (--part-weights), which may differ from one fine-tune to the next.
    data = {k: v for k, v in shared.items() if all(c.data.get(k) == v for c in cards)}
    model = loaded[0][0]
    chosen = list(range(len(paths)))
    report = {}
    if greedy_on:
        chosen, report = _greedy(model, [m.state_dict() for m, _ in loaded], greedy_on, data)
    model.load_state_dict(average_weights([loaded[k][0].state_dict() for k in chosen]))
    card = ModelCard(
        arch=cards[0].arch, arch_kwargs=cards[0].arch_kwargs, config={"init": cards[0].config["init"]},
        members=[{"path": str(paths[k]), "seed": cards[k].seed, "metrics": cards[k].metrics.get("selected"),
                  "command": cards[k].command} for k in chosen],
        data=data, metrics={"soup": report} if report else {}, parameters=count_parameters(model),
        code_version=code_version(), command=command,
    )
    return save_model(Path(out), model, card)


def _greedy(model: torch.nn.Module, states: list[dict], spec: str, data: dict) -> tuple[list[int], dict]:
    """Greedy soup on validation ``spec``: the ingredients kept, and each one's accuracy there, alone and in
    the soup as it was tried."""
    arrays = catalog.load(spec)
    if spec == data.get("train") or arrays.checksum == data.get("train_checksum"):
        raise ValueError(f"{spec} is what the ingredients trained on; choose the soup on validation")
    images, labels = torch.from_numpy(arrays.images).unsqueeze(1), torch.from_numpy(arrays.labels)
    device = default_device()
    precision = resolve_precision("auto", device)

    def accuracy(ks: list[int]) -> float:
        model.load_state_dict(average_weights([states[k] for k in ks]))
        return (evaluate_logits(model.to(device), images, precision, device).argmax(1) == labels).float().mean().item()

    alone = [accuracy([k]) for k in range(len(states))]
    order = sorted(range(len(states)), key=lambda k: -alone[k])
    kept, best, tried = [order[0]], alone[order[0]], []
    for k in order[1:]:
        with_k = accuracy([*kept, k])
        tried.append(round(with_k, 6))
        if with_k >= best:
            kept, best = [*kept, k], with_k
    return kept, {"on": spec, "alone": [round(a, 6) for a in alone], "order": order, "tried": tried,
                  "val_accuracy": round(best, 6)}
