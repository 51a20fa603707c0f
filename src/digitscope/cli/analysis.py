"""The commands that study a model rather than use it: ``ambiguous``, ``label-issues``, ``variants``,
``ood-eval``, ``specialists`` and ``experiment numerical-loss``."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.table import Table

from .common import JSON, MC_HELP, MODEL, command_line, console, emit, err_console, reports_errors


@reports_errors()
def ambiguous(model: str = MODEL,
              data_spec: str = typer.Option("mnist:test", "--data", help="dataset:split, e.g. mnist:test"),
              kind: str = typer.Option(..., "--by", help="confident-wrong, least-confident, smallest-margin, "
                                                         "highest-entropy or ensemble-disagreement (MC dropout)"),
              top: int = typer.Option(20, "--top", help="how many examples"),
              out: Path = typer.Option(..., "--out", help="folder for <index>.png, sheet.png and report.md"),
              mc_samples: int = typer.Option(10, "--mc-samples", help="dropout samples for ensemble-disagreement"),
              as_json: bool = JSON) -> None:
    """The examples the model finds hardest: one PNG each, a contact sheet and a readable report.md."""
    from ..analysis.ambiguity import find_ambiguous
    from ..inference.classifier import load

    result = find_ambiguous(load(model), data_spec, kind, out, top, mc_samples)

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

    emit(result, as_json, render)


@reports_errors()
def label_issues(ctx: typer.Context,
                 data_spec: str = typer.Option("mnist:test", "--data", help="dataset:split, e.g. mnist:test"),
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
    from ..analysis.label_issues import label_issue_report
    from ..inference.classifier import load

    result = label_issue_report([load(m) for m in models], data_spec, out, top, filter_by, models, command_line(ctx))
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

    emit(result, as_json, render)


@reports_errors()
def variants(ctx: typer.Context,
             model: str = MODEL,
             data_spec: str = typer.Option("mnist:train", "--data", help="dataset:split, e.g. mnist:train"),
             clusters: int = typer.Option(4, "--clusters", help="k-means clusters per digit"),
             per_cluster: int = typer.Option(8, "--per-cluster", help="exemplars shown per cluster"),
             limit: int | None = typer.Option(None, "--limit", help="use only the first N images (speed)"),
             seed: int = typer.Option(0, "--seed", help="k-means seed"),
             digits: str | None = typer.Option(None, "--digits", help="only these digits, e.g. 1,4,7,9"),
             out: Path = typer.Option(..., "--out", help="folder for digit<d>.png galleries and report.md"),
             as_json: bool = JSON) -> None:
    """Each digit's writing variants: clusters of the model's embeddings, their exemplars and error rates."""
    from ..analysis.variants import variant_map
    from ..inference.classifier import load

    try:
        chosen = None if digits is None else [int(d) for d in digits.split(",")]
    except ValueError:
        raise ValueError(f"--digits takes digits separated by commas, e.g. 1,4,7,9, not {digits!r}") from None
    result = variant_map(load(model), data_spec, out, clusters, per_cluster, limit, seed, model, command_line(ctx),
                         chosen)

    def render(r):
        table = Table("digit", "cluster", "size", "error rate", title=f"variants of {data_spec} ({r['n']} images)")
        for d in r["digits"]:
            for c in d["clusters"]:
                table.add_row(str(d["digit"]), str(c["cluster"]), f"{c['size']:,}", f"{c['error_rate']:.2%}")
        console.print(table)
        console.print(f"report: {r['report']}")

    emit(result, as_json, render)


@reports_errors()
def ood_eval(model: str = MODEL,
             data_spec: str = typer.Option("mnist:test", "--data", help="the in-distribution digits"),
             n: int = typer.Option(5000, "--n", help="images per out-of-distribution set"),
             mc_samples: int = typer.Option(0, "--mc-samples", help=MC_HELP),
             as_json: bool = JSON) -> None:
    """How well the model's scores tell digits from non-digits: AUROC and FPR at 95% TPR per set."""
    from ..inference.classifier import load
    from ..uncertainty.ood import ood_eval as run_ood_eval

    report = run_ood_eval(load(model, mc_samples=mc_samples), data_spec, n)

    def render(r):
        scores = list(next(iter(r.values()))["by_score"])
        table = Table("set", *scores, title=f"AUROC, {data_spec} against each set ({model})")
        for name, row in r.items():
            table.add_row(name, *(f"{row['by_score'][s]['auroc']:.4f}" for s in scores))
        console.print(table)

    emit(report, as_json, render)


@reports_errors()
def specialists(ctx: typer.Context,
                model: str = MODEL,
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
    from ..inference.classifier import load
    from ..training.pair_specialists import build_specialists, compare_specialists, specialist_config

    recipe = specialist_config(model, preset, scratch, epochs=epochs, arch=arch, seed=seed)
    card = build_specialists(model, out, top_k, recipe, progress=sys.stderr.isatty(), command=command_line(ctx))
    result = {"model": str(out / "model"), "confused_pairs": card["confused_pairs"], "routing": card["routing"],
              "specialists": card["specialists"]}
    if compare_on:
        result["comparison"] = compare_specialists(load(out / "model"), compare_on)

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

    emit(result, as_json, render)


@reports_errors()
def numerical_loss(ctx: typer.Context,
                   models: str = typer.Option("mlp,cnn,rnn", "--models", help="architectures, comma-separated"),
                   trials: int = typer.Option(3, "--trials", help="trials (seeds 0..N-1) per model and loss"),
                   data_name: str = typer.Option("mnist", "--data", help="a dataset to train on: mnist, kannada"),
                   epochs: int | None = typer.Option(None, "--epochs", help="epochs per run (default: the paper "
                                                                            "preset's)"),
                   out: Path = typer.Option(..., "--out", help="folder for the runs, table.md, results.json and the "
                                                               "PNGs; finished runs in it are reused"),
                   as_json: bool = JSON) -> None:
    """Seed 004: cross-entropy against the numerical loss, each model and trial, in the paper's table and figures."""
    from ..analysis.experiments import numerical_loss_experiment

    result = numerical_loss_experiment([m.strip() for m in models.split(",") if m.strip()], trials, data_name,
                                       out, epochs, progress=sys.stderr.isatty(), command=command_line(ctx))
    emit({k: v for k, v in result.items() if k != "runs"}, as_json,
         lambda r: console.print(r["table"] + "\n" + "\n".join(f"figure: {f}" for f in r["figures"].values())))
