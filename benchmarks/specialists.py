"""Specialists for the generalist's most confused pairs: errors on those pairs and overall, with and without.

The pairs, each specialist's saved epoch and the routing margin are all chosen on mnist:val; mnist:test is
read once, at the end. The same steps as

    digitscope specialists --model default --top-k 5 --out runs/specialists --compare-on mnist:test

    python benchmarks/specialists.py --model default --top-k 5 --epochs 3 --out runs/specialists

Trains the specialists from the bundled generalist (finished ones in --out are reused): with the defaults five of
3 epochs each on their pairs' digits, about 10 minutes on 2 cores.

Evidence (benchmarks/LOG.md, 2026-12-02, Intel Xeon, 2 cores, no GPU; --epochs 20 --scratch): errors on the 5
pairs 10 -> 11, overall 63 -> 64 on mnist:test: a network that has seen all ten digits tells two of them apart
at least as well as a specialist.
"""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path

import _report

import digitscope
from digitscope.training.pair_specialists import build_specialists, compare_specialists, specialist_config


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="default", help="the generalist")
    p.add_argument("--top-k", type=int, default=5)
    p.add_argument("--preset", default="flagship", help="the specialists' recipe")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--scratch", action="store_true", help="specialists from random weights, not the generalist's")
    p.add_argument("--out", type=Path, default=Path("runs/specialists"),
                   help="where the specialists are trained (finished ones are reused)")
    p.add_argument("--test", default="mnist:test")
    args = p.parse_args()

    recipe = specialist_config(args.model, args.preset, args.scratch, epochs=args.epochs, seed=args.seed)
    command = shlex.join(["digitscope", "specialists", "--model", args.model, "--top-k", str(args.top_k), "--out",
                          str(args.out), "--preset", args.preset, "--epochs", str(args.epochs), "--seed",
                          str(args.seed), *(["--scratch"] if args.scratch else [])])
    card = build_specialists(args.model, args.out, args.top_k, recipe, command=command)  # finished runs reused
    test = compare_specialists(digitscope.load(args.out / "model"), args.test)
    routing = card["routing"]
    val_of = {tuple(p["pair"]): p for p in card["confused_pairs"]}
    spec_of = {tuple(s["pair"]): s for s in card["specialists"]}
    rows = "\n".join(
        f"| {a}<->{b} | {val_of[a, b]['mistakes']} | {spec_of[a, b]['metrics']['val_accuracy']:.2%} | "
        f"{spec_of[a, b]['generalist_val_accuracy']:.2%} | {r['errors_without']} | {r['errors_with']} |"
        for r in test["pairs"] for a, b in [r["pair"]])
    fewer = 1 - test["pair_errors_with"] / test["pair_errors_without"] if test["pair_errors_without"] else 0.0
    change = f"{fewer:.0%} fewer" if fewer >= 0 else f"{-fewer:.0%} more"
    _report.append(
        f"Specialists for the {len(test['pairs'])} most confused pairs of `{args.model}` "
        f"({args.preset} recipe, {args.epochs} epochs each, "
        f"{'from the generalist' + chr(39) + 's weights' if recipe.init else 'from scratch'})",
        f"Pairs, specialists and routing margin chosen on {routing['chosen_on']}; {args.test} read once.\n\n"
        f"| pair | generalist's mistakes on val | specialist's val accuracy on the pair | generalist's (the "
        f"likelier of the two) | {args.test} errors without | with specialists |\n"
        f"|---|---|---|---|---|---|\n{rows}\n"
        f"| **all pairs** | {sum(p['mistakes'] for p in card['confused_pairs'])} | | | "
        f"**{test['pair_errors_without']}** | **{test['pair_errors_with']}** |\n\n"
        f"Routing: a pair goes to its specialist when the generalist's margin p1 - p2 < {routing['threshold']:.4g} "
        f"({routing['routed']} of {routing['candidates']} pair-topped validation digits; validation errors "
        f"{routing['errors_without']} -> {routing['errors_with']}). On {args.test}: {test['routed']} of "
        f"{test['n']} digits routed, {test['changed']} answers changed.\n\n"
        f"**Errors on the pairs: {test['pair_errors_without']} -> {test['pair_errors_with']} "
        f"({change}; target >= 30% fewer). Overall accuracy {test['accuracy_without']:.2%} -> "
        f"{test['accuracy_with']:.2%} ({test['errors_without']} -> {test['errors_with']} errors of {test['n']}).**",
    )


if __name__ == "__main__":
    main()
