"""Saved models: safetensors weights + a JSON card beside them. Never pickle (a pickle runs code on load).

``NAME.safetensors`` holds the state dict; ``NAME.json`` holds the card: architecture and its
arguments, the training config, data checksums, seed, metrics, code version and the command.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from ..io import atomic_path
from ..version import __version__

if TYPE_CHECKING:  # PyTorch is imported by what needs it: reading a card, or running a compiled graph, does not
    import torch

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


def read_card(stem: Path) -> dict:
    path = card_path(stem)
    if not path.exists():
        raise FileNotFoundError(f"no model card at {path} (a saved model is NAME.safetensors + NAME.json)")
    card = json.loads(path.read_text())
    if card.get("format") != CARD_FORMAT:
        raise ValueError(f"{path}: not a digitscope model card (format {card.get('format')!r})")
    return card


def model_reads(card: dict) -> str:
    """What the model reads ('digit', 'sequence'), as its card says. Cards written before they said it are older
    than every sequence architecture but one, ``seqnet``; reading it here keeps PyTorch and the architectures
    unimported for a model that runs from its compiled graph."""
    return card.get("reads") or ("sequence" if card["arch"] == "seqnet" else "digit")
