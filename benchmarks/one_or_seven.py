"""Is it a 1 or a 7? The European 1 with a long up-stroke against the 7, on writers the model never trained on.

    python benchmarks/one_or_seven.py                                     # the bundled default
    python benchmarks/one_or_seven.py --models default runs/mc-gate runs/mc-spec/model --costs 1 3 10

For each model, on CVL `valid` (60 writers) and on `mnist-writers:val` (46 MNIST writers): accuracy, the share of
1s read as 7 and of 7s read as 1; and the same under the minimum-expected-cost decision with a cost C for 1 -> 7
and for 7 -> 1 (every other mistake 1), one of the answers a cost for the mistake gives. Both sets are validation
sets: what is kept is chosen here, and nothing here is a test figure. A pair specialist is a model like any other
(`digitscope specialists ... --out DIR` makes DIR/model).

No training; under a minute for each model on 2 cores. Appends its table to benchmarks/LOG.md.
"""

from __future__ import annotations

import argparse

import _report
import numpy as np

import digitscope
from digitscope import data

SETS = ("cvl:valid", "mnist-writers:val")


def rates(labels: np.ndarray, answers: np.ndarray) -> tuple[float, float, float]:
    """Accuracy, 1 -> 7 among the 1s, 7 -> 1 among the 7s."""
    return (float((answers == labels).mean()), float((answers[labels == 1] == 7).mean()),
            float((answers[labels == 7] == 1).mean()))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", nargs="+", default=["default"], help="bundled names or saved models")
    p.add_argument("--costs", nargs="+", type=float, default=[1.0, 3.0, 10.0],
                   help="the cost of 1 -> 7 and of 7 -> 1 under the min-cost decision (1: plain argmax)")
    args = p.parse_args()
    rows = ["| model | decision | " + " | ".join(f"{s} accuracy | 1->7 | 7->1" for s in SETS) + " |",
            "|---|---|" + "---|---|---|" * len(SETS)]
    for name in args.models:
        for c in args.costs:
            rule = {} if c == 1.0 else {"decision": "min-cost", "cost": f"1->7={c:g},7->1={c:g}"}
            model = digitscope.load(name, **rule)
            cells = []
            for spec in SETS:
                arrays = data.load(spec)
                answers = model.best_digit(model.predict_proba(arrays.images))
                cells += [f"{100 * v:.2f}%" for v in rates(arrays.labels, answers)]
            decision = "argmax" if c == 1.0 else f"min-cost, 1<->7 costs {c:g}"
            rows.append(f"| {name} | {decision} | " + " | ".join(cells) + " |")
    _report.append("1 or 7: writers the model never trained on", "\n".join(rows))


if __name__ == "__main__":
    main()
