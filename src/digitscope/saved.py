"""Saved models: safetensors weights + a JSON card beside them. Never pickle (a pickle runs code on load).

``NAME.safetensors`` holds the state dict; ``NAME.json`` holds the card: architecture and its
arguments, the training config, data checksums, seed, metrics, code version and the command.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from . import __version__
from .data.cache import atomic_path
from .models import create_model

CARD_FORMAT = "digitscope-model/1"


def code_version() -> str:
    """Package version, plus the git commit when running from a checkout."""
    try:
        sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                             cwd=Path(__file__).parent, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        sha = ""
    return f"{__version__}+{sha}" if sha else __version__


def weights_path(stem: Path) -> Path:
    return Path(stem).with_suffix(".safetensors")


def card_path(stem: Path) -> Path:
    return Path(stem).with_suffix(".json")


def save_tensors(path: Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str] | None = None) -> None:
    with atomic_path(Path(path)) as tmp:
        save_file({k: v.detach().contiguous().cpu() for k, v in tensors.items()}, str(tmp), metadata=metadata)


def write_json(path: Path, obj: dict) -> None:
    with atomic_path(Path(path)) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=False) + "\n")


def save_model(stem: Path, model: nn.Module, card: dict) -> None:
    """Write ``stem.safetensors`` and ``stem.json``; the card must name ``arch`` and ``arch_kwargs``."""
    card = {"format": CARD_FORMAT, **card}
    for key in ("arch", "arch_kwargs"):
        if key not in card:
            raise ValueError(f"a model card needs {key!r}")
    save_tensors(weights_path(stem), model.state_dict())
    write_json(card_path(stem), card)


def read_card(stem: Path) -> dict:
    path = card_path(stem)
    if not path.exists():
        raise FileNotFoundError(f"no model card at {path} (a saved model is NAME.safetensors + NAME.json)")
    card = json.loads(path.read_text())
    if card.get("format") != CARD_FORMAT:
        raise ValueError(f"{path}: not a digitscope model card (format {card.get('format')!r})")
    return card


def load_model(stem: Path) -> tuple[nn.Module, dict]:
    """Rebuild the architecture named in the card and load its weights; returns (model in eval mode, card)."""
    card = read_card(stem)
    model = create_model(card["arch"], **card["arch_kwargs"])
    model.load_state_dict(load_file(str(weights_path(stem))))
    return model.eval(), card
