"""The ``digitscope`` command: a thin layer over the library, one module per command or group, assembled here.
Every command takes ``--json``."""

from __future__ import annotations

import typer

from . import analysis, combine, data, deploy, fit, models, predict, train
from .common import RecordingGroup

app = typer.Typer(cls=RecordingGroup, help="Read handwritten digits from real images.", no_args_is_help=True,
                  pretty_exceptions_enable=False, add_completion=False)


def group(name: str, help: str) -> typer.Typer:
    sub = typer.Typer(help=help, no_args_is_help=True)
    app.add_typer(sub, name=name)
    return sub


data_app = group("data", "Fetch and inspect datasets.")
data_app.command("fetch")(data.fetch)
data_app.command("list")(data.list_datasets)
ensemble_app = group("ensemble", "Deep ensembles: bundle independently trained members.")
ensemble_app.command("combine")(combine.combine)
experiment_app = group("experiment", "Experiments that reproduce a paper's tables and figures.")
experiment_app.command("numerical-loss")(analysis.numerical_loss)
fit_app = group("fit", "Fit what a model keeps beside its weights (temperature, reject rules, the Reader's prior); "
                       "a bundled model's fit is written to --out.")
fit_app.command("temperature")(fit.temperature)
fit_app.command("number-risk")(fit.number_risk)
fit_app.command("prior")(fit.prior)

app.command("models")(models.models)


app.command("train")(train.train_command)
app.command("hard-examples")(train.hard_examples_command)

app.command("evaluate")(predict.evaluate)
app.command("predict")(predict.predict)
app.command("read")(predict.read)
app.command("ambiguous")(analysis.ambiguous)
app.command("calibrate", hidden=True, help="The old name of `digitscope fit temperature`.")(fit.temperature)
app.command("gate")(combine.gate)
app.command("soup")(combine.soup)
app.command("ood-eval")(analysis.ood_eval)
app.command("label-issues")(analysis.label_issues)
app.command("variants")(analysis.variants)
app.command("specialists")(analysis.specialists)
app.command("export")(deploy.export)
app.command("serve")(deploy.serve)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
