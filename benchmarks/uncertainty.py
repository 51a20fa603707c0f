"""Out-of-distribution detection and selective classification of a model, in one table.

For each out-of-distribution set: AUROC of telling MNIST test digits from it, per score (the model's own
reject rule first). Then the reject rule on MNIST test: coverage and error among answered, with the
threshold chosen on validation (`digitscope calibrate`), never on test.

    python benchmarks/uncertainty.py --model default
    python benchmarks/uncertainty.py --model default --mc-samples 10
"""

from __future__ import annotations

import argparse

import _report

import digitscope
from digitscope.analysis import evaluate
from digitscope.uncertainty.ood import ood_eval


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--model", default="default")
    p.add_argument("--mc-samples", type=int, default=0)
    p.add_argument("--n", type=int, default=5000, help="images per out-of-distribution set")
    args = p.parse_args()
    model = digitscope.load(args.model, mc_samples=args.mc_samples)
    report = ood_eval(model, "mnist:test", args.n)
    scores = list(next(iter(report.values()))["by_score"])
    rows = "\n".join(f"| {name} | {r['n']:,} | " + " | ".join(f"{r['by_score'][s]['auroc']:.4f}" for s in scores)
                     + f" | {r['fpr95']:.3f} |" for name, r in report.items())
    test = evaluate(model, "mnist:test")
    selective = test.get("selective")
    method = f"`{args.model}`" + (f" with MC dropout ({args.mc_samples} samples)" if args.mc_samples else "")
    _report.append(
        f"Out-of-distribution and selective classification: {method}",
        f"AUROC (MNIST test = positive) per score; FPR95 of the reject rule.\n\n"
        f"| set | images | {' | '.join(scores)} | FPR95 (reject rule) |\n|---|---|"
        + "---|" * (len(scores) + 1) + f"\n{rows}\n\n"
        f"MNIST test: accuracy {test['accuracy']:.2%}, ECE {test['calibration']['ece']:.4f}, "
        f"NLL {test['calibration']['nll']:.4f}, AURC {test['aurc']:.5f}"
        + (f"; reject rule (threshold {selective['threshold']:.4f}, chosen on validation for at most "
           f"{selective['max_risk']:.1%} risk) answers {selective['coverage']:.2%} with "
           f"{selective['risk']:.3%} of those wrong." if selective else "; no reject rule in the card."),
    )


if __name__ == "__main__":
    main()
