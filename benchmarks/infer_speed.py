"""Inference speed: digits per second for batch prediction of the MNIST test set (10,000 images) with
the default model, per batch size; median of several repeats.

    python benchmarks/infer_speed.py --repeats 5
"""

from __future__ import annotations

import argparse
import statistics
import time

import _report

import digitscope


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--model", default="default")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 64, 2048])
    args = p.parse_args()
    model = digitscope.load(args.model)
    images = digitscope.data.load("mnist:test").images
    model.predict(images[:256])  # warm-up: first calls pay for allocations
    rows = []
    for bs in args.batch_sizes:
        n = 1000 if bs == 1 else len(images)  # batch size 1 is slow: time the first 1,000
        times = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            model.logits(images[:n], batch_size=bs)
            times.append(time.perf_counter() - t0)
        rows.append((bs, n, n / statistics.median(times)))
    table = "\n".join(f"| {bs} | {n:,} | {rate:,.0f} |" for bs, n, rate in rows)
    _report.append(f"Inference speed: `{args.model}` model, PyTorch backend",
                   f"| batch size | images | digits/s (median of {args.repeats}) |\n|---|---|---|\n{table}")


if __name__ == "__main__":
    main()
