"""Finished flagship runs, read again without training: which test images they misread in common, and what
recomputing their BatchNorm statistics on clean training images does to validation and test.

    python benchmarks/finished_runs.py --runs runs/flagship/seed0 runs/flagship/seed1 ...

Overlap: for each test image misread by any run, by how many runs. BatchNorm: each run's running means and
variances reset and recomputed (a cumulative average, dropout off) over mnist:train without augmentation, then
mnist:val and mnist:test read again; the weights are untouched. Float32 PyTorch throughout.

No training; it reads runs that exist (--runs has no default): `python benchmarks/accuracy.py --seeds 0 1 2
--out runs/flagship` makes three, about 1 hour on 2 cores. A few minutes a run.

Evidence (benchmarks/LOG.md, 2026-12-02, Intel Xeon, 2 cores, no GPU): nine finished flagship runs.
"""

from __future__ import annotations

import argparse
import collections
import statistics

import _report
import torch
from torch import nn

import digitscope
from digitscope.models.persist import load_model
from digitscope.store.bundled import resolve_model_path
from digitscope.training.loop import evaluate_logits


def correct(model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """(N,) bool: which images the model reads right."""
    return evaluate_logits(model, images, "fp32", torch.device("cpu")).argmax(1) == labels


def recompute_batchnorm(model: nn.Module, images: torch.Tensor, batch_size: int = 500) -> None:
    """Like ``torch.optim.swa_utils.update_bn``, but with dropout off: that one puts the whole model in training
    mode, and the statistics would then be those of dropped-out activations."""
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # a cumulative average over every batch, not an exponential one
    model.eval()
    for norm in norms:
        norm.train()
    with torch.no_grad():
        for i in range(0, len(images), batch_size):
            model(images[i:i + batch_size].float().div_(255))
    model.eval()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", nargs="+", required=True,
                   help="training folders or saved models, e.g. runs/flagship/seed0 ... (made by "
                        "`python benchmarks/accuracy.py --seeds 0 1 2 --out runs/flagship`), or bundled names")
    args = p.parse_args()
    splits = {}
    for split in ("train", "val", "test"):
        arrays = digitscope.data.load(f"mnist:{split}")
        splits[split] = (torch.from_numpy(arrays.images).unsqueeze(1), torch.from_numpy(arrays.labels))

    misread, rows = collections.Counter(), []
    for run in args.runs:
        model, _ = load_model(resolve_model_path(run))
        before = {s: correct(model, *splits[s]) for s in ("val", "test")}
        misread.update((~before["test"]).nonzero().flatten().tolist())
        recompute_batchnorm(model, splits["train"][0])
        after = {s: correct(model, *splits[s]) for s in ("val", "test")}
        before, after = ([r[s].float().mean().item() for s in ("val", "test")] for r in (before, after))
        rows.append((run, *before, *after))

    runs = len(args.runs)
    by_count = collections.Counter(misread.values())
    overlap = " | ".join(str(by_count.get(k, 0)) for k in range(1, runs + 1))
    table = "\n".join(f"| `{run}` | {v0:.2%} → {v1:.2%} | {t0:.2%} → {t1:.2%} |" for run, v0, t0, v1, t1 in rows)
    mean = [statistics.mean(r[k] for r in rows) for k in (1, 3, 2, 4)]
    body = (f"Test images misread by any of the {runs} runs: {len(misread)}. How many runs misread each:\n\n"
            f"| {' | '.join(str(k) for k in range(1, runs + 1))} |\n|{'---|' * runs}\n| {overlap} |\n\n"
            "BatchNorm statistics recomputed on the mnist:train images without augmentation:\n\n"
            "| run | val before → after | test before → after |\n|---|---|---|\n" + table +
            f"\n\nMean over the runs: val {mean[0]:.3%} → {mean[1]:.3%}, test {mean[2]:.3%} → {mean[3]:.3%}.")
    _report.append("Finished flagship runs read again: shared test errors, BatchNorm statistics", body)


if __name__ == "__main__":
    main()
