"""`digitscope train` and `digitscope hard-examples`. Their training options are the fields of TrainConfig
(training/config.py), made into Typer options here: an option is declared once, with its help, and parsed once.

    digitscope train --preset fast --epochs 3 --out runs/fast
    torchrun --nproc-per-node 2 -m digitscope train --preset fast --out runs/ddp
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Literal, Optional

import typer

from ..training.config import PRESETS, TrainConfig, flag, make_config

OPTION_TYPES = {"str": str, "int": int, "float": float, "dict": str}  # a dict is given as JSON

OUT = typer.Option(..., "--out", help="output folder (model, card, checkpoint)")
PRESET = typer.Option(None, "--preset", help="a named recipe; explicit options win")
Preset = Literal[tuple(sorted(PRESETS))]  # the names --preset takes
NO_PROGRESS = typer.Option(False, "--no-progress", help="no progress bar (logs one line per epoch)")


def config_parameters() -> list[inspect.Parameter]:
    """One keyword parameter per TrainConfig field, ``--field-name``, None when not given (a preset's value or the
    field's default then holds)."""
    params = []
    for f in dataclasses.fields(TrainConfig):
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        choices = f.metadata["choices"]
        option = typer.Option(None, f"--{flag(f.name)}", help=f"{f.metadata['help']} [default: {default!r}]")
        kind = Literal[choices] if choices else OPTION_TYPES[f.type]  # a few values: the option says which
        params.append(inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=option,
                                        annotation=Optional[kind]))  # noqa: UP045 - a Literal has no | None
    return params


def with_config_options(command: Callable) -> Callable:
    """``command(..., **config)`` as Typer sees it: ``**config`` becomes one option per TrainConfig field."""
    signature = inspect.signature(command)
    own = [p for p in signature.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
    params = own + config_parameters()
    command.__signature__ = signature.replace(parameters=params)
    command.__annotations__ = {p.name: p.annotation for p in params}
    return command


def config_from(preset: str | None, config: dict) -> TrainConfig:
    given = dict(config)
    if given.get("arch_kwargs") is not None:
        try:
            given["arch_kwargs"] = json.loads(given["arch_kwargs"])
        except json.JSONDecodeError:
            raise ValueError(f"--arch-kwargs takes JSON, e.g. '{{\"width\": 48}}', not {given['arch_kwargs']!r}") \
                from None
    return make_config(preset, **given)


def given_argv(ctx: typer.Context) -> list[str]:
    """The options given on the command line, as arguments again: what a member process or torchrun is started
    with, and the command a card records."""
    argv = []
    for param in ctx.command.params:
        if ctx.get_parameter_source(param.name).name != "COMMANDLINE":  # by name: Typer carries its own click
            continue
        value = ctx.params[param.name]
        argv += [param.opts[0]] if getattr(param, "is_flag", False) else [param.opts[0], str(value)]
    return argv


@with_config_options
def train_command(
    ctx: typer.Context,
    out: Path = OUT,
    preset: Preset | None = PRESET,
    resume: bool = typer.Option(False, "--resume", help="continue from OUT/checkpoint.safetensors"),
    no_progress: bool = NO_PROGRESS,
    ensemble: int = typer.Option(0, "--ensemble", help="train N members (seeds SEED..SEED+N-1) into OUT/member<K> "
                                                       "and bundle them as OUT/model"),
    member: int | None = typer.Option(None, "--member", help="with --ensemble: train member K only (a job array "
                                      "trains the members apart; `digitscope ensemble combine` bundles them)"),
    data_parallel: bool = typer.Option(False, "--distributed", help="data parallel: launch torchrun with the "
                                       "options below (a process started by torchrun is data parallel without it)"),
    nproc_per_node: int | None = typer.Option(None, "--nproc-per-node", help="with --distributed: processes on "
                                              "this machine (default: one per GPU, or one per core)"),
    nnodes: str = typer.Option("1", "--nnodes", help="with --distributed: machines taking part (the same command "
                                                     "on each)"),
    rdzv_endpoint: str = typer.Option("", "--rdzv-endpoint", help="with --distributed on several machines: "
                                      "HOST:PORT where they meet (a port open on HOST, the machine of rank 0)"),
    rdzv_id: str = typer.Option("digitscope", "--rdzv-id", help="with --distributed on several machines: the "
                                "run's name, the same on each"),
    **config,
) -> None:
    """Train a model of the registry with the one training loop (`--resume` after an interruption)."""
    from ..training import distributed
    from ..training.ensembles import train_ensemble
    from ..training.loop import train

    argv = given_argv(ctx)
    progress = not no_progress and sys.stderr.isatty()
    try:
        cfg = config_from(preset, config)
        if data_parallel and not distributed.under_torchrun():  # each process torchrun starts runs this argv
            raise typer.Exit(distributed.launch(argv, nproc_per_node, nnodes, rdzv_endpoint, rdzv_id))
        if ensemble:
            train_ensemble(cfg, out, ensemble, member, argv, progress)
        else:
            train(cfg, out, resume=resume, progress=progress, command="digitscope train " + " ".join(argv))
        distributed.leave(in_step=True)
    except (ValueError, FileNotFoundError) as exc:  # wrong options or data: the message, not a traceback
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    finally:
        distributed.leave()


@with_config_options
def hard_examples_command(out: Path = typer.Option(..., "--out", help="the file `train --hard-examples` reads"),
                          preset: Preset | None = PRESET, no_progress: bool = NO_PROGRESS, **config) -> None:
    """Find the hardest training digits out of fold, for `train --hard-examples FILE`: every training digit is
    scored by a fold model that never saw it. Default fold models: the fast preset, 3 epochs, 5 folds."""
    from ..training.hard_examples import find_hard_examples

    if preset is None:
        preset, config["epochs"] = "fast", config["epochs"] or 3
    try:
        summary = find_hard_examples(config_from(preset, config), out, folds=config["folds"] or 5,
                                     progress=not no_progress and sys.stderr.isatty())
    except (ValueError, FileNotFoundError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(json.dumps(summary, indent=2))


def config_from_argv(argv: list[str]) -> TrainConfig:
    """The TrainConfig that `digitscope train ARGV` trains, read by the command's own parser (ARGV needs --out)."""
    app = typer.Typer()
    app.command()(train_command)
    ctx = typer.main.get_command(app).make_context("digitscope train", list(argv))
    names = {f.name for f in dataclasses.fields(TrainConfig)}
    return config_from(ctx.params["preset"], {k: v for k, v in ctx.params.items() if k in names})
