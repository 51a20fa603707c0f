"""The models that ship with the package, and how a name or a path becomes a saved model's stem."""

from __future__ import annotations

import shutil
from pathlib import Path

from .saved import weights_path

WEIGHTS_DIR = Path(__file__).parent.parent / "weights"
BUNDLED = ("default", "reading")  # single digits; digits as the Reader cuts them out of a number


def resolve_model_path(name_or_path: str | Path | None) -> Path:
    """A bundled name ('default') or a path: NAME.safetensors, NAME.json, NAME, or a training folder."""
    if name_or_path is None or str(name_or_path) in BUNDLED:
        return WEIGHTS_DIR / (str(name_or_path or "default"))
    path = Path(name_or_path)
    if path.is_dir():
        path = path / "model"
    if path.suffix in (".safetensors", ".json"):
        path = path.with_suffix("")
    if not path.with_suffix(".json").exists():
        raise FileNotFoundError(
            f"no model at {name_or_path}: give a bundled name ({', '.join(BUNDLED)}), a training folder, "
            "or the path of a saved NAME.safetensors with its NAME.json card")
    return path


def writable_stem(name_or_path: str | Path | None, out: str | Path | None = None) -> Path:
    """Where a model goes once something is fitted onto its card (a temperature, a reject rule): the one place
    that decides it. Without ``out``, the model itself, unless it lies in the installed package (a bundled model
    is shared by every user of the package and rewritten by its next install: it is never written to). With
    ``out`` (OUT.safetensors + OUT.json, or OUT/model.* when OUT is a folder), a copy: its weights file is copied
    there now, and the caller writes the new card beside it."""
    source = resolve_model_path(name_or_path)
    target = source if out is None else Path(out) / "model" if Path(out).is_dir() else Path(out)
    if target.resolve().parent.is_relative_to(WEIGHTS_DIR.resolve()):
        raise ValueError(f"{name_or_path or 'default'} is a model installed with the package, which is not written "
                         "to: pass --out OUT to write the fitted model to OUT.safetensors + OUT.json (or OUT/model.* "
                         "when OUT is a folder)")
    if target.resolve() != source.resolve():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(weights_path(source), weights_path(target))
    return target
