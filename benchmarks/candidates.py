"""Digits as the Reader cuts them: models on `mnist-candidates` (MNIST digits, then the Reader's candidates cut from
synthetic strings of the same split's digits, labelled 0-9 or 10 "not a digit": `digitscope.data.candidates`).

    python benchmarks/candidates.py --models default reading --data mnist-candidates:val

For each model: accuracy on the split's MNIST digits, accuracy on the candidates that are one whole digit (the best
of the ten digits, whatever p(not a digit) says), and for models with that class how well p(not a digit) tells the
mis-cuts (class 10) from the whole digits (AUROC, mis-cuts positive). Choose on `:val`; `:test` is made of
mnist:test digits only.
"""

from __future__ import annotations

import argparse

import _report
import numpy as np

import digitscope
from digitscope.labels import NOT_A_DIGIT
from digitscope.uncertainty.ood import auroc_fpr95


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--models", nargs="+", default=["default", "reading"])
    p.add_argument("--data", default="mnist-candidates:val")
    args = p.parse_args()
    arrays = digitscope.data.load(args.data)
    mnist = np.arange(len(arrays)) < len(digitscope.data.load(f"mnist:{args.data.partition(':')[2] or 'train'}"))
    cut_digit, mis_cut = ~mnist & (arrays.labels < NOT_A_DIGIT), arrays.labels == NOT_A_DIGIT
    rows = []
    for name in args.models:
        probs = digitscope.load(name).predict_proba(arrays.images)
        best = probs[:, :NOT_A_DIGIT].argmax(axis=1)
        separation = "—"
        if probs.shape[1] > NOT_A_DIGIT:
            separation = f"{auroc_fpr95(probs[mis_cut, NOT_A_DIGIT], probs[cut_digit, NOT_A_DIGIT])['auroc']:.4f}"
        rows.append(f"| `{name}` | {(best[mnist] == arrays.labels[mnist]).mean():.2%} | "
                    f"{(best[cut_digit] == arrays.labels[cut_digit]).mean():.2%} | {separation} |")
    body = (f"{args.data}: {mnist.sum():,} MNIST digits, {cut_digit.sum():,} candidates that are one whole digit, "
            f"{mis_cut.sum():,} mis-cuts.\n\n"
            "| model | MNIST digits: accuracy | the Reader's cuts of digits: accuracy "
            "| p(not a digit): AUROC of mis-cuts against cut digits |\n|---|---|---|---|\n" + "\n".join(rows))
    _report.append("Digits as the Reader cuts them (mnist-candidates)", body)


if __name__ == "__main__":
    main()
