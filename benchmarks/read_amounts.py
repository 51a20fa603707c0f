"""The Reader on real cheque amounts: ORAND-CAR-A (handwritten courtesy amounts from Uruguayan cheques).

    python benchmarks/read_amounts.py --split train          # choose and tune on this side only
    python benchmarks/read_amounts.py --split test           # the held-out side: read once, to report

Prints, for the amounts of one side of the fixed split (``data.orand``): exact amounts (the digits-only text, refused
or not), the share refused, exact among answered, the mean IoU of the digit boxes matched one to one (greedily, best
IoU first, pairs under 0.1 IoU left unmatched) with the share of true boxes matched, and amounts/s (``Reader.read`` one
image at a time, one process, decoding excluded). ``--failures DIR`` writes each wrong or refused amount as a PNG with
the true boxes (green) and the read ones (red), for looking at; keep it outside the repository. With ``--line-model``
the line reader's own reading (``line_model.read_texts``: its greedy text, an ensemble's likeliest of its members';
no cuts, no refusal) is scored as well.
Nothing is appended to benchmarks/LOG.md.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

import digitscope
from digitscope.data import orand
from digitscope.inference.backends import BACKENDS
from digitscope.preprocess import LINE_SIZE
from digitscope.reading import Reader, orand_candidates
from digitscope.reading.amounts import score_amounts
from digitscope.reading.line_model import line_log_probs, read_texts
from digitscope.reading.reader import prepare


def draw(image: np.ndarray, true: np.ndarray, reading, path: Path, text: str) -> None:
    picture = Image.fromarray(image).convert("RGB")
    scale = 3
    picture = picture.resize((picture.width * scale, picture.height * scale), Image.Resampling.NEAREST)
    pen = ImageDraw.Draw(picture)
    for box in true:
        pen.rectangle([v * scale for v in box], outline=(0, 200, 0))
    for d in reading.digits:
        x0, y0, x1, y1 = d.box
        pen.rectangle([x0 * scale, y0 * scale, x1 * scale - 1, y1 * scale - 1], outline=(220, 0, 0))
        pen.text((x0 * scale + 2, y1 * scale - 12), str(d.digit), fill=(220, 0, 0))
    pen.text((2, 2), f"true {text} read {reading.text} {'REFUSED ' + str(reading.reason) if reading.rejected else ''}",
             fill=(0, 0, 255))
    picture.save(path)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--split", choices=orand.SPLITS, default="train")
    p.add_argument("--model", default="reading", help="the Reader's classifier (default: the bundled reading model)")
    p.add_argument("--part", choices=("fit", "choose"), default=None,
                   help="with --split train: only the amounts of this part of train (reading.orand_candidates: a model "
                        "fine-tuned on the fit part is chosen on the choose part)")
    p.add_argument("--line-model", default=None,
                   help="a line reader beside the classifier (e.g. amounts, runs/lines/model)")
    p.add_argument("--max-risk", type=float, default=None, help="the number's reject rule at this risk")
    p.add_argument("--backend", default="auto", choices=BACKENDS,
                   help="what runs the classifier (auto: its int8 graph where it has one)")
    p.add_argument("--n", type=int, default=None, help="the first N amounts of the side only")
    p.add_argument("--path", default=None, help="the ORAND-CAR-A copy (default: ../shared/data/orand-car-a)")
    p.add_argument("--failures", type=Path, default=None, help="write wrong or refused amounts here as PNGs")
    args = p.parse_args()
    amounts = orand.load(args.path, split=args.split)
    if args.part is not None:
        if args.split != "train":
            p.error("--part divides the train side only")
        amounts = amounts.subset([n for n in amounts.names if orand_candidates.side(n) == args.part])
    if args.n is not None:
        amounts = amounts.subset(amounts.names[:args.n])
    if args.failures:
        args.failures.mkdir(parents=True, exist_ok=True)

    def on_wrong(k: int, reading) -> None:
        if args.failures:
            path = args.failures / f"{orand.amount_id(amounts.names[k])}.png"
            draw(amounts.images[k], amounts.boxes[k], reading, path, amounts.texts[k])

    classifier = digitscope.load(args.model, backend=args.backend)
    reader = Reader(classifier, max_risk=args.max_risk, line_model=args.line_model)
    r = score_amounts(reader, amounts.images, amounts.texts, amounts.boxes, on_wrong)
    part = f" ({args.part} part)" if args.part else ""
    print(f"ORAND-CAR-A {args.split}{part}, {r['n']} amounts, model {args.model} ({classifier.backend.name}), "
          f"line reader {args.line_model}")
    print(f"exact {r['exact']:.1%}  refused {r['refused']:.1%}  exact among answered {r['exact_answered']:.1%} "
          f"({round(r['exact_answered'] * r['answered'])}/{r['answered']})  box IoU {r['box_iou']:.3f} "
          f"({r['boxes_matched']:.1%} of true boxes matched)  {r['amounts_per_second']:.1f} amounts/s "
          f"(load {os.getloadavg()[0]:.1f})")
    if reader.line_model is not None:
        prepared = [prepare(image, config=reader.config).line for image in amounts.images]
        lines = np.stack([np.zeros(LINE_SIZE, np.uint8) if line is None else line for line in prepared])  # no ink
        alone = read_texts(line_log_probs(reader.line_model, lines))
        right = [a == t for a, t in zip(alone, amounts.texts, strict=True)]
        print(f"the line reader alone: exact {np.mean(right):.1%}")

if __name__ == "__main__":
    main()
