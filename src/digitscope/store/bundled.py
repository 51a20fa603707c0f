"""The models that ship with the package, and how a name or a path becomes a saved model's stem."""

from __future__ import annotations

from pathlib import Path

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
