"""Training speed against a reference measured in the same run.

Reference: PyTorch's `examples/mnist` recipe (benchmarks/reference_mnist.py). Ours: the `fast` preset.
Both train on the same 55k training split; the time to reach a test accuracy counts training only
(the test passes that check the target are not timed). Ours is repeated over seeds (median time).

    python benchmarks/train_speed.py --seeds 0 1 2

Trains what it times (in a temporary folder): about 10 minutes on 2 cores without bf16 with the defaults.

Evidence (benchmarks/LOG.md, 2026-12-02, AMD EPYC, 2 cores, no bf16, no GPU): `fast` reaches 99.0% in 12.7 s
(1 epoch, median of 3 seeds) against 255.3 s for the reference: 20.1x faster; 99.5% in 88.5 s (8 epochs). With
bf16 (an earlier AMD EPYC): 6.2 s and 48.8 s.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

import _report
import torch
from reference_mnist import time_to_accuracy

import digitscope
from digitscope.analysis import evaluate
from digitscope.training.config import PRESETS, TrainConfig
from digitscope.training.loop import train


def fast_run(epochs: int, seed: int, tmp: Path) -> tuple[float, float]:
    """(training seconds, test accuracy) of the fast preset with ``epochs`` epochs."""
    out = tmp / f"fast-e{epochs}-s{seed}"
    card = train(TrainConfig(**{**PRESETS["fast"], "epochs": epochs, "seed": seed}), out, progress=False)
    return card["metrics"]["train_seconds"], evaluate(digitscope.load(out), "mnist:test")["accuracy"]


def fastest_to(target: float, epoch_options: list[int], seeds: list[int], tmp: Path) -> dict:
    """The fewest epochs of the fast preset whose every seed reaches ``target``; median time over seeds."""
    for epochs in epoch_options:
        runs = [fast_run(epochs, s, tmp) for s in seeds]
        if all(acc >= target for _, acc in runs):
            break
    return {"epochs": epochs, "seconds": statistics.median(t for t, _ in runs),
            "accuracies": [a for _, a in runs], "reached": all(a >= target for _, a in runs)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = p.parse_args()
    train_split, test = digitscope.data.load("mnist:train"), digitscope.data.load("mnist:test")
    with tempfile.TemporaryDirectory() as tmp:
        ours99 = fastest_to(0.990, [1, 2], args.seeds, Path(tmp))
        ours995 = fastest_to(0.995, [7, 8], args.seeds, Path(tmp))
    ref = time_to_accuracy(torch.from_numpy(train_split.images), torch.from_numpy(train_split.labels),
                           torch.from_numpy(test.images), torch.from_numpy(test.labels), target=0.990)
    ratio = ref["seconds"] / ours99["seconds"]
    accs = lambda r: ", ".join(f"{a:.2%}" for a in r["accuracies"])  # noqa: E731
    _report.append(
        "Training speed: `fast` preset vs PyTorch examples/mnist (same run)",
        f"| recipe | target | epochs | training time | test accuracy |\n|---|---|---|---|---|\n"
        f"| reference (examples/mnist, fp32) | 99.0% | {ref['epochs']} | {ref['seconds']:.1f} s | "
        f"{ref['accuracy']:.2%}{'' if ref['reached'] else ' (not reached)'} |\n"
        f"| `fast` preset | 99.0% | {ours99['epochs']} | {ours99['seconds']:.1f} s (median of "
        f"{len(args.seeds)} seeds) | {accs(ours99)}{'' if ours99['reached'] else ' (not reached)'} |\n"
        f"| `fast` preset | 99.5% | {ours995['epochs']} | {ours995['seconds']:.1f} s (median) | {accs(ours995)}"
        f"{'' if ours995['reached'] else ' (not reached on every seed)'} |\n\n"
        f"**Time to 99.0% test accuracy: {ratio:.1f}x faster than the reference** "
        f"({ref['seconds']:.1f} s / {ours99['seconds']:.1f} s).",
    )


if __name__ == "__main__":
    main()
