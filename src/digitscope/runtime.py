"""Where and how tensors run: the device, and whether bf16 autocast and channels_last pay off on it."""

from __future__ import annotations

import contextlib

import torch


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def bf16_supported(device: torch.device) -> bool:
    """bf16 is fast on CUDA GPUs that support it and on CPUs with AVX512-BF16 or AMX (oneDNN)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def resolve_precision(precision: str, device: torch.device) -> str:
    if precision not in ("auto", "bf16", "fp32"):
        raise ValueError(f"precision must be auto, bf16 or fp32, not {precision!r}")
    if precision == "auto":
        return "bf16" if bf16_supported(device) else "fp32"
    return precision


def autocast(precision: str, device: torch.device):
    if precision == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def use_channels_last(precision: str, device: torch.device) -> bool:
    """Channels-last convolutions: with bf16 (what AMX and tensor cores run fastest), and in float32 on any CPU,
    where oneDNN's channels-last kernels beat NCHW as well (one training step on an AVX2 CPU without bf16:
    quicknet 1.9x, digitnet 1.1x with 2 threads: benchmarks/layout_speed.py)."""
    return precision == "bf16" or device.type == "cpu"
