"""What the commands share: the consoles, the options several of them take, output (``--json`` or tables),
one way of reporting a bad input, and the command line recorded as provenance."""

from __future__ import annotations

import functools
import json
import shlex
import sys

import typer
from rich.console import Console
from typer.core import TyperGroup

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


class RecordingGroup(TyperGroup):
    """The root command, which keeps its arguments as given: what a model card or a report records as the
    command that made it (``command_line``)."""

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:
        ctx.meta.setdefault("argv", list(args))  # meta is shared with the subcommands' contexts
        return super().parse_args(ctx, args)


def command_line(ctx: typer.Context) -> str:
    """The running command as the user typed it."""
    return shlex.join(["digitscope", *ctx.meta.get("argv", [])])


def emit(obj, as_json: bool, render) -> None:
    if as_json:
        sys.stdout.write(json.dumps(obj, indent=None) + "\n")
    else:
        render(obj)


def emit_per_file(results: list[dict], as_json: bool, describe) -> None:
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


def fail(message: str) -> None:
    err_console.print(f"[red]error:[/red] {message}")
    raise typer.Exit(2)


def reports_errors(*also: type[Exception]):
    """A command whose bad inputs (an unknown model, a missing file, a dataset that cannot be had, a value
    the library refuses, and the exception types in ``also``) end in one line naming them and exit code 2,
    not a traceback."""
    def decorate(command):
        @functools.wraps(command)
        def run(*args, **kwargs):
            try:
                return command(*args, **kwargs)
            except Exception as exc:
                from ..data import DataUnavailableError  # imported here: `--help` stays quick

                if isinstance(exc, (ValueError, FileNotFoundError, DataUnavailableError, *also)):
                    fail(str(exc))
                raise
        return run
    return decorate


BACKEND = typer.Option("auto", "--backend", help="what runs the digit classifier: auto (on a CPU, the model's int8 "
                                                 "graph where it has one, else onnxruntime), torch, onnxruntime, or "
                                                 "int8 (the model's int8 graph, kept beside it: faster on CPUs with "
                                                 "VNNI, a few digits in a thousand read otherwise)")
