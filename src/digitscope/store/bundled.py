"""The models that ship with the package, and how a name or a path becomes a saved model's stem."""

from __future__ import annotations

import shutil
from pathlib import Path

from .saved import weights_path

WEIGHTS_DIR = Path(__file__).parent.parent / "weights"
BUNDLED = ("default", "reading", "amounts")  # single digits; digits as the Reader cuts them out of a number; whole
# lines of written amounts (a line reader)


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


def in_package(path: str | Path) -> bool:
    """Whether ``path`` lies in the installed package: shared by every user of it and rewritten by its next
    install, so nothing fitted is ever written there."""
    return Path(path).resolve().is_relative_to(WEIGHTS_DIR.parent.resolve())


def writable_stem(name_or_path: str | Path | None, out: str | Path | None = None) -> Path:
    """Where a model goes once something is fitted onto its card (a temperature, a reject rule): the one place
    that decides it. Without ``out``, the model itself, unless it is one installed with the package. With
    ``out``, a folder, a copy as OUT/model (so that ``--model OUT`` loads it): its weights are copied there now,
    and the caller writes the new card beside them."""
    source = resolve_model_path(name_or_path)
    target = source if out is None else Path(out) / "model"
    if in_package(target):
        raise ValueError(f"{name_or_path or 'default'} is part of the installed package, which is not written to: "
                         "pass --out DIR to write the fitted model to DIR/model.safetensors + DIR/model.json"
                         if out is None else f"--out {out} is inside the installed package: choose a folder of yours")
    if target.resolve() != source.resolve():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(weights_path(source), weights_path(target))
    return target
