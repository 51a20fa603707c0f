"""Inference speed: digits per second for batch prediction of MNIST digits, PyTorch eager against onnxruntime
(float32, and int8 calibrated on the first 1,000 mnist:train digits) in the same run, for the default model (or
several, --models) and for an ensemble; median of several repeats, with each backend's accuracy on mnist:val (its
best digit) beside it.

    python benchmarks/infer_speed.py                  # bundled models only: about 5 minutes on 2 cores
    python benchmarks/infer_speed.py --models default runs/default10 \\
        --members runs/mistakes/ce-s0 runs/mistakes/ce-s1 runs/mistakes/ce-s2

The ensemble is built from --members: by default the two bundled models, `default` and `reading` (both gates), so
that the default run needs nothing but a clone; saved 10-class runs make the ensemble the issue asked about
(`python benchmarks/accuracy.py --seeds 0 1 2 --out runs/flagship` trains three). Members must differ:
onnxruntime merges identical subgraphs, so copies of one model would be timed as one.

Evidence (benchmarks/LOG.md, 2026-12-01, Intel Xeon, 2 cores, no GPU): `default` 6,014 digits/s on the float32
onnxruntime path that `load()` and the server use, 13,597 in int8, 4,201 in PyTorch eager (batch 64); an ensemble
of three 10-class runs 1,589 (float32) and 3,659 (int8). The 20,000 digits/s target is not met on that machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import _report
import numpy as np
import torch

import digitscope
from digitscope.inference.backends import OnnxBackend, TorchBackend
from digitscope.inference.export import CALIBRATION_IMAGES, export_onnx, quantize_int8
from digitscope.models import create_model
from digitscope.models.persist import load_model
from digitscope.store.bundled import resolve_model_path


def ensemble_of(paths: list[str]) -> torch.nn.Module:
    """An in-memory ensemble of saved models, as `ensemble combine` would save it."""
    loaded = [load_model(resolve_model_path(p)) for p in paths]
    classes = {c.num_classes for _, c in loaded}  # 10, or 11 with "not a digit"
    if len(classes) != 1:
        raise SystemExit(f"--members answer different numbers of classes ({sorted(classes)}): {paths}")
    model = create_model("ensemble", members=[{"arch": c.arch, "arch_kwargs": c.arch_kwargs} for _, c in loaded],
                         num_classes=classes.pop())
    for slot, (member, _) in zip(model.members, loaded, strict=True):
        slot.load_state_dict(member.state_dict())
    return model.eval()


def backends(model: torch.nn.Module, calibration: np.ndarray) -> dict:
    graph = export_onnx(model)
    return {"PyTorch eager": TorchBackend(model, torch.device("cpu")), "onnxruntime": OnnxBackend(graph),
            "onnxruntime int8": OnnxBackend(quantize_int8(graph, calibration))}


def rate(backend, images: np.ndarray, batch_size: int, repeats: int, budget: float) -> float:
    """Median digits/s over ``repeats`` passes, each over consecutive batches until ``budget`` seconds
    (at least one batch): slow backends are timed on fewer digits instead of for longer."""
    rates = []
    for _ in range(repeats):
        n, t0 = 0, time.perf_counter()
        while n < len(images) and (n == 0 or time.perf_counter() - t0 < budget):
            n += len(backend.logits(images[n:n + batch_size], batch_size))
        rates.append(n / (time.perf_counter() - t0))
    return statistics.median(rates)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", nargs="+", default=["default"], help="bundled names or saved models")
    p.add_argument("--members", nargs="+", default=["default", "reading"],
                   help="bundled names or saved models (training folders) making the ensemble; they must differ")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 64, 512, 2048])
    p.add_argument("--budget", type=float, default=2.0, help="seconds per timed pass")
    args = p.parse_args()
    images = digitscope.data.load("mnist:test").images  # timing only: the answers are not looked at
    val = digitscope.data.load("mnist:val")
    calibration = digitscope.data.load("mnist:train").images[:CALIBRATION_IMAGES]
    load_before = os.getloadavg()[0]
    subjects = {**{f"`{m}`": load_model(resolve_model_path(m))[0].eval() for m in args.models},
                f"ensemble of {len(args.members)}": ensemble_of(args.members)}
    rows, accuracy = [], {}
    for label, model in subjects.items():
        for name, backend in backends(model, calibration).items():
            digits = backend.logits(val.images)[:, :10].argmax(1)  # the best digit, with or without "not a digit"
            accuracy[label, name] = float((digits == val.labels).mean())  # and warms the backend up
            rows.append((label, name, [rate(backend, images, bs, args.repeats, args.budget)
                                       for bs in args.batch_sizes]))
    header = " | ".join(f"batch {bs}" for bs in args.batch_sizes)
    table = "\n".join(f"| {label} | {name} | " + " | ".join(f"{r:,.0f}" for r in rates)
                      + f" | {accuracy[label, name]:.2%} |" for label, name, rates in rows)
    best = {label: max((r for lab, _, rates in rows if lab == label for r in rates)) for label in subjects}
    _report.append(
        "Inference speed: PyTorch eager vs onnxruntime (float32, int8), same run",
        f"digits/s on MNIST test images, median of {args.repeats} passes of up to {args.budget:g} s (at most "
        f"{len(images):,} digits); accuracy on mnist:val; load average "
        f"{load_before:.1f} at the start (other work on the machine slows every backend alike); int8: static "
        f"quantization calibrated on mnist:train[:{CALIBRATION_IMAGES}].\n\n"
        f"| model | backend | {header} | mnist:val accuracy |\n|---|---|{'---|' * len(args.batch_sizes)}---|\n"
        f"{table}\n\nFastest: " + "; ".join(f"{label} {rate:,.0f} digits/s" for label, rate in best.items())
        + " (target for a single model: >= 20,000 digits/s).")


if __name__ == "__main__":
    main()
