"""``digitscope ensemble combine``, ``digitscope soup`` and ``digitscope gate``: saved models combined into one saved
model."""

from __future__ import annotations

from pathlib import Path

import typer

from .common import JSON, command_line, console, emit, fail, reports_errors


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


@reports_errors()
def soup(ctx: typer.Context,
         ingredients: list[Path] = typer.Argument(..., help="training folders (or saved models) fine-tuned from the "
                                                            "same --init, on the same data"),
         greedy_on: str | None = typer.Option(None, "--greedy-on", help="a validation split (e.g. mnist-cvl:val): "
                                              "keep only the ingredients that do not make the soup read it worse"),
         out: Path = typer.Option(..., "--out", help="the soup: OUT.safetensors + OUT.json, or OUT/model.* when "
                                                     "OUT is a folder"),
         as_json: bool = JSON) -> None:
    """Average the weights of fine-tunes of one network into one network: about an ensemble's accuracy at one
    network's cost."""
    from ..training.soups import make_soup

    stem = out / "model" if out.is_dir() else out
    card = make_soup(ingredients, stem, greedy_on, command=command_line(ctx))
    emit({"model": str(stem), "ingredients": [m["path"] for m in card.members], "metrics": card.metrics}, as_json,
         lambda r: console.print(f"soup of {len(r['ingredients'])} saved as {r['model']}: "
                                 + ", ".join(r["ingredients"])))


@reports_errors()
def gate(ctx: typer.Context,
         digits: str | None = typer.Option(None, "--digits", help="the 10-class model that decides which digit "
                                                                 "(required)"),
         reader: str | None = typer.Option(None, "--reader", hidden=True, help="the old name of --digits"),
         detector: str = typer.Option(..., "--detector", help="the 11-class model (trained with --distractors) "
                                                              "that decides whether there is a digit"),
         out: Path = typer.Option(..., "--out", help="the gate: OUT.safetensors + OUT.json, or OUT/model.* when "
                                                     "OUT is a folder"),
         as_json: bool = JSON) -> None:
    """Put a digit classifier behind a 'not a digit' detector, saved as one model (then `digitscope fit
    temperature` it)."""
    from ..uncertainty.not_a_digit import combine_gate

    if (digits is None) == (reader is None):
        fail("give the 10-class model once, as --digits")
    digits = digits or reader
    stem = out / "model" if out.is_dir() else out
    card = combine_gate(digits, detector, stem, command=command_line(ctx))
    emit({"model": str(stem), "parts": card.parts, "parameters": card.parameters}, as_json,
         lambda r: console.print(f"gate saved as {r['model']}: digits {digits}, detector {detector}"))
