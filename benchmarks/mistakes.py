"""Mistakes that matter less, on the flagship architecture: plain cross-entropy, seed 004's numerical loss,
cost-sensitive training with the `numeric` cost |i - j|, plain cross-entropy with the Bayes minimum-expected-cost
decision under that cost, and the variant head (K latent variants per digit), the same seeds for each.

    python benchmarks/mistakes.py --seeds 0 1 2 --epochs 10 --out runs/mistakes

Every run is temperature-scaled on mnist:val (the min-cost decision needs probabilities that mean what they say;
argmax is unchanged by it), then read once on mnist:test. Finished runs in --out are reused.

Trains what it compares: with the defaults 12 runs of 10 flagship epochs, about 2 hours on 2 cores without bf16.

Evidence (benchmarks/LOG.md, 2026-12-01, Intel Xeon, 2 cores, no GPU): no configuration comes near 15% less
numeric error per misidentified image; the min-cost decision does best (-3.0%, 3.85 -> 3.74) at equal accuracy.
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

import _report

import digitscope
from digitscope.analysis import evaluate
from digitscope.cli.train import config_from_argv
from digitscope.store.saved import read_card
from digitscope.training.loop import train_or_reuse
from digitscope.uncertainty.calibration import calibrate_model

# name -> (training options, decision at prediction); runs with the same options are trained once.
CONFIGS = {
    "cross-entropy": ([], "argmax"),
    "numerical loss (α 0.05, β 0.9)": (["--loss", "numerical", "--alpha", "0.05", "--beta", "0.9"], "argmax"),
    "cost-sensitive training (numeric cost)": (["--loss", "cost", "--cost", "numeric"], "argmax"),
    "cross-entropy + min-cost decision": ([], "min-cost"),
    "variant head (K = 3)": (["--arch-kwargs", '{"variants": 3}'], "argmax"),
}
METRICS = (("accuracy", "accuracy", "{:.2%}"), ("numeric_error_per_image", "numeric error per image", "{:.4f}"),
           ("numeric_error_per_misidentified", "numeric error per misidentified image", "{:.3f}"),
           ("mean_cost", "mean cost (numeric)", "{:.4f}"))


def run_name(options: list[str]) -> str:
    return "-".join(o.strip("-{}\"").replace('": ', "") for o in options) or "ce"


def measure(seeds: list[int], epochs: int, out: Path, extra: list[str] = ()) -> dict[str, list[dict]]:
    rows: dict[str, list[dict]] = {name: [] for name in CONFIGS}
    for name, (options, decision) in CONFIGS.items():
        for seed in seeds:
            run = out / f"{run_name(options)}-s{seed}"
            argv = ["--preset", "flagship", "--epochs", str(epochs), "--seed", str(seed), "--out", str(run), *options,
                    *extra]
            train_or_reuse(config_from_argv(argv), run,
                           command="digitscope train " + " ".join(argv))
            if not read_card(run / "model").calibration:
                calibrate_model(run, "mnist:val")
            model = digitscope.load(run, decision=decision, cost="numeric")  # cost: for mean_cost under argmax too
            rows[name].append(evaluate(model, "mnist:test"))
    return rows


def table(rows: dict[str, list[dict]]) -> str:
    def cell(reports, key, fmt):
        values = [r[key] for r in reports]
        spread = statistics.stdev(values) if len(values) > 1 else 0.0
        return f"{fmt.format(statistics.mean(values))} ± {fmt.format(spread)}"

    base = rows["cross-entropy"]
    lines = ["| configuration | " + " | ".join(title for _, title, _ in METRICS) + " | per misidentified vs CE |",
             "|---|" + "---|" * (len(METRICS) + 1)]
    for name, reports in rows.items():
        change = (statistics.mean(r["numeric_error_per_misidentified"] for r in reports)
                  / statistics.mean(r["numeric_error_per_misidentified"] for r in base) - 1)
        lines.append(f"| {name} | " + " | ".join(cell(reports, k, f) for k, _, f in METRICS) + f" | {change:+.1%} |")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--epochs", type=int, default=10, help="the flagship preset's schedule, this many epochs")
    p.add_argument("--out", type=Path, default=Path("runs/mistakes"),
                   help="where the runs are trained (finished ones are reused)")
    p.add_argument("--extra", nargs=argparse.REMAINDER, default=[], help="more training options, for every run")
    args = p.parse_args()
    rows = measure(args.seeds, args.epochs, args.out, args.extra)
    _report.append(
        f"Mistakes that matter less: flagship architecture, {args.epochs} epochs, seeds "
        f"{', '.join(map(str, args.seeds))}",
        "MNIST test, mean ± std over the seeds; every run temperature-scaled on mnist:val.\n\n" + table(rows),
    )


if __name__ == "__main__":
    main()
