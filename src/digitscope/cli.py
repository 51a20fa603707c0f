"""The ``digitscope`` command: a thin layer over the library. Every command takes ``--json``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(help="Read handwritten digits from real images.", no_args_is_help=True,
                  pretty_exceptions_enable=False, add_completion=False)
data_app = typer.Typer(help="Fetch and inspect datasets.", no_args_is_help=True)
app.add_typer(data_app, name="data")
console = Console()
err_console = Console(stderr=True)

JSON = typer.Option(False, "--json", help="machine-readable output")
MODEL = typer.Option("default", "--model", "-m", help="a bundled model name (default) or a saved model path")


def _emit(obj, as_json: bool, render) -> None:
    if as_json:
        sys.stdout.write(json.dumps(obj, indent=None) + "\n")
    else:
        render(obj)


def _fail(message: str) -> None:
    err_console.print(f"[red]error:[/red] {message}")
    raise typer.Exit(2)


@app.command()
def models(as_json: bool = JSON) -> None:
    """List the architectures of the registry and the bundled models."""
    from .classifier import BUNDLED, resolve_model_path
    from .models import count_parameters, create_model, list_models
    from .saved import read_card

    rows = [{"name": m.name, "parameters": count_parameters(create_model(m.name)), "description": m.description}
            for m in list_models()]
    bundled = []
    for name in BUNDLED:
        card = read_card(resolve_model_path(name))
        bundled.append({"name": name, "arch": card["arch"], "metrics": card.get("metrics", {})})

    def render(_):
        table = Table("architecture", "parameters", "description", title="Architectures")
        for r in rows:
            table.add_row(r["name"], f"{r['parameters']:,}", r["description"])
        console.print(table)
        for b in bundled:
            console.print(f"bundled model [bold]{b['name']}[/bold]: {b['arch']}")

    _emit({"architectures": rows, "bundled": bundled}, as_json, render)


@data_app.command("fetch")
def data_fetch(name: str = typer.Argument(..., help="dataset name (see `digitscope data list`)"),
               as_json: bool = JSON) -> None:
    """Download (or read from a local source) and cache every split of a dataset."""
    from . import data

    try:
        splits = data.fetch(name)
    except (ValueError, data.DataUnavailableError) as exc:
        _fail(str(exc))
    out = {s: {"n": len(a), "shape": list(a.images.shape), "checksum": a.checksum} for s, a in splits.items()}
    _emit({"dataset": name, "splits": out, "cache": str(data.data_dir())}, as_json,
          lambda o: [console.print(f"{name}:{s}  {v['shape']}  sha256 {v['checksum'][:16]}…")
                     for s, v in o["splits"].items()])


@data_app.command("list")
def data_list(as_json: bool = JSON) -> None:
    """What datasets exist, and what is cached (sizes, checksums)."""
    from . import data

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

    _emit({"datasets": available, "cached": cached, "cache": str(data.data_dir())}, as_json, render)


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True,
                               "help_option_names": []})
def train(ctx: typer.Context) -> None:
    """Train a model: every training option is a flag (see `digitscope train --help`)."""
    from .train import main

    raise typer.Exit(main(list(ctx.args)))


@app.command()
def evaluate(model: str = MODEL,
             data_spec: str = typer.Option("mnist:test", "--data", help="dataset:split, e.g. mnist:test"),
             figures: Path | None = typer.Option(None, help="folder for confusion.png and error_histogram.png"),
             as_json: bool = JSON) -> None:
    """Accuracy, error rate, log loss, per-class precision/recall, confusion and numeric errors."""
    from . import data
    from .analysis import evaluate as run_evaluation
    from .classifier import load

    try:
        clf = load(model)
        report = run_evaluation(clf, data_spec, figures)
    except (ValueError, FileNotFoundError, data.DataUnavailableError) as exc:
        _fail(str(exc))

    def render(r):
        console.print(f"[bold]{model}[/bold] on {data_spec}: accuracy {r['accuracy']:.4%}  "
                      f"({r['errors']} errors of {r['n']})  log loss {r['log_loss']:.4f}")
        console.print(f"numeric error per image {r['numeric_error_per_image']:.4f}, per misidentified "
                      f"image {r['numeric_error_per_misidentified']:.3f}")
        for name, path in r.get("figures", {}).items():
            console.print(f"{name}: {path}")

    _emit(report, as_json, render)


@app.command()
def predict(images: list[Path] = typer.Argument(..., help="image files: PNG, JPEG, BMP, GIF, TIFF, WebP"),
            model: str = MODEL, as_json: bool = JSON) -> None:
    """Read one digit from each image. Exit code 1 when any file could not be read."""
    from .classifier import load

    try:
        clf = load(model)
    except (ValueError, FileNotFoundError) as exc:
        _fail(str(exc))
    results = [r.to_dict() for r in clf.predict_files(images)]
    if as_json:
        for r in results:
            sys.stdout.write(json.dumps(r) + "\n")
    else:
        for r in results:
            if r.get("error"):
                err_console.print(f"[red]error:[/red] {r['error']}")
            elif r["rejected"]:
                console.print(f"{r['file']}: [yellow]{r['reason'].replace('_', ' ')}[/yellow]")
            else:
                console.print(f"{r['file']}: [bold]{r['digit']}[/bold]  ({r['confidence']:.1%})")
    if any(r.get("error") for r in results):
        raise typer.Exit(1)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
