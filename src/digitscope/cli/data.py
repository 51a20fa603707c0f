"""``digitscope data``: fetch datasets and list what is cached."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from .common import JSON, console, emit, reports_errors


@reports_errors()
def fetch(name: str = typer.Argument(..., help="dataset name (see `digitscope data list`)"),
          source: Path = typer.Option(None, "--from", help="read it from this file or folder (an official release "
                                                           "downloaded by hand), replacing what is cached"),
          as_json: bool = JSON) -> None:
    """Download (or read from a local source) and cache every split of a dataset."""
    from .. import data

    splits = data.fetch(name, source)
    out = {s: {"n": len(a), "shape": list(a.images.shape), "checksum": a.checksum} for s, a in splits.items()}
    emit({"dataset": name, "splits": out, "cache": str(data.data_dir())}, as_json,
         lambda o: [console.print(f"{name}:{s}  {v['shape']}  sha256 {v['checksum'][:16]}…")
                    for s, v in o["splits"].items()])


def list_datasets(as_json: bool = JSON) -> None:
    """What datasets exist, and what is cached (sizes, checksums)."""
    from .. import data

    available = [{"name": d.name, "splits": list(d.splits), "trainable": d.trainable, "description": d.description}
                 for d in data.list_datasets()]
    cached = data.describe_cache()

    def render(_):
        table = Table("dataset", "splits", "use", "description", title="Datasets")
        for d in available:
            table.add_row(d["name"], ", ".join(d["splits"]), "train+eval" if d["trainable"] else "eval only",
                          d["description"])
        console.print(table)
        table = Table("cached", "shape", "MiB", "sha256", "verified", title=f"Cache: {data.data_dir()}")
        for c in cached:
            table.add_row(f"{c['dataset']}:{c['split']}", str(c["shape"]), f"{c['bytes'] / 2**20:.1f}",
                          c["checksum"][:16] + "…", str(c.get("verified")))
        console.print(table)

    emit({"datasets": available, "cached": cached, "cache": str(data.data_dir())}, as_json, render)
