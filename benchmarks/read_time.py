"""Where the Reader's time goes, on read.py's throughput set (5-digit free-form strings of mnist:test digits).

    python benchmarks/read_time.py
    PYTHONPATH=/path/to/another/checkout/src python benchmarks/read_time.py   # another commit, same spell

Prints, per pass: the whole `Reader.read` over the set (strings/s), then its parts: `prepare` (atoms, cuts,
candidates rendered to 28 x 28), the classifier on each string's candidates, and the path search with the answer.
Run two commits alternately to compare them on a machine whose speed drifts; nothing is appended to benchmarks/LOG.md.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from read import five_digit_strings

import digitscope
from digitscope.reading import Reader
from digitscope.reading.reader import prepare


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=200, help="5-digit strings, as read.py's --speed-n")
    p.add_argument("--passes", type=int, default=2)
    args = p.parse_args()
    images = five_digit_strings(digitscope.data.load("mnist:test"), args.n, seed=0)
    reader = Reader()
    reader.read(images[0])  # warm-up: the first call builds the inference backend
    print(f"digitscope from {digitscope.__file__}")
    for _ in range(args.passes):
        started = time.perf_counter()
        for image in images:
            reader.read(image)
        whole = time.perf_counter() - started
        started = time.perf_counter()
        prepared = [prepare(image, config=reader.config) for image in images]
        prepared_s = time.perf_counter() - started
        started = time.perf_counter()
        for one in prepared:
            reader.classifier.predict_proba(one.found[2])
        classify_s = time.perf_counter() - started
        started = time.perf_counter()
        for one in prepared:
            reader.read_prepared([one])
        decide_s = time.perf_counter() - started - classify_s
        candidates = np.mean([len(one.found[1]) for one in prepared])
        print(f"read {len(images) / whole:.1f} strings/s | prepare {prepared_s:.2f} s, classify {classify_s:.2f} s, "
              f"path and answer {decide_s:.2f} s | {candidates:.1f} candidates a string")


if __name__ == "__main__":
    main()
