"""A saved model as a network: the architecture its card names, rebuilt from the registry, with its weights."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..io import write_json
from ..store.saved import CARD_FORMAT, card_path, read_card, save_tensors, weights_path
from .registry import create_model, model_entry

if TYPE_CHECKING:
    from torch import nn


def save_model(stem: Path, model: nn.Module, card: dict) -> None:
    """Write ``stem.safetensors`` and ``stem.json``; the card must name ``arch`` and ``arch_kwargs``."""
    for key in ("arch", "arch_kwargs"):
        if key not in card:
            raise ValueError(f"a model card needs {key!r}")
    card = {"format": CARD_FORMAT, "reads": model_entry(card["arch"]).reads, **card}
    save_tensors(weights_path(stem), model.state_dict())
    write_json(card_path(stem), card)


def load_model(stem: Path) -> tuple[nn.Module, dict]:
    """Rebuild the architecture named in the card and load its weights; returns (model in eval mode, card)."""
    from safetensors.torch import load_file


    card = read_card(stem)
    model = create_model(card["arch"], **card["arch_kwargs"])
    model.load_state_dict(load_file(str(weights_path(stem))))
    return model.eval(), card
