"""ONNX export: a model as an ONNX graph, checked against PyTorch before anyone uses it, optionally in int8.

The graphs run on ``backends.OnnxBackend``; ``digitscope export`` writes them for other programs.
"""

from __future__ import annotations

import io
import json
import tempfile
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from ..io import atomic_path
from ..store.saved import WEIGHTS_DIGEST_KEY, weights_digest
from .backends import OnnxBackend, TorchBackend, onnxruntime_available

if TYPE_CHECKING:
    from ..store.card import ModelCard
    from .classifier import DigitClassifier

INPUT_DTYPES = ("uint8", "float32")
OPSET = 17
# The check of every export: random digits in a batch of a size unlike the traced one (2), and how far
# (relative to the largest logit) the graph may drift from PyTorch; float32 reordering stays near 1e-6.
PROBE_IMAGES = 8
PROBE_TOLERANCE = 1e-4
# What `digitscope export` promises: calibrated probabilities within this of PyTorch's; an int8 graph
# (which cannot match to that precision) PyTorch's answer on this share of held-out digits.
PARITY_TOLERANCE = 1e-4
QUANTIZATIONS = ("none", "int8")
CALIBRATION_IMAGES = 1000
CALIBRATION_SEED = 0
INT8_MIN_AGREEMENT = 0.995
# Cards keep their training history; an exported file carries what inference needs.
CARD_KEYS_EXPORTED = ("arch", "arch_kwargs", "calibration", "reject", "config", "data", "seed", "code_version")


def checked_onnx(model: nn.Module, size: tuple[int, int] = (28, 28)) -> bytes:
    """The model's uint8-input graph, compared with PyTorch on probe images at a batch size other than the one
    traced: a trace that baked in a shape or a data-dependent branch gives different logits here and is refused.
    ``size``: (H, W) of the images it takes (a line reader's: ``preprocess.LINE_SIZE``)."""
    graph = export_onnx(model, size=size)
    probe = np.random.default_rng(0).integers(0, 256, (PROBE_IMAGES, *size), dtype=np.uint8)
    expected = TorchBackend(model, torch.device("cpu")).logits(probe)
    difference = float(np.abs(OnnxBackend(graph, threads=1).logits(probe) - expected).max())
    if difference > PROBE_TOLERANCE * max(1.0, float(np.abs(expected).max())):
        raise ValueError(f"the exported graph disagrees with PyTorch (logits differ by up to {difference:.3g})")
    return graph


class _Uint8Input(nn.Module):
    """Takes 0-255 pixels and does the library's scaling to [0, 1] inside the graph, so callers in any
    language hand over the bytes of the image as they are."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, 1, H, W) uint8 -> (N, K) (a line reader: (N, T, K))
        return self.model(x.float() / 255)


def export_onnx(model: nn.Module, input_dtype: str = "uint8", card: ModelCard | None = None,
                size: tuple[int, int] = (28, 28)) -> bytes:
    """A model on the CPU as ONNX bytes: input ``images`` (N, 1, 28, 28) (or the (H, W) ``size`` given), uint8
    pixels 0-255 or float32 in [0, 1], any N; output ``logits`` (N, K). The card's inference fields (temperature,
    reject rule) go into the graph's metadata as JSON under ``digitscope_card``."""
    if input_dtype not in INPUT_DTYPES:
        raise ValueError(f"unknown input type {input_dtype!r}; choose one of: {', '.join(INPUT_DTYPES)}")
    model = model.eval()
    # The exporter restores the wrapper's training flag on every child afterwards: a fresh wrapper is in
    # training mode and would leave the model's dropout switched on.
    graph = _Uint8Input(model).eval() if input_dtype == "uint8" else model
    example = torch.zeros(2, 1, *size, dtype=torch.uint8 if input_dtype == "uint8" else torch.float32)
    buffer = io.BytesIO()
    with warnings.catch_warnings(), torch.no_grad():
        # The TorchScript exporter is deprecated in favour of torch.export, but exports these models in
        # 0.5 s against 3.5 s, and a model's first load exports it; torch is pinned, so it stays.
        warnings.simplefilter("ignore", DeprecationWarning)
        # The tracer warns of every shape it reads, mostly harmlessly; whether a trace is right is decided
        # by comparing the graph with PyTorch (checked_onnx, export_model), not by these warnings.
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        torch.onnx.export(graph, (example,), buffer, dynamo=False, opset_version=OPSET,
                          input_names=["images"], output_names=["logits"],
                          dynamic_axes={"images": {0: "batch"}, "logits": {0: "batch"}})
    if card is None:
        return buffer.getvalue()
    written = card.to_dict()  # the keys the card has, as it would write them
    inference_card = {k: written[k] for k in CARD_KEYS_EXPORTED if k in written}
    return _with_metadata(buffer.getvalue(), {"digitscope_card": json.dumps(inference_card)})


def _with_metadata(onnx_bytes: bytes, metadata: dict[str, str]) -> bytes:
    import onnx

    proto = onnx.load_from_string(onnx_bytes)
    for key, value in metadata.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    return proto.SerializeToString()


def quantize_int8(onnx_bytes: bytes, calibration: np.ndarray) -> bytes:
    """Static int8 quantization (QDQ; weights per channel, int8; activations uint8), each activation's range
    measured on ``calibration`` digits (N, 28, 28) uint8. On CPUs with VNNI the convolutions run in int8."""
    import onnx
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    takes_uint8 = OnnxBackend(onnx_bytes).takes_uint8
    batches = [calibration[i:i + 100, None] for i in range(0, len(calibration), 100)]  # (B, 1, 28, 28)

    class Digits(CalibrationDataReader):
        def __init__(self):
            self.batches = iter(b if takes_uint8 else b.astype(np.float32) / np.float32(255) for b in batches)

        def get_next(self):
            batch = next(self.batches, None)
            return None if batch is None else {"images": batch}

    with tempfile.TemporaryDirectory() as tmp:
        plain, prepared, quantized = (Path(tmp) / name for name in ("plain.onnx", "prepared.onnx", "int8.onnx"))
        plain.write_bytes(onnx_bytes)
        quant_pre_process(str(plain), str(prepared), skip_symbolic_shape=True)
        # A specialist bundle's specialists stay in float32 (they run on the few digits routed to them, which few or
        # no calibration digits reach), and of the rest only the convolutions and products: its routing's gathers
        # and scatters, quantized, crashed onnxruntime. Any other graph quantizes whatever onnxruntime can.
        routed_only = [node.name for node in onnx.load(str(prepared)).graph.node if "/specialists." in node.name]
        arithmetic = {"op_types_to_quantize": ["Conv", "Gemm", "MatMul"]} if routed_only else {}
        quantize_static(str(prepared), str(quantized), Digits(), quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        nodes_to_exclude=routed_only, **arithmetic)
        return quantized.read_bytes()


def export_model(classifier: DigitClassifier, out: str | Path, input_dtype: str = "uint8", quantize: str = "none",
                 calibration: np.ndarray | None = None, calibration_name: str = "", check_images: int = 256) -> dict:
    """Export a loaded classifier (single or ensemble, on the torch backend) to ONNX at ``out``, after checking it
    against PyTorch.

    Plain graphs must give calibrated probabilities within PARITY_TOLERANCE of PyTorch's on ``check_images``
    random digits. An int8 graph is calibrated on CALIBRATION_IMAGES digits drawn at random from ``calibration``
    (uint8 N x 28 x 28 training digits, named ``calibration_name`` in the report) and must give PyTorch's answer on
    at least INT8_MIN_AGREEMENT of ``check_images`` others. At random, not the first: a set made of several sources
    one after the other (``reading-candidates``: ORAND's cuts, then CVL's, then MNIST's) would otherwise set every
    activation's range from one source alone."""
    if quantize not in QUANTIZATIONS:
        raise ValueError(f"unknown quantization {quantize!r}; choose one of: {', '.join(QUANTIZATIONS)}")
    if not onnxruntime_available():
        raise ValueError("an export is checked with onnxruntime before it is written: pip install onnxruntime")
    data = export_onnx(classifier.model, input_dtype, classifier.card)
    report = {"arch": classifier.card.arch, "format": "onnx", "out": str(out),
              "input": input_dtype, "opset": OPSET, "quantize": quantize}
    if quantize == "int8":
        if calibration is None or len(calibration) < CALIBRATION_IMAGES + check_images:
            raise ValueError(f"{calibration_name or 'the calibration set'} has "
                             f"{0 if calibration is None else len(calibration)} images; int8 calibration and its "
                             f"check need {CALIBRATION_IMAGES + check_images}")
        drawn = np.random.default_rng(CALIBRATION_SEED).permutation(len(calibration))
        data = quantize_int8(data, calibration[drawn[:CALIBRATION_IMAGES]])
        images = calibration[drawn[CALIBRATION_IMAGES:CALIBRATION_IMAGES + check_images]]
        report["calibration"] = f"{CALIBRATION_IMAGES} of {calibration_name} at random (seed {CALIBRATION_SEED})"
        report["checked_on"] = f"{check_images} others of {calibration_name}"
    else:
        images = np.random.default_rng(0).integers(0, 256, (check_images, 28, 28), dtype=np.uint8)
        report["checked_on"] = f"{check_images} random images"
    if classifier.saved is not None:  # what it was made from, so a graph kept beside the model knows it is current
        data = _with_metadata(data, {WEIGHTS_DIGEST_KEY: weights_digest(classifier.saved)})
    exported = classifier.proba_from_logits(OnnxBackend(data).logits(images))
    reference = classifier.predict_proba(images)
    difference = float(np.abs(exported - reference).max())
    agreement = float((exported.argmax(1) == reference.argmax(1)).mean())
    if quantize == "none" and difference > PARITY_TOLERANCE:
        raise ValueError(f"the exported graph disagrees with PyTorch: probabilities differ by up to {difference:.3g} "
                         f"(allowed {PARITY_TOLERANCE}); nothing was written")
    if quantize == "int8" and agreement < INT8_MIN_AGREEMENT:
        raise ValueError(f"the int8 graph gives PyTorch's answer on only {agreement:.2%} of held-out digits "
                         f"(at least {INT8_MIN_AGREEMENT:.1%} needed); nothing was written")
    report.update(bytes=len(data), parity_max_probability_difference=difference, agreement_with_pytorch=agreement)
    with atomic_path(Path(out)) as tmp:
        tmp.write_bytes(data)
    return report
