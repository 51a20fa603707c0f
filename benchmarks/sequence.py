"""Seed 003's sequence model against the segmentation Reader, on the same test images.

    python benchmarks/sequence.py --model mnist-sequences=runs/seq-a/model --model house-scenes=runs/seq-c/model

Each DATASET=MODEL pair: the sequence model trained on DATASET's train split (`digitscope train --preset sequence
--data DATASET`), read on its test split (strings of mnist:test digits only): sequence accuracy (length and every
digit right), per-digit accuracy (slot by slot over the true digits), length accuracy and mean IoU of the true
digits' boxes against the box of the same slot. The Reader (bundled `reading` classifier) reads the very same
images one at a time: exact string, its per-digit accuracy by position, and its boxes' IoU by position.

It reads sequence models that exist (--model has no default): `digitscope train --preset sequence --out runs/seq-a`
makes one (12 epochs, about 20 minutes on 2 cores), `--data house-scenes --out runs/seq-c` the other.

Evidence (benchmarks/LOG.md, 2026-12-01, Intel Xeon, 2 cores, no GPU): mnist-sequences 98.60% of strings exact
for the sequence model; house-scenes 96.15%.
"""

from __future__ import annotations

import argparse
import time

import _report
import numpy as np
import torch

import digitscope
from digitscope.boxes import box_iou
from digitscope.models.persist import load_model
from digitscope.models.seqnet import BLANK, SLOTS
from digitscope.reading import Reader
from digitscope.reading.sequence_model import read_sequences, split_targets
from digitscope.store.bundled import resolve_model_path


def truth(labels: np.ndarray, size: tuple[int, int]) -> tuple[list[str], list[np.ndarray]]:
    """The target rows as texts and (L, 4) pixel boxes."""
    h, w = size
    lengths, classes, boxes = (t.numpy() for t in split_targets(torch.from_numpy(labels)))
    texts = ["".join(str(d) for d in row[:n]) for row, n in zip(classes, lengths, strict=True)]
    return texts, [b[:n] * [w, h, w, h] for b, n in zip(boxes, lengths, strict=True)]


def by_position(found: list[str], found_boxes: list[np.ndarray], texts: list[str], boxes: list[np.ndarray]) -> dict:
    """Exact strings, digits right at their position, and IoU of each true digit's box with the one found there
    (a digit not found counts 0)."""
    digits_right, ious = [], []
    for text, got, true_boxes, got_boxes in zip(texts, found, boxes, found_boxes, strict=True):
        for k, (digit, box) in enumerate(zip(text, true_boxes, strict=True)):
            digits_right.append(k < len(got) and got[k] == digit)
            ious.append(float(box_iou(np.asarray(got_boxes[k], float), box)) if k < len(got_boxes) else 0.0)
    return {"sequence": float(np.mean([g == t for g, t in zip(found, texts, strict=True)])),
            "digit": float(np.mean(digits_right)), "iou": float(np.mean(ious))}


def sequence_model(path: str, images: np.ndarray, texts, boxes) -> dict:
    model, card = load_model(resolve_model_path(path))
    started = time.perf_counter()
    decoded = read_sequences(model, images)
    seconds = time.perf_counter() - started
    h, w = images.shape[1:]
    found_boxes = [row[:n] * [w, h, w, h] for row, n in zip(decoded.boxes, decoded.lengths, strict=True)]
    lengths = np.array([len(t) for t in texts])
    return {**by_position(decoded.texts(), found_boxes, texts, boxes),
            "length": float((decoded.lengths == lengths).mean()), "rate": len(images) / seconds,
            "parameters": card.parameters, "train_seconds": card.metrics.get("train_seconds")}


def reader(images: np.ndarray, texts, boxes) -> dict:
    read = Reader()  # on the bundled reading model
    read.read(images[0])  # builds the backend
    started = time.perf_counter()
    results = [read.read(image) for image in images]
    seconds = time.perf_counter() - started
    found = [r.text for r in results]
    found_boxes = [[d.box for d in r.digits] for r in results]
    lengths = np.array([len(t) for t in texts])
    return {**by_position(found, found_boxes, texts, boxes),
            "length": float((np.array([len(f) for f in found]) == lengths).mean()), "rate": len(images) / seconds,
            "refused": float(np.mean([r.rejected for r in results]))}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", action="append", required=True,
                   help="DATASET=MODEL, repeated: a sequence model trained on DATASET, e.g. mnist-sequences="
                        "runs/seq-a/model (made by `digitscope train --preset sequence --out runs/seq-a`) or "
                        "house-scenes=runs/seq-c/model (`... --data house-scenes --out runs/seq-c`)")
    p.add_argument("--n", type=int, default=2000, help="test images per set")
    args = p.parse_args()
    rows = []
    for pair in args.model:
        dataset, _, path = pair.partition("=")
        test = digitscope.data.load(f"{dataset}:test")
        images, labels = test.images[:args.n], test.labels[:args.n]
        texts, boxes = truth(labels, images.shape[1:])
        assert all((row[1 + len(t):1 + SLOTS] == BLANK).all() for row, t in zip(labels, texts, strict=True))
        rows.append((dataset, path, len(images), sequence_model(path, images, texts, boxes),
                     reader(images, texts, boxes)))
    lines = []
    for dataset, path, n, seq, rd in rows:
        lines.append(f"| {dataset} | sequence model `{path}` ({seq['parameters']:,} parameters, trained "
                     f"{seq['train_seconds']:.0f} s) | {n} | {seq['sequence']:.2%} | {seq['digit']:.2%} | "
                     f"{seq['length']:.2%} | {seq['iou']:.3f} | — | {seq['rate']:,.0f} |")
        lines.append(f"| {dataset} | Reader (`reading`) | {n} | {rd['sequence']:.2%} | {rd['digit']:.2%} | "
                     f"{rd['length']:.2%} | {rd['iou']:.3f} | {rd['refused']:.1%} | {rd['rate']:,.0f} |")
    body = ("Test images of each set, strings of mnist:test digits; both readers see the same stored images "
            "(house-scenes: the library's ink map of each colour scene, fitted into 48 x 144). Seed 003 reported "
            "89.6% sequence accuracy on MNIST sequences, and 84.9% with IoU 0.706 on SVHN.\n\n"
            "| set | reader | images | sequence accuracy | per-digit accuracy | length right | mean IoU "
            "| refused | images/s |\n|---|---|---|---|---|---|---|---|---|\n" + "\n".join(lines))
    _report.append("Sequence model (seed 003) against the Reader", body)


if __name__ == "__main__":
    main()
