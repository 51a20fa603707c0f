"""Data-parallel training: 2 gloo processes vs 1 on this machine, same recipe, global batch and seed.

Both runs are the `fast` preset on the full 55k training split, each started the way a user starts it
(`digitscope train` vs `digitscope train --distributed --nproc-per-node 2`), the cores shared out
evenly: 1 process x all threads vs 2 processes x half the threads each. Reports the validation accuracy
(mnist:val) of each and the median training time per epoch; the runs alternate per seed so that drift in
the machine's load hits both alike.

    python benchmarks/ddp.py --epochs 2 --seeds 0

Trains what it compares (in a temporary folder): about 2 minutes on 2 cores with the defaults.

Evidence (benchmarks/LOG.md, 2026-11-22, AMD EPYC, 2 cores, no GPU; --epochs 2 --seeds 0 1): 8.2 s an epoch in one
process, 11.0 s in two (0.74x): on shared cores data parallelism adds processes, not cores.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import _report


def run(processes: int, epochs: int, seed: int, out: Path) -> dict:
    """Train into ``out`` with ``processes`` processes; returns the saved card."""
    cores = os.cpu_count() or 1
    recipe = ["--preset", "fast", "--epochs", str(epochs), "--seed", str(seed), "--no-progress", "--out", str(out)]
    launch = ["--distributed", "--nproc-per-node", str(processes)] if processes > 1 else []
    env = {**os.environ, "OMP_NUM_THREADS": str(max(1, cores // processes))}
    subprocess.run([sys.executable, "-m", "digitscope", "train", *launch, *recipe], env=env, check=True,
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return json.loads((out / "model.json").read_text())


def load_average() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    args = p.parse_args()
    load_before = load_average()
    results: dict[int, list[dict]] = {1: [], 2: []}
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds:
            for processes in (1, 2):
                results[processes].append(run(processes, args.epochs, seed, Path(tmp) / f"p{processes}-s{seed}"))
    rows, per_epoch = [], {}
    for processes, cards in results.items():
        per_epoch[processes] = statistics.median(h["seconds"] for c in cards for h in c["history"])
        val = [c["history"][-1]["val_accuracy"] for c in cards]
        threads = max(1, (os.cpu_count() or 1) // processes)
        rows.append(f"| {processes} ({cards[0].get('distributed', {}).get('backend', 'no DDP')}), "
                    f"{threads} thread{'s' if threads > 1 else ''} each | {args.epochs} | "
                    f"{_report.mean_std(val)} | {per_epoch[processes]:.1f} s |")
    speedup = per_epoch[1] / per_epoch[2]
    _report.append(
        "Data-parallel training: 2 gloo processes vs 1 (fast preset, global batch 64)",
        "| processes | epochs | final val accuracy (mnist:val) | training time per epoch (median) |\n"
        "|---|---|---|---|\n" + "\n".join(rows) + "\n\n"
        f"**2 processes: {speedup:.2f}x the speed of 1** on {os.cpu_count()} cores, seeds {args.seeds}. "
        "Here both share the same cores, so data parallelism has nothing to gain: it adds processes, not cores, "
        "each on half the batch (smaller, less efficient kernels), plus a gradient all-reduce every step. It pays "
        "off when each process has cores, or a GPU, of its own. "
        f"Load average (1/5/15 min) before: {load_before}, after: {load_average()}.",
    )


if __name__ == "__main__":
    main()
