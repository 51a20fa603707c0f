"""Reading whole numbers: the Reader on synthetic strings made of mnist:test digits only (or mnist:val ones).

    python benchmarks/read.py --n 500
    python benchmarks/read.py --n 1000 --data mnist:val --model runs/gate    # to choose between models

Sets (reading.synthetic, each drawn once with its own seed): (a) the multi-digit capstone report's MNIST sequences
of 1-5 digits in 28 x 140; (b) free-form handwritten strings of 1-5 and of 6-10 digits; (c) house-number-like colour
scenes of 1-5 digits. For each: exact-string accuracy (the text, refused or not), the share refused and the accuracy
of what was answered, and the mean IoU of the digit boxes matched by position (a missing digit counts 0). Beside
them, the share of strings whose every digit the classifier reads right alone, from its MNIST image: on (a), where
each digit is that image unchanged, no segmentation can do better with this classifier; on (b) and (c) the digits
are warped, so it only shows how hard the digits themselves are.
Throughput: `Reader.read` one image at a time on 5-digit free-form strings, median of --repeats passes.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from dataclasses import replace

import _report
import numpy as np

import digitscope
from digitscope.boxes import box_iou
from digitscope.data import synthetic
from digitscope.inference.backends import BACKENDS
from digitscope.reading import Reader, SegmentConfig

TARGETS = {"a": "≥ 99.0%", "b 1-5": "≥ 97%", "b 6-10": "≥ 93%", "c": "≥ 96%"}


def score(reader: Reader, strings: synthetic.DigitStrings, read_alone: np.ndarray) -> dict:
    """read_alone (N,) bool: whether the classifier reads each source digit right on its own."""
    exact, refused, exact_answered, ious = 0, 0, 0, []
    started = time.perf_counter()
    for image, text, boxes in zip(strings.images, strings.texts, strings.boxes, strict=True):
        result = reader.read(np.asarray(image))
        right = result.text == text
        exact += right
        refused += result.rejected
        exact_answered += right and not result.rejected
        found = [d.box for d in result.digits]
        ious += [float(box_iou(np.asarray(found[k], float), np.asarray(box, float))) if k < len(found) else 0.0
                 for k, box in enumerate(boxes)]
    n = len(strings)
    return {"n": n, "exact": exact / n, "digits_alone": float(np.mean([read_alone[s].all() for s in strings.sources])),
            "refused": refused / n,
            "answered_exact": exact_answered / max(1, n - refused), "iou": float(np.mean(ious)),
            "seconds": time.perf_counter() - started}


def five_digit_strings(source, n: int, seed: int) -> list[np.ndarray]:
    """The throughput set: n free-form 5-digit strings (seed + 4)."""
    return list(synthetic.freeform_strings(source.images, source.labels, n, seed + 4, min_len=5, max_len=5).images)


def throughput(reader: Reader, images: list[np.ndarray], repeats: int) -> float:
    reader.read(images[0])  # warm-up: the first call builds the inference backend
    rates = []
    for _ in range(repeats):
        started = time.perf_counter()
        for image in images:
            reader.read(image)
        rates.append(len(images) / (time.perf_counter() - started))
    return statistics.median(rates)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--model", default="reading", help="the Reader's classifier (default: the bundled reading model)")
    p.add_argument("--backend", default="auto", choices=BACKENDS, help="what runs the classifier")
    p.add_argument("--n", type=int, default=500, help="strings per set")
    p.add_argument("--speed-n", type=int, default=200, help="5-digit strings timed")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data", default="mnist:test", help="the digits the strings are made of: mnist:val to compare "
                                                        "models or settings, mnist:test for the final figures")
    p.add_argument("--max-risk", type=float, help="refuse by the number's reject rule at this risk, not the digits'")
    p.add_argument("--line-model", default=None, help="a line reader beside the classifier (e.g. amounts)")
    p.add_argument("--unread-ink", type=float, help="refuse a reading that skips an atom with this share of a "
                   f"digit's ink (inf: never; default: the model's card's, else {SegmentConfig().unread_ink})")
    args = p.parse_args()
    source = digitscope.data.load(args.data)
    seed = args.seed
    sets = synthetic.reading_sets(source.images, source.labels, args.n, seed)
    classifier = digitscope.load(args.model, backend=args.backend)
    config = SegmentConfig.from_card(classifier.card)
    if args.unread_ink is not None:
        config = replace(config, unread_ink=args.unread_ink)
    reader = Reader(classifier, max_risk=args.max_risk, config=config, line_model=args.line_model)
    # The digit the Reader would give each one: the likeliest of 0-9, "not a digit" aside.
    read_alone = reader.classifier.predict_proba(source.images)[:, :10].argmax(axis=1) == source.labels
    rows = {name: score(reader, strings, read_alone) for name, strings in sets.items()}
    rate = throughput(reader, five_digit_strings(source, args.speed_n, seed), args.repeats)

    table = "\n".join(
        f"| {name} | {r['n']} | {r['exact']:.1%} ({TARGETS[name]}) | {r['digits_alone']:.1%} | {r['refused']:.1%} "
        f"| {r['answered_exact']:.1%} "
        f"| {r['iou']:.3f} | {r['n'] / r['seconds']:.0f} |" for name, r in rows.items())
    rule = ("the digits' reject rule" if reader.number_threshold is None
            else f"the number's reject rule at max risk {args.max_risk:.1%}" if args.max_risk is not None
            else "the line reader's number reject rule at its default risk")
    if args.line_model:
        rule += f", line reader `{args.line_model}`"
    rule += f", unread ink refused from {reader.config.unread_ink:g} of a digit's"
    body = (f"Reader (`{args.model}` classifier, {reader.classifier.num_classes} classes, {rule}), strings of "
            f"{args.data} digits, seeds {seed}..{seed + 3}.\n\n"
            "| set | strings | exact string (target) | every digit read right alone | refused | exact among answered "
            "| mean box IoU | images/s |\n"
            f"|---|---|---|---|---|---|---|---|\n{table}\n\n"
            f"Throughput, `read` one image at a time, {args.speed_n} 5-digit free-form strings (median of "
            f"{args.repeats}; target ≥ 100 images/s): **{rate:.0f} images/s**, the classifier on "
            f"{reader.classifier.backend.name}. Machine load when measured (1-minute load average): "
            f"{os.getloadavg()[0]:.1f}.")
    _report.append("Reading whole numbers", body)


if __name__ == "__main__":
    main()
