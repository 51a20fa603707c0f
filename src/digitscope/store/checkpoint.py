"""Resumable training state without pickle: tensors into safetensors, everything else into JSON.

Optimizer and scheduler state dicts are nested dicts/lists of tensors and plain values (with int keys);
``flatten_state`` replaces each tensor by a reference and records dict keys with their types, so
``restore_state`` gives back exactly what ``state_dict()`` produced.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors import safe_open

from .saved import save_tensors


def flatten_state(obj, prefix: str, tensors: dict[str, torch.Tensor]):
    if isinstance(obj, torch.Tensor):
        tensors[prefix] = obj
        return {"tensor": prefix}
    if isinstance(obj, dict):
        return {"dict": [[k, flatten_state(v, f"{prefix}.{k}", tensors)] for k, v in obj.items()]}
    if isinstance(obj, list | tuple):
        return {"list": [flatten_state(v, f"{prefix}.{i}", tensors) for i, v in enumerate(obj)]}
    return {"value": obj}


def restore_state(node, tensors: dict[str, torch.Tensor]):
    if "tensor" in node:
        return tensors[node["tensor"]]
    if "dict" in node:
        return {k: restore_state(v, tensors) for k, v in node["dict"]}
    if "list" in node:
        return [restore_state(v, tensors) for v in node["list"]]
    return node["value"]


def save_checkpoint(path: Path, state: dict) -> None:
    """``state``: any nesting of dicts/lists/tensors/JSON values, written as ONE safetensors file (the
    skeleton rides in its metadata), atomically: an interruption leaves the previous checkpoint intact."""
    tensors: dict[str, torch.Tensor] = {}
    skeleton = flatten_state(state, "s", tensors)
    save_tensors(Path(path), tensors, metadata={"skeleton": json.dumps(skeleton)})


def load_checkpoint(path: Path) -> dict:
    with safe_open(str(path), framework="pt") as f:
        skeleton = json.loads(f.metadata()["skeleton"])
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    return restore_state(skeleton, tensors)
