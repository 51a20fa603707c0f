"""Line readers alone and together: how an ensemble of line readers should pool its members.

    python benchmarks/line_ensembles.py runs/lines-e16/model runs/lines-e16-s1/model [MORE...]

On amount-lines' validation parts (ORAND's `choose` amounts, 128, and `strings-val`, 2,000 written amounts of
`cvl:valid` and `mnist-writers:val` digits; no training side), the exact share of each line reader's greedy text,
then of the members together pooled three ways: the mean of their columns (then greedy), and, of the members'
own greedy texts, the one with the highest mean of the members' CTC probabilities or the highest geometric mean
(what `line_ensemble` does, ``reading.line_model.read_texts``). The line readers alone: beside the Reader's cuts,
see ``read_amounts.py``. A few seconds per member on 2 cores; nothing is appended to benchmarks/LOG.md.
"""

from __future__ import annotations

import argparse

import numpy as np
from scipy.special import logsumexp

from digitscope import data
from digitscope.reading import line_model

PARTS = ("amount-lines:choose", "amount-lines:strings-val")


def exact(texts: list[str], truth: list[str]) -> str:
    return f"{np.mean([a == b for a, b in zip(texts, truth, strict=True)]):.1%}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("models", nargs="+", help="line readers (saved models or bundled names)")
    args = p.parse_args()
    networks = [line_model.load_line_model(m)[0] for m in args.models]
    for part in PARTS:
        lines = data.load(part)
        truth = line_model.target_texts(lines.labels)
        members = np.concatenate([line_model.line_log_probs(n, lines.images) for n in networks], axis=1)
        print(f"{part} ({len(truth)} amounts)")
        for name, k in zip(args.models, range(members.shape[1]), strict=True):
            print(f"  {name}: {exact(line_model.greedy_texts(members[:, k]), truth)}")
        if members.shape[1] > 1:
            column_mean = logsumexp(members, axis=1) - np.log(members.shape[1])
            print(f"  mean of the columns: {exact(line_model.greedy_texts(column_mean), truth)}")
            mean = line_model.read_texts(members, lambda s: logsumexp(s, axis=0))
            print(f"  mean of the text probabilities: {exact(mean, truth)}")
            geometric = line_model.read_texts(members)
            print(f"  geometric mean of the text probabilities (line_ensemble): {exact(geometric, truth)}")


if __name__ == "__main__":
    main()
