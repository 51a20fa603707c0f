"""A saved model as a network: the architecture its card names, rebuilt from the registry, with its weights."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..store.card import CARD_FORMAT, ModelCard
from ..store.saved import read_card, save_tensors, weights_path, write_card
from .registry import create_model, model_entry

if TYPE_CHECKING:
    from torch import nn


def save_model(stem: Path, model: nn.Module, card: ModelCard | dict) -> ModelCard:
    """Write ``stem.safetensors`` and ``stem.json``; the card must name ``arch`` and ``arch_kwargs``. Returns the
    card as written (with its format and what the architecture reads).

    A plain dict is taken too, through ``ModelCard.from_dict``: the training loop builds its card as one."""
    as_dict = card.to_dict() if isinstance(card, ModelCard) else card
    for key in ("arch", "arch_kwargs"):
        if key not in as_dict:
            raise ValueError(f"a model card needs {key!r}")
    written = ModelCard.from_dict({"format": CARD_FORMAT, "reads": model_entry(as_dict["arch"]).reads, **as_dict})
    save_tensors(weights_path(stem), model.state_dict())
    write_card(stem, written)
    return written


def load_model(stem: Path) -> tuple[nn.Module, ModelCard]:
    """Rebuild the architecture named in the card and load its weights; returns (model in eval mode, card)."""
    from safetensors.torch import load_file

    card = read_card(stem)
    model = create_model(card.arch, **card.arch_kwargs)
    model.load_state_dict(load_file(str(weights_path(stem))))
    return model.eval(), card
