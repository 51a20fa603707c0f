"""Flagship accuracy: train the `flagship` preset with several seeds, select each run's epoch on the
validation split, then read the MNIST test set once per run. Reports mean ± std and training time.

    python benchmarks/accuracy.py --seeds 0 1 2 --out runs/flagship

Trains what it reads (finished runs in --out are reused, interrupted ones resumed): the default, three flagship
seeds of 20 epochs, takes about 1 hour on 2 cores without bf16 (about 20 min a run; 7-11 min a run with bf16).

Evidence (benchmarks/LOG.md, 2026-12-02, AMD EPYC, 2 cores, no bf16, no GPU): `--preset flagship-full` (all 60,000
training images, the last of 20 epochs) reads MNIST test at 99.707% ± 0.032 over seeds 0-2, 21-23 min a run; the
`flagship` preset on the 55,000-image split 99.683% ± 0.025, same seeds.
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

import _report

import digitscope
from digitscope.analysis import evaluate
from digitscope.cli.train import config_from_argv
from digitscope.training.loop import train_or_reuse


def train_and_test(preset: str, seeds: list[int], out: Path, extra: list[str] = ()) -> list[dict]:
    """Train one run per seed (reusing finished runs, resuming interrupted ones), then read the test set once
    per run."""
    rows = []
    for seed in seeds:
        run = out / f"seed{seed}"
        argv = ["--preset", preset, "--seed", str(seed), "--out", str(run), *extra]
        card = train_or_reuse(config_from_argv(argv), run,
                              command="digitscope train " + " ".join(argv))
        test = evaluate(digitscope.load(run), "mnist:test")
        rows.append({"seed": seed, "selected_epoch": card["metrics"]["selected"]["epoch"],
                     "val_accuracy": card["metrics"]["selected"].get("val_accuracy"),  # none in a final fit
                     "test_accuracy": test["accuracy"], "train_seconds": card["metrics"]["wall_seconds"],
                     "numeric_error_per_image": test["numeric_error_per_image"]})
    return rows


def percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.4%}"


def mean_std(values: list[float]) -> str:
    return f"{statistics.mean(values):.4%} ± {statistics.stdev(values) if len(values) > 1 else 0:.4%}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", default="flagship")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--out", type=Path, default=Path("runs/flagship"),
                   help="where the runs are trained (finished ones are reused)")
    p.add_argument("--extra", nargs=argparse.REMAINDER, default=[], help="more training options")
    args = p.parse_args()

    rows = train_and_test(args.preset, args.seeds, args.out, args.extra)
    secs = [r["train_seconds"] for r in rows]
    table = "\n".join(
        f"| {r['seed']} | {r['selected_epoch']} | {percent(r['val_accuracy'])} | {r['test_accuracy']:.4%} | "
        f"{r['train_seconds'] / 60:.1f} min |" for r in rows)
    _report.append(
        f"Accuracy: `{args.preset}` preset, {len(rows)} seeds",
        f"| seed | epoch kept (chosen on val; the last in a final fit) | val acc | test acc | training time |\n"
        f"|---|---|---|---|---|\n{table}\n\n"
        f"**Test accuracy {mean_std([r['test_accuracy'] for r in rows])}** "
        f"(mean ± std over seeds {', '.join(map(str, args.seeds))}); training time "
        f"{min(secs) / 60:.1f}-{max(secs) / 60:.1f} min per run (wall clock, validation passes included).",
    )


if __name__ == "__main__":
    main()
