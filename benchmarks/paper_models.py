"""Seed 004's three models (DNN = `mlp`, CNN = `cnn`, RNN = `rnn`) trained by our loop with the
`paper` preset (plain cross-entropy, Adam, no augmentation), 3 seeds each, epoch chosen on validation.
Test error rates next to the paper's Table 1 (DNN 2.00%, CNN 0.81%, RNN 0.88%).

    python benchmarks/paper_models.py --archs mlp cnn rnn --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

import _report

import digitscope
from digitscope.analysis import evaluate
from digitscope.train import PRESETS, TrainConfig, train

PAPER = {"mlp": (2.00, 0.076, None), "cnn": (0.81, 0.032, 3.93), "rnn": (0.88, 0.033, None)}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--archs", nargs="+", default=["mlp", "cnn", "rnn"])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = p.parse_args()
    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        for arch in args.archs:
            errors, numeric, seconds = [], [], []
            for seed in args.seeds:
                out = Path(tmp) / f"{arch}-{seed}"
                card = train(TrainConfig(**{**PRESETS["paper"], "arch": arch, "seed": seed}), out, progress=False)
                r = evaluate(digitscope.load(out), "mnist:test")
                errors.append(100 * r["error_rate"])
                numeric.append(r["numeric_error_per_image"])
                seconds.append(card["metrics"]["train_seconds"])
            sd = lambda v: statistics.stdev(v) if len(v) > 1 else 0.0  # noqa: E731
            lines.append(f"| {arch} | {PAPER[arch][0]:.2f}% | {statistics.mean(errors):.2f}% ± {sd(errors):.2f} | "
                         f"{PAPER[arch][1]:.3f} | {statistics.mean(numeric):.3f} ± {sd(numeric):.3f} | "
                         f"{statistics.median(seconds):.0f} s |")
    _report.append(
        "Seed 004's models trained by digitscope (`paper` preset, cross-entropy)",
        "| model | paper error | our error (mean ± std) | paper numeric error / image | ours | training time |\n"
        "|---|---|---|---|---|---|\n" + "\n".join(lines),
    )


if __name__ == "__main__":
    main()
