"""The inference backends that turn uint8 digits into logits (PyTorch, onnxruntime), and the compiled graphs
that let onnxruntime run a saved model without PyTorch.

Every backend answers one question, ``logits(images)`` for uint8 (N, 28, 28) MNIST-style digits, so the
classifier's temperature, reject rule and decisions stay in one place whichever backend runs. On a CPU,
onnxruntime runs the default model several times faster than PyTorch eager at every batch size
(``benchmarks/infer_speed.py``), so ``auto`` picks it there whenever it is installed.

Nothing here imports PyTorch at module level: importing it costs about a second and 250 MB of memory, and a
server answering from a compiled graph never needs it (``benchmarks/serve.py``).
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

if TYPE_CHECKING:
    import torch
    from torch import nn

# int8: onnxruntime on the model's int8 graph, quantized and checked once by ``digitscope export --quantize int8`` and
# kept beside its weights (``store.saved.int8_path``): about twice as fast where the CPU has VNNI, and a few digits in
# a thousand may be read otherwise (the export refuses a graph that gives PyTorch's answer on less than 99.5% of
# held-out digits). ``auto`` chooses it for a model that has one, since keeping the graph beside the weights is the
# model's maker choosing it; the bundled ``reading`` has one (docs/serving.md).
BACKENDS = ("auto", "torch", "onnxruntime", "int8")
# Images per network call. Larger batches are no faster on a CPU (256 is the fastest measured for both
# backends), and the peak activations of the largest batch seen stay allocated: onnxruntime's arena kept
# growing with each new batch size at 2048, which made long batch-reading jobs grow too.
PREDICT_BATCH = 256
# A compiled graph is valid for these weights, this card, and this code: a change to an architecture's
# forward pass or to the exporter makes a new graph, not a stale one.
COMPILED_FROM = ("models", "inference/export.py")


class Backend(Protocol):
    name: str

    def logits(self, images: np.ndarray, batch_size: int = PREDICT_BATCH) -> np.ndarray:
        """uint8 (N, 28, 28) digits -> (N, K) float32 logits."""


class TorchBackend:
    name = "torch"

    def __init__(self, model: nn.Module, device: torch.device):
        self.model, self.device = model, device

    def logits(self, images: np.ndarray, batch_size: int = PREDICT_BATCH) -> np.ndarray:
        import torch

        from .forward import float_batches

        with torch.no_grad():
            out = [self.model(x).float().cpu() for x in float_batches(images, batch_size, self.device)]  # each (B, K)
        return torch.cat(out).numpy()


class OnnxBackend:
    """An onnxruntime session over a graph from ``export.export_onnx`` (uint8 or float32 input); `name`: what reports
    and /health call it (``int8`` for a model's int8 graph)."""

    def __init__(self, onnx_model: bytes | str | Path, threads: int | None = None, name: str = "onnxruntime"):
        import onnxruntime as ort

        self.name = name

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
    """Whether onnxruntime is installed, found without importing it (40 MB that a process choosing a backend for
    others, like the server's supervisor, never uses)."""
    try:
        return importlib.util.find_spec("onnxruntime") is not None
    except ValueError:  # a module without a spec stands in for it
        return False


def default_device_type() -> str:
    """The type of ``runtime.default_device()`` ('cuda' or 'cpu'), asking PyTorch only where a GPU driver shows:
    CUDA and ROCm both need one, and without it the answer is 'cpu' whatever PyTorch would say."""
    if not any(Path(p).exists() for p in ("/proc/driver/nvidia/version", "/dev/kfd")):
        return "cpu"
    from ..runtime import default_device

    return default_device().type


def resolve_backend(choice: str, device_type: str, mc_samples: int = 0, has_int8: bool = False) -> str:
    """'auto' -> on a CPU with onnxruntime installed (and no MC dropout asked), the model's int8 graph where it has
    one (`has_int8`) and onnxruntime otherwise; torch elsewhere."""
    if choice not in BACKENDS:
        raise ValueError(f"unknown backend {choice!r}; choose one of: {', '.join(BACKENDS)}")
    if choice == "auto":
        if device_type == "cpu" and not mc_samples and onnxruntime_available():
            return "int8" if has_int8 else "onnxruntime"
        return "torch"
    if choice in ("onnxruntime", "int8"):
        if device_type != "cpu":
            raise ValueError(f"the {choice} backend runs on the CPU; this model is on {device_type}")
        if mc_samples:
            raise ValueError("MC dropout (--mc-samples) runs on the torch backend only")
        if not onnxruntime_available():
            raise ValueError(f"the {choice} backend needs the onnxruntime package: pip install onnxruntime")
    return choice


def compiled_graph(weights: Path, card_file: Path, export: Callable[[], bytes]) -> bytes:
    """The ONNX graph of a saved model, from the cache under ``$DIGITSCOPE_DATA/compiled`` when it holds one
    for these exact weights, card and code, otherwise from ``export()`` (an export checked against PyTorch),
    which is then cached: only a model's first load on a machine needs PyTorch."""
    from ..io import atomic_path, data_dir

    path = data_dir() / "compiled" / f"{_compiled_key(weights, card_file)}.onnx"
    if path.exists():
        return path.read_bytes()
    graph = export()
    with atomic_path(path) as tmp:  # a load interrupted mid-write leaves no half graph to be read next time
        tmp.write_bytes(graph)
    return graph


def _compiled_key(weights: Path, card_file: Path) -> str:
    from ..io import source_digest
    from ..version import __version__

    digest = source_digest(*COMPILED_FROM)
    digest.update(__version__.encode())
    for path in (weights, card_file):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:32]
