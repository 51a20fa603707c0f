"""Weight interpolation between two saved models' digit readers (WiSE-FT, Wortsman et al. 2022), no training.

    python benchmarks/interpolate_readers.py --start default --end reading

Every tensor of the two readers (a gate's digit network, ``digit_reader``), BatchNorm statistics included,
mixed as (1 - t) start + t end, and read in float32 PyTorch on mnist-candidates:val, the best of the ten digits:
the split's MNIST digits and the Reader's cuts of digits. Does a point between a model and its fine-tuning keep
more of the first's reading while reading the cuts as well? Choose on `:val` only.

No training: the defaults read the two bundled models, a few minutes on 2 cores (the first run also builds
mnist-candidates, about 3 minutes, cached after).

Evidence (benchmarks/LOG.md, 2026-12-03, Intel Xeon, 2 cores, bf16, no GPU): no t between 0 and 1 reads the
cuts better than t = 1 (99.30%), and MNIST digits move by one or two images (99.70-99.74%).
"""

from __future__ import annotations

import argparse

import _report
import numpy as np
import torch

import digitscope
from digitscope.labels import NOT_A_DIGIT
from digitscope.models import create_model
from digitscope.models.gate import digit_reader, digit_reader_card
from digitscope.models.persist import load_model
from digitscope.store.bundled import resolve_model_path


def reader_weights(name: str) -> tuple[dict[str, torch.Tensor], dict]:
    """A saved model's digit reader: its weights, and its arch and arch_kwargs."""
    model, card = load_model(resolve_model_path(name))
    return digit_reader(model, card).state_dict(), digit_reader_card(card)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--start", default="default")
    p.add_argument("--end", default="reading")
    p.add_argument("--t", type=float, nargs="+", default=[0, 0.25, 0.4, 0.5, 0.6, 0.75, 0.9, 1])
    args = p.parse_args()
    (start, card), (end, _) = reader_weights(args.start), reader_weights(args.end)
    arrays = digitscope.data.load("mnist-candidates:val")
    mnist = np.arange(len(arrays)) < len(digitscope.data.load("mnist:val"))
    cut_digit = ~mnist & (arrays.labels < NOT_A_DIGIT)
    x = torch.from_numpy(arrays.images).float().div(255)[:, None]
    rows = {"MNIST digits": [], "the Reader's cuts of digits": []}
    for t in args.t:
        net = create_model(card["arch"], **card["arch_kwargs"])
        mixed = {k: (1 - t) * v + t * end[k] if v.is_floating_point() else end[k] for k, v in start.items()}
        net.load_state_dict(mixed)
        with torch.no_grad():
            best = torch.cat([net.eval()(x[i:i + 4096]).argmax(1) for i in range(0, len(x), 4096)]).numpy()
        rows["MNIST digits"].append((best[mnist] == arrays.labels[mnist]).mean())
        rows["the Reader's cuts of digits"].append((best[cut_digit] == arrays.labels[cut_digit]).mean())
    header = "| t | " + " | ".join(f"{t:g}" for t in args.t) + " |\n|---|" + "---|" * len(args.t)
    table = "\n".join(f"| {name} | " + " | ".join(f"{v:.2%}" for v in values) + " |" for name, values in rows.items())
    body = (f"(1 - t) `{args.start}` + t `{args.end}` (their digit readers), mnist-candidates:val: {mnist.sum():,} "
            f"MNIST digits, {cut_digit.sum():,} cuts that are one whole digit.\n\n{header}\n{table}")
    _report.append("Weight interpolation between two digit readers", body)


if __name__ == "__main__":
    main()
