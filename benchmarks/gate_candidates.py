"""Which detector to put behind the reader: every candidate gate judged on mnist:val, never on test.

    python benchmarks/gate_candidates.py --digits runs/default10 \\
        --detector runs/ft11/seed0 runs/ft11/seed1 runs/ft11/seed2 \\
        --detector runs/shared5/seed0 runs/shared5/seed1 runs/shared5/seed2

Each candidate is combined with the reader (`digitscope gate`), calibrated on mnist:val (temperature, reject
rule for a 0.1% risk) and scored there on what the quality targets bind: the area under the risk-coverage curve
(AURC) and the error among the 99% most confident validation digits. Its speed (onnxruntime float32, digits/s,
median of --passes over 4,096 MNIST test images; once per number of shared layers, the one thing that changes
the cost) is measured in the same run, beside the reader's alone. The
candidate with the lowest validation AURC among those fast enough (--min-speed, as a share of the reader's) is
marked; the out-of-distribution figures of the chosen gate come from `benchmarks/uncertainty.py`.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import _report
import numpy as np
from uncertainty import COVERAGE, risk_at_coverage

import digitscope
from digitscope import data
from digitscope.inference.scores import digit_confidence
from digitscope.labels import NOT_A_DIGIT
from digitscope.uncertainty.calibration import calibrate_model
from digitscope.uncertainty.not_a_digit import combine_gate
from digitscope.uncertainty.reject import aurc


def speed(model, images: np.ndarray, passes: int) -> float:
    model.logits(images[:256])  # warm-up
    rates = []
    for _ in range(passes):
        started = time.perf_counter()
        model.logits(images)
        rates.append(len(images) / (time.perf_counter() - started))
    return statistics.median(rates)


def judge(model, val: data.Arrays) -> dict:
    probs = model.predict_proba(val.images)
    score, correct = digit_confidence(probs), probs.argmax(1) == val.labels
    return {"aurc": aurc(score, correct), "risk_at_coverage": risk_at_coverage(model, COVERAGE, "mnist:val"),
            "not_a_digit": float((probs.argmax(1) == NOT_A_DIGIT).mean()),
            "coverage": model.card.reject["coverage"], "temperature": model.card.calibration["temperature"]}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--digits", "--reader", dest="digits", required=True,
                   help="the 10-class digit network (--reader: its old name)")
    p.add_argument("--detector", nargs="+", action="extend", required=True)
    p.add_argument("--passes", type=int, default=5)
    # The reader alone does about 6,500 digits/s on these 2 cores at its best batch size (infer_speed.py): 0.77 of
    # it is the ~5,000 the serving targets need.
    p.add_argument("--min-speed", type=float, default=0.77, help="slowest allowed: this share of the reader's speed")
    args = p.parse_args()
    val, timed = data.load("mnist:val"), data.load("mnist:test").images[:4096]
    reader_speed = speed(digitscope.load(args.digits), timed, args.passes)
    rows, speeds = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for detector in args.detector:
            stem = Path(tmp) / Path(detector).as_posix().replace("/", "_")
            card = combine_gate(args.digits, detector, stem)
            calibrate_model(stem, "mnist:val")
            model, shared = digitscope.load(stem), card.arch_kwargs["shared"]
            if shared not in speeds:  # gates that share as many layers compute the same: timed once
                speeds[shared] = speed(model, timed, args.passes)
            rows.append({"detector": detector, "shared": shared, "speed": speeds[shared], **judge(model, val)})
    fast_enough = [r for r in rows if r["speed"] >= args.min_speed * reader_speed]
    best = min(fast_enough, key=lambda r: r["aurc"]) if fast_enough else None
    lines = [f"| `{r['detector']}` | {r['shared']} | {r['aurc']:.6f} | {r['risk_at_coverage']:.3%} | "
             f"{r['not_a_digit']:.2%} | {r['coverage']:.2%} | {r['temperature']:.3f} | "
             f"{r['speed']:,.0f} ({r['speed'] / reader_speed:.2f}x) | {' **chosen**' if r is best else ''} |"
             for r in rows]
    body = (f"Reader `{args.digits}`: {reader_speed:,.0f} digits/s alone (onnxruntime float32, median of "
            f"{args.passes} passes over 4,096 digits). Each gate calibrated on mnist:val (reject rule for a 0.1% "
            "risk) and judged there; chosen: lowest val AURC among gates at least "
            f"{args.min_speed:.0%} as fast as the reader.\n\n"
            "| detector | shared layers | val AURC | val error at 99% coverage | val digits answered 'not a digit' "
            "| val coverage of the reject rule | temperature | digits/s (vs reader) | |\n"
            "|---|---|---|---|---|---|---|---|---|\n" + "\n".join(lines))
    _report.append("Choosing the gate's detector on validation", body)


if __name__ == "__main__":
    main()
