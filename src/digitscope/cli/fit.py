"""``digitscope fit``: what is fitted beside a trained network, on data it did not train on. ``temperature``
(once ``digitscope calibrate``) and ``number-risk`` store their result in a model's card; ``prior`` writes the
Reader's segmentation prior. None of them writes into the installed package."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import typer
from rich.table import Table

from .common import JSON, MODEL, command_line, console, emit, fail, reports_errors

OUT_DIR = typer.Option(None, "--out", help="folder for the fitted model (OUT/model.safetensors + OUT/model.json); "
                                           "default: update MODEL in place, which a bundled model refuses")


@reports_errors()
def temperature(model: str = MODEL,
                data_spec: str = typer.Option("mnist:val", "--data", help="a validation split, e.g. mnist:val"),
                figures: Path | None = typer.Option(None, "--figures", help="folder for the reliability diagrams"),
                max_risk: float = typer.Option(0.001, "--max-risk", help="reject rule: at most this error rate "
                                                                         "among the digits answered (on --data)"),
                coverage: float | None = typer.Option(None, "--coverage", help="reject rule: answer this share of "
                                                                               "digits instead (overrides --max-risk)"),
                out: Path | None = OUT_DIR, as_json: bool = JSON) -> None:
    """Fit a temperature and a reject threshold on validation data and store them in the model's card."""
    from ..uncertainty.calibration import calibrate_model

    result = calibrate_model(model, data_spec, figures, max_risk, coverage, out=out)

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

    emit(result, as_json, render)


@reports_errors()
def number_risk(ctx: typer.Context,
                model: str = MODEL,
                strings: int = typer.Option(3000, "--strings", min=1, help="strings of --digits digits of each "
                                                                           "kind to fit on; with --line-model, "
                                                                           "written amounts of cvl:valid and "
                                                                           "mnist-writers:val digits beside "
                                                                           "ORAND's choose side"),
                digits: str | None = typer.Option(None, "--digits", help="the split whose digits the strings are "
                                                  "made of (default mnist:val): digits the model never trained on, "
                                                  "by writers it never saw where there are any (mnist-writers:val "
                                                  "for a model trained on mnist-cvl:train; the reading model "
                                                  "trained on every MNIST training writer and keeps mnist:val, "
                                                  "digits it never saw)"),
                seed: int = typer.Option(100, "--seed", help="the strings' seed (the four kinds take seed..seed+3)"),
                line_model: str | None = typer.Option(None, "--line-model", help="fit the rule of MODEL read with this "
                                                      "line reader instead, on real amounts, and store it in the "
                                                      "line reader's card (--out: its new folder)"),
                default_risk: float = typer.Option(0.02, "--default-risk", min=0.0, max=0.999,
                                                   help="with --line-model: the risk the Reader applies when asked "
                                                        "for none"),
                out: Path | None = OUT_DIR, as_json: bool = JSON) -> None:
    """Fit the Reader's reject rule for whole numbers (`read --max-risk`) and store it in the model's card."""
    from ..inference.classifier import load
    from ..reading.fitting import NUMBER_RISK_DIGITS, fit_line_risk, fit_number_risk
    from ..reading.line_model import load_line_model
    from ..store.bundled import writable_stem
    from ..store.saved import card_path, write_card

    if line_model is not None and digits is not None:
        fail("--digits is for a classifier's own rule; with --line-model the rule is fitted on real amounts and on "
             "written amounts of cvl:valid and mnist-writers:val digits")
    classifier = load(model)
    if line_model is None:
        target, card = writable_stem(model, out), classifier.card
        rule = fit_number_risk(classifier, strings, seed, digits or NUMBER_RISK_DIGITS)
    else:
        target = writable_stem(line_model, out)
        network, card = load_line_model(line_model)
        rule = {"classifier": model, **fit_line_risk(classifier, network, default_risk, strings, seed)}
    rule["backend"] = classifier.backend.name  # what read the digits it was fitted on: int8 scores a little apart
    rule["command"] = command_line(ctx)
    write_card(target, replace(card, reading={**card.reading, "number_reject": rule}))
    emit({"model": str(target), "number_reject": rule}, as_json, lambda r: console.print(
        f"number reject rule fitted on {rule['fitted_on']} ({rule['readings']} readings, {len(rule['curve'])} "
        f"points) saved in {card_path(target)}"))


@reports_errors()
def prior(ctx: typer.Context,
          strings: int = typer.Option(1500, "--strings", min=1, help="strings of mnist:train digits of each kind "
                                                                     "to fit on"),
          seed: int = typer.Option(0, "--seed", help="the strings' seed"),
          out: Path | None = typer.Option(None, "--out", help="the prior's file, e.g. prior.json"),
          as_json: bool = JSON) -> None:
    """Fit the Reader's segmentation prior (how likely a span is one whole digit) on strings of training digits."""
    from ..reading.fitting import fit_prior_on_training_strings
    from ..store.bundled import in_package

    if out is None or in_package(out):
        fail("pass --out FILE outside the installed package: the bundled prior is not overwritten")
    fitted = fit_prior_on_training_strings(strings, seed)
    fitted.card["command"] = command_line(ctx)
    out.parent.mkdir(parents=True, exist_ok=True)
    fitted.save(out)
    emit({"prior": str(out), **{k: fitted.card[k] for k in ("fitted_on", "spans", "whole")}}, as_json,
         lambda r: console.print(f"prior fitted on {r['fitted_on']} ({r['spans']} spans, {r['whole']} whole "
                                 f"digits) saved as {r['prior']}"))
