"""``digitscope ensemble``: bundle independently trained members into one model."""

from __future__ import annotations

from pathlib import Path

import typer

from .common import JSON, command_line, console, emit, reports_errors


@reports_errors()
def combine(ctx: typer.Context,
            members: list[Path] = typer.Argument(..., help="training folders (or saved models) of members"),
            out: Path = typer.Option(..., "--out", help="the ensemble: OUT.safetensors + OUT.json, or OUT/model.* "
                                                        "when OUT is a folder"),
            as_json: bool = JSON) -> None:
    """Bundle finished members (e.g. from `train --ensemble N --member K` jobs) into one model."""
    from ..uncertainty.deep_ensemble import combine_members

    stem = out / "model" if out.is_dir() else out
    card = combine_members(members, stem, command=command_line(ctx))
    emit({"model": str(stem), "members": card.members, "parameters": card.parameters}, as_json,
         lambda r: console.print(f"ensemble of {len(r['members'])} members saved as {r['model']}"))
