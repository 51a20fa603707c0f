"""Seed 004 reproduced: its three models (DNN = `mlp`, CNN = `cnn`, RNN = `rnn`) trained by our loop with
the `paper` preset, cross-entropy against the numerical loss (alpha 0.05, beta 0.9), 3 trials each, epoch
chosen on validation, test read once per run. The same steps as

    digitscope experiment numerical-loss --models mlp,cnn,rnn --trials 3 --data mnist --out runs/paper

    python benchmarks/paper_models.py --models mlp cnn rnn --trials 3 --out runs/paper

Finished runs in --out are reused, so the figures can be written again without training. Trains what it
compares: with the defaults 18 runs (3 models x 2 losses x 3 trials, 10 epochs each), hours on 2 cores.

Evidence (benchmarks/LOG.md, 2026-11-22, AMD EPYC, 2 cores, no GPU): CNN 0.87% ± 0.11 error with cross-entropy
and 0.76% ± 0.02 with the numerical loss (the paper: 0.81% and 0.78%); MLP 1.90% (paper 2.00%); our row-LSTM
1.49% (paper 0.88%).
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import _report

from digitscope.analysis.experiments import METHODS, METRICS, numerical_loss_experiment

# The paper's Table 1 (cross-entropy) and its CNN with the numerical loss; None where it gives no figure.
PAPER = {
    ("mlp", "baseline"): (2.00, 0.076, None),
    ("cnn", "baseline"): (0.81, 0.032, 3.93),
    ("cnn", "proposed"): (0.78, 0.028, 3.59),
    ("rnn", "baseline"): (0.88, 0.033, None),
}


def beside_the_paper(summary: list[dict]) -> str:
    lines = ["| model | loss | " + " | ".join(f"{title}: paper | ours" for _, title, _ in METRICS) + " |",
             "|---|---|" + "---|---|" * len(METRICS)]
    for s in summary:
        paper = PAPER.get((s["model"], s["method"]), (None,) * len(METRICS))
        cells = [f"{'—' if p is None else f'{p:.{d}f}'} | {s[key]['mean']:.{d}f} ± {s[key]['std']:.{d}f}"
                 for p, (key, _, d) in zip(paper, METRICS, strict=True)]
        lines.append(f"| {s['model']} | {METHODS[s['method']][0]} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", nargs="+", default=["mlp", "cnn", "rnn"])
    p.add_argument("--trials", type=int, default=3)
    p.add_argument("--data", default="mnist")
    p.add_argument("--epochs", type=int, default=None, help="default: the paper preset's")
    p.add_argument("--out", type=Path, default=Path("runs/paper"),
                   help="where the runs are trained (finished ones are reused)")
    args = p.parse_args()
    results = numerical_loss_experiment(args.models, args.trials, args.data, args.out, args.epochs)
    figures = Path(__file__).parent / "paper_models"  # beside LOG.md: runs/ is not kept
    figures.mkdir(exist_ok=True)
    kept = {split: shutil.copy(path, figures / f"{args.data}-{Path(path).name}")
            for split, path in results["figures"].items()}
    mnist_test = [s for s in results["summary"] if s["split"] == "test"] if args.data == "mnist" else []
    _report.append(
        f"Seed 004 reproduced on {args.data}: cross-entropy vs the numerical loss ({', '.join(args.models)}, "
        f"{args.trials} trials)",
        results["table"]
        + (f"\nBeside the paper (its single runs; ours mean ± std):\n\n{beside_the_paper(mnist_test)}\n"
           if mnist_test else "")
        + "\n" + "\n".join(f"Error magnitudes among the mistakes ({args.data}:{split}): "
                            f"`{Path(path).relative_to(Path(__file__).parent)}`" for split, path in kept.items()),
    )


if __name__ == "__main__":
    main()
