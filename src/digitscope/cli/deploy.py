"""``digitscope export`` and ``digitscope serve``: a model put to work outside the library, as an ONNX graph
or behind the HTTP API and the page."""

from __future__ import annotations

from pathlib import Path

import typer

from .common import BACKEND, JSON, MODEL, READ_HELP, console, emit, fail, reports_errors


@reports_errors()
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
        fail(f"unknown format {fmt!r}; the one format is onnx")
    classifier = DigitClassifier.load(model, device=torch.device("cpu"), backend="torch")  # exported from PyTorch
    digits = data.load(calibration).images if quantize == "int8" else None
    report = {"model": model, **export_model(classifier, out, input_dtype, quantize, digits, calibration)}

    def render(r):
        int8 = r["quantize"] == "int8"
        check = (f"PyTorch's answer on {r['agreement_with_pytorch']:.2%} of {r['checked_on']}" if int8
                 else f"probabilities within {r['parity_max_probability_difference']:.1e} of PyTorch")
        console.print(f"{r['model']} ({r['arch']}) -> {r['out']}  {r['bytes'] / 2**20:.2f} MiB, {r['input']} input, "
                      f"opset {r['opset']}; {check}")

    emit(report, as_json, render)


@reports_errors(OSError)
def serve(model: str = MODEL,
          read_model: str = typer.Option("reading", "--read-model", help=f"/v1/read and the page: {READ_HELP}"),
          host: str = typer.Option("127.0.0.1", "--host", help="address to listen on (0.0.0.0: every interface)"),
          port: int = typer.Option(8000, "--port", help="TCP port"),
          workers: int = typer.Option(None, "--workers", help="server processes, each with its own copy of the "
                                      "models (default: one per core, at most 4)"),
          backend: str = BACKEND,
          as_json: bool = JSON) -> None:
    """The web page and the HTTP API (OpenAPI at /docs), until interrupted: /v1/classify on --model, /v1/read and
    the page on --read-model."""
    from ..serve import run

    run(model, host, port, as_json, workers, read_model, backend)
