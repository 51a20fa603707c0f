"""``digitscope predict`` (one digit per image), ``read`` (a whole number per image, or a batch job to a file)
and ``evaluate`` (a model on a labelled split)."""

from __future__ import annotations

from pathlib import Path

import typer

from .common import (
    BACKEND,
    COST,
    DECISION,
    JSON,
    MC_HELP,
    MODEL,
    READ_MODEL,
    console,
    emit,
    emit_per_file,
    err_console,
    fail,
    reports_errors,
)


@reports_errors()
def evaluate(model: str = MODEL,
             data_spec: str = typer.Option("mnist:test", "--data", help="dataset:split, e.g. mnist:test"),
             figures: Path | None = typer.Option(None, help="folder for confusion.png and error_histogram.png"),
             mc_samples: int = typer.Option(0, "--mc-samples", help=MC_HELP),
             decision: str | None = DECISION, cost: str | None = COST,
             as_json: bool = JSON) -> None:
    """Accuracy, error rate, log loss, per-class precision/recall, confusion, numeric errors and (with a cost
    matrix) the mean cost per image."""
    from ..analysis import evaluate as run_evaluation
    from ..inference.classifier import load

    clf = load(model, mc_samples=mc_samples, decision=decision, cost=cost)
    report = run_evaluation(clf, data_spec, figures)

    def render(r):
        console.print(f"[bold]{model}[/bold] on {data_spec}: accuracy {r['accuracy']:.4%}  "
                      f"({r['errors']} errors of {r['n']})  log loss {r['log_loss']:.4f}")
        console.print(f"numeric error per image {r['numeric_error_per_image']:.4f}, per misidentified "
                      f"image {r['numeric_error_per_misidentified']:.3f}")
        if "mean_cost" in r:
            console.print(f"mean cost per image {r['mean_cost']:.4f} (decision: {clf.decision})")
        console.print(f"ECE {r['calibration']['ece']:.4f}  NLL {r['calibration']['nll']:.4f}  AURC {r['aurc']:.5f}")
        if "selective" in r:
            console.print(f"reject rule: answers {r['selective']['coverage']:.2%} of images, "
                          f"{r['selective']['risk']:.3%} of those wrong")
        for name, path in r.get("figures", {}).items():
            console.print(f"{name}: {path}")

    emit(report, as_json, render)


@reports_errors()
def predict(images: list[Path] = typer.Argument(..., help="image files: PNG, JPEG, BMP, GIF, TIFF, WebP"),
            model: str = MODEL, mc_samples: int = typer.Option(0, "--mc-samples", help=MC_HELP),
            decision: str | None = DECISION, cost: str | None = COST, backend: str = BACKEND,
            as_json: bool = JSON) -> None:
    """Read one digit from each image. Exit code 1 when any file could not be read."""
    from ..inference.classifier import load

    clf = load(model, mc_samples=mc_samples, decision=decision, cost=cost, backend=backend)
    emit_per_file([r.to_dict() for r in clf.predict_files(images)], as_json, lambda r: (
        f"{r['file']}: [yellow]{r['reason'].replace('_', ' ')}[/yellow]" if r["rejected"]
        else f"{r['file']}: [bold]{r['digit']}[/bold]  ({r['confidence']:.1%})"))


ENGINES = ("local", "ray")
LINE_MODEL = typer.Option(None, "--line-model", help="a line reader that reads the whole line as well (e.g. "
                                                      "amounts, for cheque amounts): the text both readers find "
                                                      "likeliest wins, and its own reject rule decides")


@reports_errors(FileExistsError, ImportError)
def read(images: list[str] = typer.Argument(..., help="image files: PNG, JPEG, BMP, GIF, TIFF, WebP; with --out "
                                                        "also directories, quoted globs and (Ray) s3:// prefixes"),
         model: str = READ_MODEL,
         expect_length: int | None = typer.Option(None, "--expect-length", min=1, max=100,
                                                  help="the number has exactly this many digits"),
         charset: str | None = typer.Option(None, "--charset", help="the digits it may contain, e.g. 01"),
         max_risk: float | None = typer.Option(None, "--max-risk", min=0.0, max=0.999,
                                               help="refuse numbers by the number's own reject rule, answering "
                                                    "as many as keeps this share of them wrong (e.g. 0.01); "
                                                    "default: refuse a number when one of its digits is unsure"),
         line_model: str | None = LINE_MODEL,
         backend: str = BACKEND,
         out: Path | None = typer.Option(None, "--out", help="batch job: append one JSON line per image to this "
                                                             "file as it goes, with progress on stderr"),
         workers: int | None = typer.Option(None, "--workers", min=0, help="with --out: decoding processes "
                                            "(0: in this process; default one per core), or Ray worker actors "
                                            "(fewer than the cluster's CPUs; default one less)"),
         batch_size: int = typer.Option(64, "--batch-size", min=1, help="with --out: images per classifier call"),
         resume: bool = typer.Option(False, "--resume", help="with --out: skip the images the file already holds"),
         engine: str = typer.Option("local", "--engine", help="with --out: local (this machine) or ray "
                                                             "(Ray Data; RAY_ADDRESS names the cluster)"),
         as_json: bool = JSON) -> None:
    """Read the whole number in each image, with a box around every digit. Exit code 1 when any file could
    not be read."""
    from ..inference.classifier import load
    from ..reading import Reader
    from ..reading.batch import read_batch

    if out is not None:
        _read_to_file(images, out, model, expect_length, charset, max_risk, line_model, backend, workers, batch_size,
                      resume, engine, as_json)
        return
    if engine != "local" or resume or workers is not None:
        fail("--engine, --workers and --resume belong to batch jobs: add --out results.jsonl")
    if any(Path(i).is_dir() for i in images):
        fail("a directory is read as a batch job: add --out results.jsonl")
    reader = Reader(load(model, backend=backend), max_risk=max_risk, line_model=line_model)
    emit_per_file(read_batch(reader, images, expect_length=expect_length, charset=charset), as_json,
                  _describe_reading)


def _describe_reading(r: dict) -> str:
    if r["reason"] == "not_a_digit":
        guess = f" (best guess {r['text']})" if r["text"] else ""
        return f"{r['file']}: [yellow]no number found[/yellow]{guess}"
    boxes = "  ".join(f"{d['digit']}@{','.join(map(str, d['box']))}" for d in r["digits"])
    verdict = f"[yellow]{r['reason']}[/yellow]" if r["rejected"] else f"{r['confidence']:.1%}"
    written = r.get("text_with_separators") or r["text"]  # as written, separators kept: 1.990 for 1990
    shown = r["text"] if written == r["text"] else f"{r['text']} ({written})"
    return f"{r['file']}: [bold]{shown}[/bold]  ({verdict})  {boxes}"


def _read_to_file(sources: list[str], out: Path, model: str, expect_length: int | None, charset: str | None,
                  max_risk: float | None, line_model: str | None, backend: str, workers: int | None,
                  batch_size: int, resume: bool, engine: str, as_json: bool) -> None:
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from ..inference.classifier import load
    from ..reading import Reader
    from ..reading.batch import read_to_jsonl
    from ..reading.ray_engine import read_to_jsonl_ray

    if engine not in ENGINES:
        fail(f"--engine must be {' or '.join(ENGINES)}, got {engine!r}")
    if engine == "ray" and backend != "auto":
        fail("--backend is for --engine local; Ray's workers load the model with its default backend")
    columns = (SpinnerColumn(), TextColumn("{task.completed} images read, {task.fields[errors]} errors, "
                                           "{task.fields[rate]:.0f} images/s"), TimeElapsedColumn())
    with Progress(*columns, console=err_console, transient=as_json) as progress:
        task = progress.add_task("read", total=None, errors=0, rate=0.0)
        started = progress.get_time()

        def on_batch(lines: int, errors: int) -> None:
            done = progress.tasks[0].completed + lines
            progress.update(task, advance=lines, errors=progress.tasks[0].fields["errors"] + errors,
                            rate=done / max(progress.get_time() - started, 1e-9))

        options = {"batch_size": batch_size, "resume": resume, "expect_length": expect_length, "charset": charset,
                   "on_batch": on_batch}
        if engine == "ray":
            summary = read_to_jsonl_ray(sources, out, model, concurrency=workers, max_risk=max_risk,
                                        line_model=line_model, **options)
        else:
            reader = Reader(load(model, backend=backend), max_risk=max_risk, line_model=line_model)
            summary = read_to_jsonl(sources, out, reader, workers=workers, **options)
    emit(summary, as_json, lambda s: err_console.print(
        f"{s['read']} images read into {s['out']} ({s['errors']} errors, {s['skipped']} already there) "
        f"in {s['seconds']:.1f} s: [bold]{s['images_per_s']} images/s[/bold]"))
    if summary["errors"]:
        raise typer.Exit(1)
