"""Saved models: safetensors weights + a JSON card beside them. Never pickle (a pickle runs code on load).

``NAME.safetensors`` holds the state dict; ``NAME.json`` holds the card (``card.ModelCard``): architecture and
its arguments, the training config, data checksums, seed, metrics, code version and the command.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from ..io import atomic_path, file_sha256
from ..version import __version__
from .card import ModelCard

if TYPE_CHECKING:  # PyTorch is imported by what needs it: reading a card, or running a compiled graph, does not
    import torch

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


def int8_path(stem: Path) -> Path:
    """Where a saved model's int8 graph is kept, if it has one (``digitscope export --quantize int8 --out`` it)."""
    return Path(stem).with_suffix(".int8.onnx")


# An exported graph's metadata key for the digest of the weights it was made from: a graph kept beside a model
# (its int8 graph) is refused once the weights beside it are no longer those.
WEIGHTS_DIGEST_KEY = "digitscope_weights_sha256"


def weights_digest(stem: Path) -> str:
    return file_sha256(weights_path(stem))


def save_tensors(path: Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str] | None = None) -> None:
    from safetensors.torch import save_file

    with atomic_path(Path(path)) as tmp:
        save_file({k: v.detach().contiguous().cpu() for k, v in tensors.items()}, str(tmp), metadata=metadata)


def read_card(stem: Path) -> ModelCard:
    path = card_path(stem)
    if not path.exists():
        raise FileNotFoundError(f"no model card at {path} (a saved model is NAME.safetensors + NAME.json)")
    return ModelCard.from_json(path)


def write_card(stem: Path, card: ModelCard) -> None:
    with atomic_path(card_path(stem)) as tmp:
        tmp.write_text(card.to_json())
