"""Training-step time in NCHW against channels_last, same run, on this machine's CPU and precision.

    python benchmarks/layout_speed.py

For each preset's architecture and batch size: forward, backward and AdamW step on random 28x28 images, the
precision training would use here (bf16 where the CPU supports it, float32 elsewhere), the two memory layouts
timed in alternation (median of --repeats blocks of --steps steps). What `runtime.use_channels_last` rests on.
Random images, no data and no training: about 1 minute on 2 cores with the defaults.

Evidence (benchmarks/LOG.md, 2026-12-02, AMD EPYC, 2 cores, no bf16, no GPU): `fast` 28.7 ms -> 14.8 ms a step
(1.93x), `flagship` 180.2 -> 164.0 ms (1.10x) in channels_last.
"""

from __future__ import annotations

import argparse
import statistics
import time

import _report
import torch
import torch.nn.functional as F

from digitscope.models import create_model
from digitscope.runtime import autocast, default_device, resolve_precision
from digitscope.training.config import PRESETS


def step_timer(arch: str, batch: int, channels_last: bool, precision: str, device: torch.device):
    torch.manual_seed(0)
    model = create_model(arch, num_classes=10).to(device)
    x = torch.rand(batch, 1, 28, 28, device=device)
    y = torch.randint(0, 10, (batch,), device=device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(model.parameters())

    def run(steps: int) -> float:
        started = time.perf_counter()
        for _ in range(steps):
            with autocast(precision, device):
                loss = F.cross_entropy(model(x).float(), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        return (time.perf_counter() - started) / steps

    run(3)  # warm-up: oneDNN picks and caches its kernels
    return run


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--presets", nargs="+", default=["fast", "flagship"])
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args()
    device = default_device()
    precision = resolve_precision("auto", device)
    rows = []
    for preset in args.presets:
        arch, batch = PRESETS[preset]["arch"], PRESETS[preset]["batch_size"]
        timers = {layout: step_timer(arch, batch, layout == "channels_last", precision, device)
                  for layout in ("NCHW", "channels_last")}
        times = {layout: [] for layout in timers}
        for _ in range(args.repeats):
            for layout, run in timers.items():
                times[layout].append(run(args.steps))
        nchw, last = statistics.median(times["NCHW"]), statistics.median(times["channels_last"])
        rows.append(f"| `{preset}` ({arch}, batch {batch}) | {nchw * 1e3:.1f} ms | {last * 1e3:.1f} ms | "
                    f"{nchw / last:.2f}x |")
    _report.append(
        f"Training step: NCHW vs channels_last ({precision}, same run)",
        "| preset | NCHW | channels_last | speed-up |\n|---|---|---|---|\n" + "\n".join(rows) +
        f"\n\nMedian of {args.repeats} blocks of {args.steps} steps each (forward, backward, AdamW).",
    )


if __name__ == "__main__":
    main()
