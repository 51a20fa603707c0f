"""Saved models: safetensors weights + a JSON card beside them. Never pickle (a pickle runs code on load).

``NAME.safetensors`` holds the state dict; ``NAME.json`` holds the card: architecture and its
arguments, the training config, data checksums, seed, metrics, code version and the command.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from . import __version__
from .data.cache import atomic_path

if TYPE_CHECKING:  # PyTorch is imported by what needs it: reading a card, or running a compiled graph, does not
    import torch
    from torch import nn

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
    from safetensors.torch import save_file

    with atomic_path(Path(path)) as tmp:
        save_file({k: v.detach().contiguous().cpu() for k, v in tensors.items()}, str(tmp), metadata=metadata)


def write_json(path: Path, obj: dict) -> None:
    with atomic_path(Path(path)) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=False) + "\n")


def save_model(stem: Path, model: nn.Module, card: dict) -> None:
    """Write ``stem.safetensors`` and ``stem.json``; the card must name ``arch`` and ``arch_kwargs``."""
    from .models import model_entry

    for key in ("arch", "arch_kwargs"):
        if key not in card:
            raise ValueError(f"a model card needs {key!r}")
    card = {"format": CARD_FORMAT, "reads": model_entry(card["arch"]).reads, **card}
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


def model_reads(card: dict) -> str:
    """What the model reads ('digit', 'sequence'), as its card says; cards written before they said it are
    answered by the registry."""
    if "reads" in card:
        return card["reads"]
    from .models import model_entry

    return model_entry(card["arch"]).reads


def load_model(stem: Path) -> tuple[nn.Module, dict]:
    """Rebuild the architecture named in the card and load its weights; returns (model in eval mode, card)."""
    from safetensors.torch import load_file

    from .models import create_model

    card = read_card(stem)
    model = create_model(card["arch"], **card["arch_kwargs"])
    model.load_state_dict(load_file(str(weights_path(stem))))
    return model.eval(), card
