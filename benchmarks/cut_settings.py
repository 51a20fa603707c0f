"""Where the Reader cuts touching digits: segmentation settings compared on mnist:val strings, in one run.

    python benchmarks/cut_settings.py --setting 1.0,4,3 --setting 0.75,5,3 --setting 0.75,5,2
    python benchmarks/cut_settings.py --setting 0.75,5,3,0.02 --setting 0.75,5,3,0.3

A setting is cut_width,max_atoms,cuts_per_height[,seam_drift] of the Reader's `SegmentConfig` (the classifier's,
its other fields unchanged; seam_drift: its value when left out; runs in benchmarks/LOG.md from before it was a
knob had 0.02). For each, the Reader (`--model`,
default the bundled `reading` classifier) reads the four sets of `read.py` made of mnist:val digits: exact strings.
A classifier that weighs the segmentation prior (one whose card does not set its weight to 0, e.g. `default`) gets
the prior refitted for each setting, as `digitscope fit prior` fits it (mnist:train strings).
Candidates per 5-digit string (what a read's cost grows with) and throughput: the settings take turns on the
same 5-digit strings, --rounds rounds, median, so that the machine's drift falls on all of them alike. Nothing
here looks at the test digits.
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import replace

import _report
from read import five_digit_strings, score

import digitscope
from digitscope.data import synthetic
from digitscope.reading import Reader, SegmentConfig
from digitscope.reading.fitting import fit_prior_on_training_strings
from digitscope.reading.reader import candidates

KNOBS = ("cut_width", "max_atoms", "cuts_per_height", "seam_drift")


def parse_setting(text: str) -> dict:
    """'0.75,5,3[,0.3]' -> the SegmentConfig fields it sets."""
    try:
        width, atoms, cuts, *drift = text.split(",")
        if len(drift) > 1:
            raise ValueError
        return dict(zip(KNOBS, (float(width), int(atoms), float(cuts), *map(float, drift)), strict=False))
    except ValueError:
        raise argparse.ArgumentTypeError(f"a setting is cut_width,max_atoms,cuts_per_height[,seam_drift] (e.g. "
                                         f"0.75,5,3 or 0.75,5,3,0.3), not {text!r}") from None


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--setting", type=parse_setting, action="append", required=True)
    p.add_argument("--n", type=int, default=1000, help="val strings per set")
    p.add_argument("--speed-n", type=int, default=200, help="5-digit strings timed")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--model", default="reading", help="the Reader's classifier")
    p.add_argument("--prior-strings", type=int, default=1500)
    args = p.parse_args()
    val = digitscope.data.load("mnist:val")
    sets, five = synthetic.reading_sets(val.images, val.labels, args.n, 0), five_digit_strings(val, args.speed_n, 0)
    classifier = digitscope.load(args.model)
    configs = [replace(SegmentConfig.from_card(classifier.card), **setting) for setting in args.setting]
    readers, exact, per_string = {}, {}, {}
    for config in configs:
        reader = Reader(classifier, config=config)
        if reader.prior_weight:  # the classifier weighs the prior: fit it to this setting's cuts
            reader = Reader(classifier, prior=fit_prior_on_training_strings(args.prior_strings, config=config),
                            config=config)
        readers[config] = reader
        exact[config] = {name: score(reader, strings)["exact"] for name, strings in sets.items()}
        # What each read costs grows with the candidates: each is rendered, brought to 28 x 28 and classified.
        found = [candidates(image, config) for image in five]
        per_string[config] = statistics.mean(len(f[1]) if f is not None else 0 for f in found)
    rates = {config: [] for config in configs}
    for _ in range(args.rounds):
        for config, reader in readers.items():
            reader.read(five[0])
            started = time.perf_counter()
            for image in five:
                reader.read(image)
            rates[config].append(len(five) / (time.perf_counter() - started))

    names = list(sets)
    lines = [f"| {s.cut_width:g} | {s.max_atoms} | {s.cuts_per_height:g} | {s.seam_drift:g} | "
             + " | ".join(f"{exact[s][name]:.1%}" for name in names)
             + f" | {sum(exact[s].values()) / len(names):.2%} | {per_string[s]:.1f} "
             f"| {statistics.median(rates[s]):.0f} |"
             for s in configs]
    refit = (f"the prior refitted for each setting on {args.prior_strings} mnist:train strings of each kind"
             if readers[configs[0]].prior_weight else "no prior (the classifier's card gives it no weight)")
    body = (f"Exact strings, {args.n} strings of mnist:val digits per set (seeds 0..3, as `read.py`), `{args.model}` "
            f"classifier, {refit}; throughput on "
            f"{args.speed_n} 5-digit val strings, settings in turn, median of {args.rounds} rounds.\n\n"
            f"| cut_width | max_atoms | cuts_per_height | seam_drift | {' | '.join(names)} | mean "
            f"| candidates per 5-digit string | 5-digit strings/s |\n"
            f"|---|---|---|---|{'---|' * len(names)}---|---|---|\n" + "\n".join(lines))
    _report.append("Where the Reader cuts touching digits: settings on validation strings", body)


if __name__ == "__main__":
    main()
