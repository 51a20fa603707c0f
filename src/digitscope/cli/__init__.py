"""The ``digitscope`` command: a thin layer over the library. Every command takes ``--json``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from .train import hard_examples_command, train_command

app = typer.Typer(help="Read handwritten digits from real images.", no_args_is_help=True,
                  pretty_exceptions_enable=False, add_completion=False)
data_app = typer.Typer(help="Fetch and inspect datasets.", no_args_is_help=True)
app.add_typer(data_app, name="data")
ensemble_app = typer.Typer(help="Deep ensembles: bundle independently trained members.", no_args_is_help=True)
app.add_typer(ensemble_app, name="ensemble")
experiment_app = typer.Typer(help="Experiments that reproduce a paper's tables and figures.", no_args_is_help=True)
app.add_typer(experiment_app, name="experiment")
console = Console()
err_console = Console(stderr=True)

JSON = typer.Option(False, "--json", help="machine-readable output")
MC_HELP = "MC dropout: average this many passes with dropout on (models with dropout; 0 = off)"
DECISION = typer.Option(None, "--decision", help="argmax or min-cost (the least expected cost under --cost); "
                                                  "default: the rule saved in the model's card")
COST = typer.Option(None, "--cost", help="cost matrix: numeric (|i-j|), '1->7=5,7->1=5' (exceptions to 0/1), "
                                         "or a JSON/CSV file of K x K costs (true x answered)")
MODEL = typer.Option("default", "--model", "-m", help="a bundled model name (default) or a saved model path")
READ_HELP = "the digit classifier the Reader cuts numbers with: a bundled name (reading) or a saved model path"
READ_MODEL = typer.Option("reading", "--model", "-m", help=READ_HELP)


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
        bundled.append({"name": name, "arch": card.arch, "metrics": card.metrics})

    def render(_):
        table = Table("architecture", "parameters", "description", title="Architectures")
        for r in rows:
            table.add_row(r["name"], "-" if r["parameters"] is None else f"{r['parameters']:,}", r["description"])
        console.print(table)
        for b in bundled:
            console.print(f"bundled model [bold]{b['name']}[/bold]: {b['arch']}")

    _emit({"architectures": rows, "bundled": bundled}, as_json, render)


@data_app.command("fetch")
def data_fetch(name: str = typer.Argument(..., help="dataset name (see `digitscope data list`)"),
               as_json: bool = JSON) -> None:
    """Download (or read from a local source) and cache every split of a dataset."""
    from .. import data

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

    _emit({"datasets": available, "cached": cached, "cache": str(data.data_dir())}, as_json, render)


app.command("train")(train_command)
app.command("hard-examples")(hard_examples_command)


@app.command()
def evaluate(model: str = MODEL,
             data_spec: str = typer.Option("mnist:test", "--data", help="dataset:split, e.g. mnist:test"),
             figures: Path | None = typer.Option(None, help="folder for confusion.png and error_histogram.png"),
             mc_samples: int = typer.Option(0, "--mc-samples", help=MC_HELP),
             decision: str | None = DECISION, cost: str | None = COST,
             as_json: bool = JSON) -> None:
    """Accuracy, error rate, log loss, per-class precision/recall, confusion, numeric errors and (with a cost
    matrix) the mean cost per image."""
    from .. import data
    from ..analysis import evaluate as run_evaluation
    from ..inference.classifier import load

    try:
        clf = load(model, mc_samples=mc_samples, decision=decision, cost=cost)
        report = run_evaluation(clf, data_spec, figures)
    except (ValueError, FileNotFoundError, data.DataUnavailableError) as exc:
        _fail(str(exc))

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

    _emit(report, as_json, render)


@app.command()
def predict(images: list[Path] = typer.Argument(..., help="image files: PNG, JPEG, BMP, GIF, TIFF, WebP"),
            model: str = MODEL, mc_samples: int = typer.Option(0, "--mc-samples", help=MC_HELP),
            decision: str | None = DECISION, cost: str | None = COST, as_json: bool = JSON) -> None:
    """Read one digit from each image. Exit code 1 when any file could not be read."""
    from ..inference.classifier import load

    try:
        clf = load(model, mc_samples=mc_samples, decision=decision, cost=cost)
    except (ValueError, FileNotFoundError) as exc:
        _fail(str(exc))
    _emit_per_file([r.to_dict() for r in clf.predict_files(images)], as_json, lambda r: (
        f"{r['file']}: [yellow]{r['reason'].replace('_', ' ')}[/yellow]" if r["rejected"]
        else f"{r['file']}: [bold]{r['digit']}[/bold]  ({r['confidence']:.1%})"))


def _emit_per_file(results: list[dict], as_json: bool, describe) -> None:
    """One JSON line per file, or one line each for people (errors on stderr); exit 1 when any file failed."""
    for r in results:
        if as_json:
            sys.stdout.write(json.dumps(r) + "\n")
        elif r.get("error"):
            err_console.print(f"[red]error:[/red] {r['error']}")
        else:
            console.print(describe(r))
    if any(r.get("error") for r in results):
        raise typer.Exit(1)


@app.command()
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
        _read_to_file(images, out, model, expect_length, charset, max_risk, workers, batch_size, resume, engine,
                      as_json)
        return
    if engine != "local" or resume or workers is not None:
        _fail("--engine, --workers and --resume belong to batch jobs: add --out results.jsonl")
    if any(Path(i).is_dir() for i in images):
        _fail("a directory is read as a batch job: add --out results.jsonl")
    try:
        reader = Reader(load(model), max_risk=max_risk)
        results = read_batch(reader, images, expect_length=expect_length, charset=charset)
    except (ValueError, FileNotFoundError) as exc:
        _fail(str(exc))
    _emit_per_file(results, as_json, _describe_reading)


def _describe_reading(r: dict) -> str:
    if r["reason"] == "not_a_digit":
        guess = f" (best guess {r['text']})" if r["text"] else ""
        return f"{r['file']}: [yellow]no number found[/yellow]{guess}"
    boxes = "  ".join(f"{d['digit']}@{','.join(map(str, d['box']))}" for d in r["digits"])
    verdict = f"[yellow]{r['reason']}[/yellow]" if r["rejected"] else f"{r['confidence']:.1%}"
    return f"{r['file']}: [bold]{r['text']}[/bold]  ({verdict})  {boxes}"


def _read_to_file(sources: list[str], out: Path, model: str, expect_length: int | None, charset: str | None,
                  max_risk: float | None, workers: int | None, batch_size: int, resume: bool, engine: str,
                  as_json: bool) -> None:
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from ..inference.classifier import load
    from ..reading import Reader
    from ..reading.batch import read_to_jsonl
    from ..reading.ray_engine import read_to_jsonl_ray

    if engine not in ("local", "ray"):
        _fail(f"--engine must be local or ray, got {engine!r}")
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
        try:
            if engine == "ray":
                summary = read_to_jsonl_ray(sources, out, model, concurrency=workers, max_risk=max_risk, **options)
            else:
                summary = read_to_jsonl(sources, out, Reader(load(model), max_risk=max_risk), workers=workers,
                                        **options)
        except (ValueError, FileNotFoundError, FileExistsError, ImportError) as exc:
            _fail(str(exc))
    _emit(summary, as_json, lambda s: err_console.print(
        f"{s['read']} images read into {s['out']} ({s['errors']} errors, {s['skipped']} already there) "
        f"in {s['seconds']:.1f} s: [bold]{s['images_per_s']} images/s[/bold]"))
    if summary["errors"]:
        raise typer.Exit(1)


@app.command()
def ambiguous(model: str = MODEL,
              data_spec: str = typer.Option("mnist:test", "--data", help="dataset:split, e.g. mnist:test"),
              kind: str = typer.Option(..., "--by", help="confident-wrong, least-confident, smallest-margin, "
                                                         "highest-entropy or ensemble-disagreement (MC dropout)"),
              top: int = typer.Option(20, "--top", help="how many examples"),
              out: Path = typer.Option(..., "--out", help="folder for <index>.png, sheet.png and report.md"),
              mc_samples: int = typer.Option(10, "--mc-samples", help="dropout samples for ensemble-disagreement"),
              as_json: bool = JSON) -> None:
    """The examples the model finds hardest: one PNG each, a contact sheet and a readable report.md."""
    from .. import data
    from ..analysis.ambiguity import find_ambiguous

    try:
        result = find_ambiguous(model, data_spec, kind, out, top, mc_samples)
    except (ValueError, FileNotFoundError, data.DataUnavailableError) as exc:
        _fail(str(exc))

    def render(r):
        table = Table("rank", "index", "true", "pred", "confidence", "score", "top-3",
                      title=f"{kind} on {data_spec} ({r['errors']} errors of {r['n']})")
        for rank, item in enumerate(r["items"], 1):
            table.add_row(str(rank), str(item["index"]), str(item["label"]), str(item["prediction"]),
                          f"{item['confidence']:.1%}", f"{item['score']:.4f}",
                          "  ".join(f"{t['digit']}:{t['probability']:.2f}" for t in item["top3"]))
        console.print(table)
        console.print(f"report: {r['report']}" + (f"\nsheet: {r['sheet']}" if r["sheet"] else "")
                      + f"\nimages: {r['out']}/<index>.png")

    _emit(result, as_json, render)


@app.command()
def calibrate(model: str = MODEL,
              data_spec: str = typer.Option("mnist:val", "--data", help="a validation split, e.g. mnist:val"),
              figures: Path | None = typer.Option(None, "--figures", help="folder for the reliability diagrams"),
              max_risk: float = typer.Option(0.001, "--max-risk", help="reject rule: at most this error rate "
                                                                       "among the digits answered (on --data)"),
              coverage: float | None = typer.Option(None, "--coverage", help="reject rule: answer this share of "
                                                                             "digits instead (overrides --max-risk)"),
              as_json: bool = JSON) -> None:
    """Fit a temperature and a reject threshold on validation data and store them in the model's card."""
    from .. import data
    from ..uncertainty.calibration import calibrate_model

    try:
        result = calibrate_model(model, data_spec, figures, max_risk, coverage)
    except (ValueError, FileNotFoundError, data.DataUnavailableError) as exc:
        _fail(str(exc))

    def render(r):
        table = Table("", "ECE", "adaptive ECE", "NLL", "Brier", title=f"temperature {r['temperature']:.3f} "
                                                                       f"fitted on {r['fitted_on']}")
        for name in ("before", "after"):
            m = r[name]
            table.add_row(name, f"{m['ece']:.4f}", f"{m['adaptive_ece']:.4f}", f"{m['nll']:.4f}", f"{m['brier']:.4f}")
        console.print(table)
        rule = r["reject"]
        console.print(f"reject rule: confidence below {rule['threshold']:.4f} is 'uncertain'; on {r['fitted_on']} it "
                      f"answers {rule['coverage']:.2%} of digits with {rule['risk']:.3%} of them wrong")

    _emit(result, as_json, render)


@ensemble_app.command("combine")
def ensemble_combine(members: list[Path] = typer.Argument(..., help="training folders (or saved models) of members"),
                     out: Path = typer.Option(..., "--out", help="the ensemble: OUT.safetensors + OUT.json, or "
                                                                "OUT/model.* when OUT is a folder"),
                     as_json: bool = JSON) -> None:
    """Bundle finished members (e.g. from `train --ensemble N --member K` jobs) into one model."""
    from ..uncertainty.deep_ensemble import combine_members

    stem = out / "model" if out.is_dir() else out
    try:
        card = combine_members(members, stem, command=f"digitscope ensemble combine {' '.join(map(str, members))} "
                                                      f"--out {out}")
    except (ValueError, FileNotFoundError) as exc:
        _fail(str(exc))
    _emit({"model": str(stem), "members": card.members, "parameters": card.parameters}, as_json,
          lambda r: console.print(f"ensemble of {len(r['members'])} members saved as {r['model']}"))


@app.command()
def gate(reader: str = typer.Option(..., "--reader", help="the 10-class model that decides which digit"),
         detector: str = typer.Option(..., "--detector", help="the 11-class model (trained with --distractors) "
                                                              "that decides whether there is a digit"),
         out: Path = typer.Option(..., "--out", help="the gate: OUT.safetensors + OUT.json, or OUT/model.* when "
                                                     "OUT is a folder"),
         as_json: bool = JSON) -> None:
    """Put a digit reader behind a 'not a digit' detector, saved as one model (then `digitscope calibrate` it)."""
    from ..uncertainty.not_a_digit import combine_gate

    stem = out / "model" if out.is_dir() else out
    try:
        card = combine_gate(reader, detector, stem,
                            command=f"digitscope gate --reader {reader} --detector {detector} --out {out}")
    except (ValueError, FileNotFoundError) as exc:
        _fail(str(exc))
    _emit({"model": str(stem), "parts": card.parts, "parameters": card.parameters}, as_json,
          lambda r: console.print(f"gate saved as {r['model']}: reader {reader}, detector {detector}"))


@app.command("ood-eval")
def ood_eval(model: str = MODEL,
             data_spec: str = typer.Option("mnist:test", "--data", help="the in-distribution digits"),
             n: int = typer.Option(5000, "--n", help="images per out-of-distribution set"),
             mc_samples: int = typer.Option(0, "--mc-samples", help=MC_HELP),
             as_json: bool = JSON) -> None:
    """How well the model's scores tell digits from non-digits: AUROC and FPR at 95% TPR per set."""
    from .. import data
    from ..inference.classifier import load
    from ..uncertainty.ood import ood_eval as run_ood_eval

    try:
        report = run_ood_eval(load(model, mc_samples=mc_samples), data_spec, n)
    except (ValueError, FileNotFoundError, data.DataUnavailableError) as exc:
        _fail(str(exc))

    def render(r):
        scores = list(next(iter(r.values()))["by_score"])
        table = Table("set", *scores, title=f"AUROC, {data_spec} against each set ({model})")
        for name, row in r.items():
            table.add_row(name, *(f"{row['by_score'][s]['auroc']:.4f}" for s in scores))
        console.print(table)

    _emit(report, as_json, render)


@app.command("label-issues")
def label_issues(data_spec: str = typer.Option("mnist:test", "--data", help="dataset:split, e.g. mnist:test"),
                 models: list[str] = typer.Option(["default"], "--model", "-m",
                                                  help="a bundled model name or a saved model path; repeat it to "
                                                       "average several models (e.g. seeds) into an ensemble"),
                 top: int = typer.Option(30, "--top", help="how many issues to show"),
                 filter_by: str = typer.Option("prune_by_noise_rate", "--filter",
                                               help="cleanlab's filter_by: prune_by_noise_rate (confident learning), "
                                                    "predicted_neq_given (every disagreement), ..."),
                 out: Path = typer.Option(..., "--out", help="folder for sheet.png, <index>.png and report.md"),
                 as_json: bool = JSON) -> None:
    """The examples whose given label the models dispute most (cleanlab), for a person to judge."""
    import shlex

    from .. import data
    from ..analysis.label_issues import label_issue_report
    from ..inference.classifier import load

    command = shlex.join(["digitscope", "label-issues", "--data", data_spec,
                          *(arg for m in models for arg in ("--model", m)),
                          "--top", str(top), "--filter", filter_by, "--out", str(out)])
    try:
        result = label_issue_report([load(m) for m in models], data_spec, out, top, filter_by, models, command)
    except (ValueError, FileNotFoundError, data.DataUnavailableError) as exc:
        _fail(str(exc))
    for warning in result["warnings"]:
        err_console.print(f"[yellow]warning:[/yellow] {warning}")

    def render(r):
        table = Table("rank", "index", "given", "model", "p(model)", "p(given)",
                      title=f"label issues in {data_spec} ({r['filter']}): {r['flagged']} flagged of {r['n']}")
        for rank, i in enumerate(r["issues"], 1):
            table.add_row(str(rank), str(i["index"]), str(i["given"]), str(i["predicted"]),
                          f"{i['probability']:.1%}", f"{i['given_probability']:.2%}")
        console.print(table)
        console.print(f"report: {r['report']}\nsheet: {r['sheet']}")

    _emit(result, as_json, render)


@app.command()
def variants(model: str = MODEL,
             data_spec: str = typer.Option("mnist:train", "--data", help="dataset:split, e.g. mnist:train"),
             clusters: int = typer.Option(4, "--clusters", help="k-means clusters per digit"),
             per_cluster: int = typer.Option(8, "--per-cluster", help="exemplars shown per cluster"),
             limit: int | None = typer.Option(None, "--limit", help="use only the first N images (speed)"),
             seed: int = typer.Option(0, "--seed", help="k-means seed"),
             out: Path = typer.Option(..., "--out", help="folder for digit<d>.png galleries and report.md"),
             as_json: bool = JSON) -> None:
    """Each digit's writing variants: clusters of the model's embeddings, their exemplars and error rates."""
    import shlex

    from .. import data
    from ..analysis.variants import variant_map
    from ..inference.classifier import load

    command = shlex.join(["digitscope", "variants", "--model", model, "--data", data_spec, "--clusters", str(clusters),
                          "--per-cluster", str(per_cluster), *(["--limit", str(limit)] if limit is not None else []),
                          "--seed", str(seed), "--out", str(out)])
    try:
        result = variant_map(load(model), data_spec, out, clusters, per_cluster, limit, seed, model, command)
    except (ValueError, FileNotFoundError, data.DataUnavailableError) as exc:
        _fail(str(exc))

    def render(r):
        table = Table("digit", "cluster", "size", "error rate", title=f"variants of {data_spec} ({r['n']} images)")
        for d in r["digits"]:
            for c in d["clusters"]:
                table.add_row(str(d["digit"]), str(c["cluster"]), f"{c['size']:,}", f"{c['error_rate']:.2%}")
        console.print(table)
        console.print(f"report: {r['report']}")

    _emit(result, as_json, render)


@app.command()
def specialists(model: str = MODEL,
                top_k: int = typer.Option(5, "--top-k", help="how many of the most confused pairs get a specialist"),
                out: Path = typer.Option(..., "--out", help="folder for the specialists' runs (pair-A-B) and the "
                                                            "bundle, OUT/model"),
                preset: str = typer.Option("flagship", "--preset", help="the specialists' training recipe"),
                epochs: int | None = typer.Option(3, "--epochs", help="specialists' epochs (each sees two digits)"),
                arch: str | None = typer.Option(None, "--arch", help="the specialists' architecture "
                                                                     "(default: the preset's)"),
                seed: int = typer.Option(0, "--seed", help="the specialists' seed"),
                scratch: bool = typer.Option(False, "--scratch", help="train the specialists from random weights "
                                                                     "(default: from the generalist's, when they "
                                                                     "share its architecture)"),
                compare_on: str | None = typer.Option(None, "--compare-on",
                                                      help="then report errors with and without the specialists on "
                                                           "this labelled split, e.g. mnist:test (once, at the end)"),
                as_json: bool = JSON) -> None:
    """Specialists for the model's most confused pairs: found and routed on validation, saved as one model."""
    import shlex

    from .. import data
    from ..training.pair_specialists import build_specialists, compare_specialists, specialist_config

    command = shlex.join(["digitscope", "specialists", "--model", model, "--top-k", str(top_k), "--out", str(out),
                          "--preset", preset, *(["--epochs", str(epochs)] if epochs is not None else []),
                          *(["--arch", arch] if arch else []), "--seed", str(seed),
                          *(["--scratch"] if scratch else [])])
    try:
        recipe = specialist_config(model, preset, scratch, epochs=epochs, arch=arch, seed=seed)
        card = build_specialists(model, out, top_k, recipe, progress=sys.stderr.isatty(), command=command)
        result = {"model": str(out / "model"), "confused_pairs": card["confused_pairs"], "routing": card["routing"],
                  "specialists": card["specialists"]}
        if compare_on:
            result["comparison"] = compare_specialists(out / "model", compare_on)
    except (ValueError, FileNotFoundError, data.DataUnavailableError) as exc:
        _fail(str(exc))

    def render(r):
        routing = r["routing"]
        console.print(f"bundle saved as [bold]{r['model']}[/bold]: a pair goes to its specialist when the margin "
                      f"p1 - p2 < {routing['threshold']:.4f} (chosen on {routing['chosen_on']}: errors "
                      f"{routing['errors_without']} -> {routing['errors_with']})")
        table = Table("pair", "mistakes on validation", "specialist val accuracy",
                      "generalist val accuracy on the pair", title="Specialists")
        for p, s in zip(r["confused_pairs"], r["specialists"], strict=True):
            table.add_row(f"{p['pair'][0]}<->{p['pair'][1]}", str(p["mistakes"]),
                          f"{(s['metrics'] or {}).get('val_accuracy', float('nan')):.2%}",
                          f"{s['generalist_val_accuracy']:.2%}")
        console.print(table)
        if "comparison" in r:
            c = r["comparison"]
            table = Table("pair", "errors without", "errors with",
                          title=f"{c['data']}: {c['routed']} of {c['n']} images routed")
            for p in c["pairs"]:
                table.add_row(f"{p['pair'][0]}<->{p['pair'][1]}", str(p["errors_without"]), str(p["errors_with"]))
            table.add_row("all pairs", str(c["pair_errors_without"]), str(c["pair_errors_with"]))
            table.add_row("overall", f"{c['errors_without']} ({c['accuracy_without']:.2%} right)",
                          f"{c['errors_with']} ({c['accuracy_with']:.2%} right)")
            console.print(table)

    _emit(result, as_json, render)


@experiment_app.command("numerical-loss")
def experiment_numerical_loss(
        models: str = typer.Option("mlp,cnn,rnn", "--models", help="architectures, comma-separated"),
        trials: int = typer.Option(3, "--trials", help="trials (seeds 0..N-1) per model and loss"),
        data_name: str = typer.Option("mnist", "--data", help="a dataset to train on: mnist, kannada"),
        epochs: int | None = typer.Option(None, "--epochs", help="epochs per run (default: the paper preset's)"),
        out: Path = typer.Option(..., "--out", help="folder for the runs, table.md, results.json and the PNGs; "
                                                    "finished runs in it are reused"),
        as_json: bool = JSON) -> None:
    """Seed 004: cross-entropy against the numerical loss, each model and trial, in the paper's table and figures."""
    import shlex

    from .. import data
    from ..analysis.experiments import numerical_loss_experiment

    command = shlex.join(["digitscope", "experiment", "numerical-loss", "--models", models, "--trials", str(trials),
                          "--data", data_name, *(["--epochs", str(epochs)] if epochs else []), "--out", str(out)])
    try:
        result = numerical_loss_experiment([m.strip() for m in models.split(",") if m.strip()], trials, data_name,
                                           out, epochs, progress=sys.stderr.isatty(), command=command)
    except (ValueError, FileNotFoundError, data.DataUnavailableError) as exc:
        _fail(str(exc))
    _emit({k: v for k, v in result.items() if k != "runs"}, as_json,
          lambda r: console.print(r["table"] + "\n" + "\n".join(f"figure: {f}" for f in r["figures"].values())))


@app.command()
def export(model: str = MODEL,
           fmt: str = typer.Option("onnx", "--format", help="onnx (the only format)"),
           out: Path = typer.Option(..., "--out", help="the file to write, e.g. model.onnx"),
           input_dtype: str = typer.Option("uint8", "--input", help="uint8 (pixels 0-255) or float32 (0-1), "
                                                                  "shape N x 1 x 28 x 28"),
           quantize: str = typer.Option("none", "--quantize", help="none, or int8 (static, calibrated on "
                                                                   "--calibration digits): faster on CPUs with VNNI"),
           calibration: str = typer.Option("mnist:train", "--calibration", help="training digits for int8 ranges"),
           as_json: bool = JSON) -> None:
    """Export a model (single or ensemble) to ONNX, checked against PyTorch before it is written."""
    import torch

    from .. import data
    from ..inference.classifier import DigitClassifier
    from ..inference.export import export_model

    if fmt != "onnx":
        _fail(f"unknown format {fmt!r}; the one format is onnx")
    try:
        classifier = DigitClassifier.load(model, device=torch.device("cpu"), backend="torch")  # exported from PyTorch
        digits = data.load(calibration).images if quantize == "int8" else None
        report = {"model": model, **export_model(classifier, out, input_dtype, quantize, digits, calibration)}
    except (ValueError, FileNotFoundError, data.DataUnavailableError) as exc:
        _fail(str(exc))

    def render(r):
        int8 = r["quantize"] == "int8"
        check = (f"PyTorch's answer on {r['agreement_with_pytorch']:.2%} of {r['checked_on']}" if int8
                 else f"probabilities within {r['parity_max_probability_difference']:.1e} of PyTorch")
        console.print(f"{r['model']} ({r['arch']}) -> {r['out']}  {r['bytes'] / 2**20:.2f} MiB, {r['input']} input, "
                      f"opset {r['opset']}; {check}")

    _emit(report, as_json, render)


@app.command()
def serve(model: str = MODEL,
          read_model: str = typer.Option("reading", "--read-model", help=f"/v1/read and the page: {READ_HELP}"),
          host: str = typer.Option("127.0.0.1", "--host", help="address to listen on (0.0.0.0: every interface)"),
          port: int = typer.Option(8000, "--port", help="TCP port"),
          workers: int = typer.Option(None, "--workers", help="server processes, each with its own copy of the "
                                      "models (default: one per core, at most 4)"),
          as_json: bool = JSON) -> None:
    """The web page and the HTTP API (OpenAPI at /docs), until interrupted: /v1/classify on --model, /v1/read and
    the page on --read-model."""
    from ..serve import run

    try:
        run(model, host, port, as_json, workers, read_model)
    except (ValueError, FileNotFoundError, OSError) as exc:
        _fail(str(exc))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
