"""One registry of architectures: ``create_model(name, **kwargs)``, ``list_models()`` (timm-style)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import nn


@dataclass(frozen=True)
class ModelEntry:
    name: str
    builder: Callable[..., nn.Module]
    description: str
    reads: str = "digit"  # "digit": (N, 1, 28, 28) -> (N, classes) logits; "sequence": reading.sequence's model


_MODELS: dict[str, ModelEntry] = {}


def register_model(description: str, reads: str = "digit"):
    """Register a builder under its function name. Builders take keyword arguments only."""

    def wrap(builder: Callable[..., nn.Module]):
        _MODELS[builder.__name__] = ModelEntry(builder.__name__, builder, description, reads)
        return builder

    return wrap


def list_models() -> list[ModelEntry]:
    return sorted(_MODELS.values(), key=lambda m: m.name)


def model_entry(name: str) -> ModelEntry:
    if name not in _MODELS:
        raise ValueError(f"unknown architecture {name!r}; choose one of: {', '.join(sorted(_MODELS))}")
    return _MODELS[name]


def create_model(name: str, **kwargs) -> nn.Module:
    """Build architecture ``name``. A digit model maps (N, 1, 28, 28) floats in [0, 1] to (N, classes) logits; the
    sequence model (``reads='sequence'``) a fixed-size image of a number to ``reading.sequence``'s outputs."""
    return model_entry(name).builder(**kwargs)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
