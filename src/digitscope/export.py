"""ONNX export, and the inference backends that turn uint8 digits into logits: PyTorch and onnxruntime.

Every backend answers one question, ``logits(images)`` for uint8 (N, 28, 28) MNIST-style digits, so the
classifier's temperature, reject rule and decisions stay in one place whichever backend runs. On a CPU,
onnxruntime runs the default model several times faster than PyTorch eager at every batch size
(``benchmarks/infer_speed.py``), so ``auto`` picks it there whenever it is installed.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import warnings
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
from torch import nn

BACKENDS = ("auto", "torch", "onnxruntime")
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
INT8_MIN_AGREEMENT = 0.995
# Cards keep their training history; an exported file carries what inference needs.
CARD_KEYS_EXPORTED = ("arch", "arch_kwargs", "calibration", "reject", "config", "data", "seed", "code_version")


# Images per network call. Larger batches are no faster on a CPU (256 is the fastest measured for both
# backends), and the peak activations of the largest batch seen stay allocated: onnxruntime's arena kept
# growing with each new batch size at 2048, which made long batch-reading jobs grow too.
PREDICT_BATCH = 256


class Backend(Protocol):
    name: str

    def logits(self, images: np.ndarray, batch_size: int = PREDICT_BATCH) -> np.ndarray:
        """uint8 (N, 28, 28) digits -> (N, K) float32 logits."""


class TorchBackend:
    name = "torch"

    def __init__(self, model: nn.Module, device: torch.device):
        self.model, self.device = model, device

    @torch.no_grad()
    def logits(self, images: np.ndarray, batch_size: int = PREDICT_BATCH) -> np.ndarray:
        out = [self.model(torch.from_numpy(images[i:i + batch_size]).to(self.device).unsqueeze(1).float().div_(255))
               .float().cpu() for i in range(0, len(images), batch_size)]  # each (B, K)
        return torch.cat(out).numpy()


class OnnxBackend:
    """An onnxruntime session over a graph from ``export_onnx`` (uint8 or float32 input)."""

    name = "onnxruntime"

    def __init__(self, onnx_model: bytes | str | Path, threads: int | None = None):
        import onnxruntime as ort

        options = ort.SessionOptions()
        # One graph at a time on few cores: parallelism inside each operator, none between operators.
        options.intra_op_num_threads = threads or usable_cores()
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        # Folds BatchNorm into the convolutions and fuses Conv+ReLU: most of the gain over eager PyTorch.
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Idle worker threads would otherwise spin between requests, taking CPU from the web server.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 4  # failures arrive as exceptions; no second copy on stderr
        source = str(onnx_model) if isinstance(onnx_model, Path) else onnx_model
        self.session = ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])
        graph_input = self.session.get_inputs()[0]
        if graph_input.type not in ("tensor(uint8)", "tensor(float)"):
            raise ValueError(f"expected a graph with uint8 or float32 input, not {graph_input.type}")
        self.input_name, self.takes_uint8 = graph_input.name, graph_input.type == "tensor(uint8)"

    def logits(self, images: np.ndarray, batch_size: int = PREDICT_BATCH) -> np.ndarray:
        out = []
        for i in range(0, len(images), batch_size):
            x = images[i:i + batch_size, None]  # (B, 1, 28, 28) uint8
            if not self.takes_uint8:
                x = x.astype(np.float32) / np.float32(255)
            out.append(self.session.run(None, {self.input_name: x})[0])  # (B, K)
        return np.concatenate(out).astype(np.float32, copy=False)


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def onnxruntime_available() -> bool:
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def resolve_backend(choice: str, device: torch.device, mc_samples: int = 0) -> str:
    """'auto' -> onnxruntime on a CPU when it is installed (and no MC dropout asked), otherwise torch."""
    if choice not in BACKENDS:
        raise ValueError(f"unknown backend {choice!r}; choose one of: {', '.join(BACKENDS)}")
    if choice == "auto":
        return "onnxruntime" if device.type == "cpu" and not mc_samples and onnxruntime_available() else "torch"
    if choice == "onnxruntime":
        if device.type != "cpu":
            raise ValueError(f"the onnxruntime backend runs on the CPU; this model is on {device.type}")
        if mc_samples:
            raise ValueError("MC dropout (--mc-samples) runs on the torch backend only")
        if not onnxruntime_available():
            raise ValueError("the onnxruntime backend needs the onnxruntime package: pip install onnxruntime")
    return choice


def create_backend(choice: str, model: nn.Module, device: torch.device, mc_samples: int = 0,
                   threads: int | None = None) -> Backend:
    """The backend ``choice`` resolves to. 'auto' falls back to torch, with a warning, when a model does not
    survive export (an architecture the exporter cannot trace faithfully); an explicit 'onnxruntime' raises.
    ``threads``: onnxruntime's threads per call (default: every usable core)."""
    if resolve_backend(choice, device, mc_samples) == "torch":
        return TorchBackend(model, device)
    try:
        return checked_onnx_backend(model, threads)
    except Exception as exc:  # exporter and runtime raise many unrelated types; torch is always right
        if choice != "auto":
            raise
        warnings.warn(f"onnxruntime backend unavailable for this model, using torch: {exc}", stacklevel=2)
        return TorchBackend(model, device)


def checked_onnx_backend(model: nn.Module, threads: int | None = None) -> OnnxBackend:
    """Export and compare with PyTorch on probe digits, at a batch size other than the one traced: a trace that
    baked in a shape or a data-dependent branch gives different logits here and is refused."""
    backend = OnnxBackend(export_onnx(model), threads)
    probe = np.random.default_rng(0).integers(0, 256, (PROBE_IMAGES, 28, 28), dtype=np.uint8)
    expected = TorchBackend(model, torch.device("cpu")).logits(probe)
    difference = float(np.abs(backend.logits(probe) - expected).max())
    if difference > PROBE_TOLERANCE * max(1.0, float(np.abs(expected).max())):
        raise ValueError(f"the exported graph disagrees with PyTorch (logits differ by up to {difference:.3g})")
    return backend


class _Uint8Input(nn.Module):
    """Takes 0-255 pixels and does the library's scaling to [0, 1] inside the graph, so callers in any
    language hand over the bytes of the image as they are."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, 1, 28, 28) uint8 -> (N, K)
        return self.model(x.float() / 255)


def export_onnx(model: nn.Module, input_dtype: str = "uint8", card: dict | None = None) -> bytes:
    """A model on the CPU as ONNX bytes: input ``images`` (N, 1, 28, 28), uint8 pixels 0-255 or float32 in
    [0, 1], any N; output ``logits`` (N, K). The card's inference fields (temperature, reject rule) go into
    the graph's metadata as JSON under ``digitscope_card``."""
    if input_dtype not in INPUT_DTYPES:
        raise ValueError(f"unknown input type {input_dtype!r}; choose one of: {', '.join(INPUT_DTYPES)}")
    model = model.eval()
    # The exporter restores the wrapper's training flag on every child afterwards: a fresh wrapper is in
    # training mode and would leave the model's dropout switched on.
    graph = _Uint8Input(model).eval() if input_dtype == "uint8" else model
    example = torch.zeros(2, 1, 28, 28, dtype=torch.uint8 if input_dtype == "uint8" else torch.float32)
    buffer = io.BytesIO()
    with warnings.catch_warnings(), torch.no_grad():
        # The TorchScript exporter is deprecated in favour of torch.export, but exports these models in
        # 0.5 s against 3.5 s, and the server exports at every start; torch is pinned, so it stays.
        warnings.simplefilter("ignore", DeprecationWarning)
        # The tracer warns of every shape it reads, mostly harmlessly; whether a trace is right is decided
        # by comparing the graph with PyTorch (checked_onnx_backend, export_model), not by these warnings.
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        torch.onnx.export(graph, (example,), buffer, dynamo=False, opset_version=OPSET,
                          input_names=["images"], output_names=["logits"],
                          dynamic_axes={"images": {0: "batch"}, "logits": {0: "batch"}})
    if card is None:
        return buffer.getvalue()
    inference_card = {k: card[k] for k in CARD_KEYS_EXPORTED if k in card}
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
        quantize_static(str(prepared), str(quantized), Digits(), quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
        return quantized.read_bytes()


def export_model(name_or_path: str | Path, out: str | Path, input_dtype: str = "uint8", quantize: str = "none",
                 calibration: str = "mnist:train", check_images: int = 256) -> dict:
    """Export a bundled or saved model (single or ensemble) to ONNX at ``out``, after checking it against PyTorch.

    Plain graphs must give calibrated probabilities within PARITY_TOLERANCE of PyTorch's on ``check_images``
    random digits. An int8 graph is calibrated on the first CALIBRATION_IMAGES digits of ``calibration`` and
    must give PyTorch's answer on at least INT8_MIN_AGREEMENT of the next ``check_images`` of them."""
    from .classifier import DigitClassifier
    from .data.cache import atomic_path

    if quantize not in QUANTIZATIONS:
        raise ValueError(f"unknown quantization {quantize!r}; choose one of: {', '.join(QUANTIZATIONS)}")
    if not onnxruntime_available():
        raise ValueError("an export is checked with onnxruntime before it is written: pip install onnxruntime")
    classifier = DigitClassifier.load(name_or_path, device=torch.device("cpu"), backend="torch")
    data = export_onnx(classifier.model, input_dtype, classifier.card)
    report = {"model": str(name_or_path), "arch": classifier.card["arch"], "format": "onnx", "out": str(out),
              "input": input_dtype, "opset": OPSET, "quantize": quantize}
    if quantize == "int8":
        from . import data as datasets

        digits = datasets.load(calibration).images[:CALIBRATION_IMAGES + check_images]
        if len(digits) < CALIBRATION_IMAGES + check_images:
            raise ValueError(f"{calibration} has {len(digits)} images; int8 calibration and its check need "
                             f"{CALIBRATION_IMAGES + check_images}")
        data = quantize_int8(data, digits[:CALIBRATION_IMAGES])
        images = digits[CALIBRATION_IMAGES:]
        report["calibration"] = f"{calibration}[:{CALIBRATION_IMAGES}]"
        report["checked_on"] = f"{calibration}[{CALIBRATION_IMAGES}:{CALIBRATION_IMAGES + check_images}]"
    else:
        images = np.random.default_rng(0).integers(0, 256, (check_images, 28, 28), dtype=np.uint8)
        report["checked_on"] = f"{check_images} random images"
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
