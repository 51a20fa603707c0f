"""What the ORAND-CAR-A loader reads from the real amounts, and its fixed train / test split.

    python benchmarks/orand_summary.py                  # the copy at ../shared/data/orand-car-a
    python benchmarks/orand_summary.py --path CAR-A     # the official release (a_*_gt.txt), or another COCO copy

Prints: amounts read and images left out (with why), the time to decode them all (the reason nothing is cached),
digits per amount, image sizes, digit counts, and the split's sizes. Exits 1 if any image was left out or a split
is empty, so it doubles as the check of the real data that the fixture tests cannot make. Nothing is appended to
benchmarks/LOG.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter

import numpy as np

from digitscope.data import orand


def describe(values: list[int] | np.ndarray) -> str:
    v = np.asarray(values)
    return f"min {v.min()}, median {np.median(v):g}, mean {v.mean():.1f}, max {v.max()}"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--path", default=None, help="a COCO folder or annotations.json, or a CAR-A folder / a_*_gt.txt")
    args = p.parse_args()
    started = time.perf_counter()
    amounts = orand.load(args.path)
    seconds = time.perf_counter() - started
    print(f"source: {amounts.source}")
    print(f"amounts: {len(amounts)} read, {len(amounts.errors)} left out; read and decoded in {seconds:.2f} s "
          f"({len(amounts) / seconds:.0f} images/s)")
    for line in amounts.errors:
        print(f"  left out: {line}")
    lengths = Counter(len(t) for t in amounts.texts)
    print(f"digits per amount: {describe([len(t) for t in amounts.texts])}; "
          + ", ".join(f"{k}: {lengths[k]}" for k in sorted(lengths)))
    widths = [im.shape[1] for im in amounts.images]
    heights = [im.shape[0] for im in amounts.images]
    print(f"width px: {describe(widths)}")
    print(f"height px: {describe(heights)}")
    print("decoded as: " + ", ".join(f"{k}: {v}" for k, v in
                                     Counter("RGB" if im.ndim == 3 else "grey" for im in amounts.images).items()))
    digits = Counter("".join(amounts.texts))
    print(f"digits: {sum(digits.values())}; " + ", ".join(f"{d}: {digits[d]}" for d in orand.DIGITS))
    if amounts.boxes is not None:
        box_h = np.concatenate([b[:, 3] - b[:, 1] for b in amounts.boxes])
        box_w = np.concatenate([b[:, 2] - b[:, 0] for b in amounts.boxes])
        print(f"digit box width px: {describe(box_w.round().astype(int))}; "
              f"height px: {describe(box_h.round().astype(int))}")
    sides = orand.split_names(amounts.names)
    for side in orand.SPLITS:
        part = amounts.subset(sides[side])
        print(f"split {side}: {len(part)} amounts ({len(part) / len(amounts):.1%}), "
              f"{sum(len(t) for t in part.texts)} digits, first: {part.ids[:3]}")
    return 1 if amounts.errors or not all(sides[s] for s in orand.SPLITS) else 0


if __name__ == "__main__":
    sys.exit(main())
