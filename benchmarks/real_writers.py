"""Real people's handwriting: CVL's Austrian students, MNIST's test writers, and real cheque amounts.

    python benchmarks/real_writers.py                                  # the bundled models, all three
    python benchmarks/real_writers.py --model runs/m --cvl-split eval  # another model; CVL's evaluation writers
    python benchmarks/real_writers.py --no-ocr                         # without the RapidOCR comparison
    python benchmarks/real_writers.py --reading-backend onnxruntime    # the Reader's model on its float graph

Digits (the model read by `predict`, its own reject rule left aside):
- CVL `valid` (60 writers the model never trained on; the split choices are made on) or `eval` (176 further
  writers, where `digitscope data fetch cvl --from` was given the official release): accuracy, per digit, the
  mean of the worst tenth of writers, the 1 -> 7 rate, and the ECE of the model's probabilities;
- MNIST test (297 writers none of which is in MNIST's training set): accuracy, worst tenth of writers, 1 -> 7.

Amounts: the ORAND-CAR-A amounts held out from training (`orand.load(split="test")`, 178), read by the Reader, then
by the Reader with the bundled line reader `amounts` beside its classifier (and that pair's reject rule): exact,
refused, exact among answered, the mean IoU of the digit boxes, amounts/s in this process; and RapidOCR
(a general printed-text OCR, PP-OCRv4 models from its wheel) on the same amounts in the same run: its recogniser
reads each whole image as one line, kept to its digits. It answers every amount (nothing is refused).

No training. About 1 minute for the digits and the Reader on 2 cores, plus a few seconds for RapidOCR.
Appends its figures to benchmarks/LOG.md.
"""

from __future__ import annotations

import argparse
import time

import _report
import numpy as np

import digitscope
from digitscope import data
from digitscope.analysis.writers import writer_report
from digitscope.data import cvl, mnist_writers, orand
from digitscope.inference.backends import BACKENDS
from digitscope.reading import Reader
from digitscope.reading.amounts import score_amounts
from digitscope.uncertainty.calibration import calibration_report


def digits_report(model, spec: str, writers: np.ndarray) -> dict:
    arrays = data.load(spec)
    probs = model.predict_proba(arrays.images)
    report = writer_report(arrays.labels, model.best_digit(probs), writers)
    report["ece"] = calibration_report(probs, arrays.labels)["ece"]
    return report


def rapidocr_report(amounts: orand.Amounts) -> dict:
    """RapidOCR's recogniser on the same amounts, each whole image read as one line, its digits only.

    Its text detector is left out: on these amounts it finds almost none of the handwriting (about 3% exact with
    it), and an amount image is one line already.
    """
    from rapidocr_onnxruntime import RapidOCR

    ocr = RapidOCR()
    started = time.perf_counter()
    texts = []
    for image in amounts.images:
        rgb = np.repeat(image[..., None], 3, axis=2) if image.ndim == 2 else image
        found, _ = ocr(rgb, use_det=False, use_cls=False)
        texts.append("".join(c for item in found or [] for c in item[0] if c.isdigit()))
    seconds = time.perf_counter() - started
    exact = np.mean([t == truth for t, truth in zip(texts, amounts.texts, strict=True)])
    return {"exact": float(exact), "refused": 0.0, "amounts_per_second": len(amounts) / seconds}


def percent(x: float) -> str:
    return f"{100 * x:.2f}%"


def digit_lines(name: str, r: dict) -> list[str]:
    per_digit = " ".join(f"{d}:{100 * a:.1f}" for d, a in r["per_digit"].items())
    return [f"{name}: {percent(r['accuracy'])} of {r['n']} digits by {r['writers']} writers; worst tenth of writers "
            f"{percent(r['worst_decile_accuracy'])} (worst {percent(r['worst_writer_accuracy'])}); 1 -> 7 "
            f"{percent(r['confusion_rate'])} of the 1s; ECE {percent(r['ece'])}",
            f"  per digit: {per_digit}"]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="default", help="the digit model (a bundled name or a saved model)")
    p.add_argument("--reading-model", default="reading", help="the Reader's model for the amounts")
    p.add_argument("--line-model", default="amounts", help="the line reader read beside it ('none': leave it out)")
    p.add_argument("--reading-backend", default="auto", choices=BACKENDS,
                   help="what runs the Reader's model (auto: its int8 graph where it has one, as the bundled "
                        "reading model does)")
    p.add_argument("--cvl-split", default="valid", choices=("valid", "eval"), help="the CVL writers to read")
    p.add_argument("--no-ocr", action="store_true", help="leave out the RapidOCR comparison")
    args = p.parse_args()

    model = digitscope.load(args.model)
    reading = digitscope.load(args.reading_model, backend=args.reading_backend)
    lines = [f"digit model: {args.model}; reading model: {args.reading_model} ({reading.backend.name}); line "
             f"reader: {args.line_model}"]
    lines += digit_lines(f"CVL {args.cvl_split}",
                         digits_report(model, f"cvl:{args.cvl_split}", cvl.writer_ids(args.cvl_split)))
    lines += digit_lines("MNIST test", digits_report(model, "mnist-writers:test", mnist_writers.writer_ids("test")))

    held_out = orand.load(split="test")
    readers = {"Reader": Reader(reading)}
    if args.line_model != "none":
        readers[f"Reader with the line reader {args.line_model} (its own reject rule)"] = Reader(
            reading, line_model=args.line_model)
    for name, reader in readers.items():
        r = score_amounts(reader, held_out.images, held_out.texts, held_out.boxes)
        lines.append(f"ORAND-CAR-A held out ({len(held_out)} amounts), {name}: exact {percent(r['exact'])}, "
                     f"refused {percent(r['refused'])}, exact among answered {percent(r['exact_answered'])}, box IoU "
                     f"{r['box_iou']:.3f}, {r['amounts_per_second']:.1f} amounts/s")
    if not args.no_ocr:
        o = rapidocr_report(held_out)
        lines.append(f"ORAND-CAR-A held out, RapidOCR (rapidocr-onnxruntime, PP-OCRv4 recogniser): exact "
                     f"{percent(o['exact'])}, {o['amounts_per_second']:.1f} amounts/s")
    _report.append("Real writers: CVL, MNIST test, real cheque amounts", "\n".join(lines))


if __name__ == "__main__":
    main()
