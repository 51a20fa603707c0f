"""``digitscope serve``: the web page and the HTTP API."""

from __future__ import annotations

import typer

from .common import JSON, MODEL, READ_HELP, reports_errors


@reports_errors(OSError)
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

    run(model, host, port, as_json, workers, read_model)
