"""``digitscope models``: the registry's architectures and the bundled models."""

from __future__ import annotations

from rich.table import Table

from .common import JSON, console, emit


def models(as_json: bool = JSON) -> None:
    """List the architectures of the registry and the bundled models."""
    from ..models import count_parameters, create_model, list_models
    from ..store.bundled import BUNDLED, resolve_model_path
    from ..store.saved import read_card

    def size(name: str) -> int | None:
        try:
            return count_parameters(create_model(name))
        except TypeError:  # needs arguments (the ensemble: its members): no size of its own
            return None

    rows = [{"name": m.name, "parameters": size(m.name), "description": m.description} for m in list_models()]
    bundled = []
    for name in BUNDLED:
        card = read_card(resolve_model_path(name))
        bundled.append({"name": name, "arch": card.arch, "metrics": card.metrics,
                        "trained_on": card.data.get("train"), "terms": card.data.get("terms")})

    def render(_):
        table = Table("architecture", "parameters", "description", title="Architectures")
        for r in rows:
            table.add_row(r["name"], "-" if r["parameters"] is None else f"{r['parameters']:,}", r["description"])
        console.print(table)
        for b in bundled:
            console.print(f"bundled model [bold]{b['name']}[/bold]: {b['arch']}, trained on {b['trained_on']}")
            if b["terms"]:
                console.print(f"  terms of its data: {b['terms']}", highlight=False)

    emit({"architectures": rows, "bundled": bundled}, as_json, render)
