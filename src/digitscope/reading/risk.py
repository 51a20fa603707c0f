"""The Reader's reject rule for whole numbers, at a risk the user chooses.

By default the Reader refuses a number when the classifier's reject rule refuses one of its digits (fitted for
single digits at 0.1% risk): the longer the number, the more often it is refused, whatever the risk of the
number as a whole. ``Reader(max_risk=r)`` instead answers a number when its confidence (the product of its
digits' confidences) is at least the threshold that, on strings of mnist:val digits, kept the share of wrong
numbers among those answered at or below r, and answers as many as that allows:

    python -m digitscope.reading.risk --model reading --strings 3000 --seed 100

fits the rule on 3,000 strings of each kind (``synthetic.reading_sets``, the four sets of ``benchmarks/read.py``,
from seed 100 on: apart from the validation strings read.py reports on) and stores it in the model's card
(``reading.number_reject``). The confidence is that of the card's calibration, so calibrating the model again
asks for the rule to be fitted again; the curve is also that of the Reader's segmentation when it was fitted, so
fit it again after changing that (as the segmentation prior, ``prior``).
"""

from __future__ import annotations

import argparse

import numpy as np

from ..uncertainty.reject import risk_coverage


def fit_rule(reader, sets: dict) -> dict:
    """The risk-coverage curve of a Reader's number confidence over string ``sets`` (name -> DigitStrings):
    the points some max_risk would choose, as (threshold, coverage, risk). Readings the Reader refuses whatever
    their confidence (a digit's worth of ink left unread, "not a digit" more probable than the digit) count as
    never answered."""
    from .reader import Reader

    everything = Reader(reader.classifier, reader.prior)
    everything.number_threshold = 0.0  # refuses only what no threshold would answer
    scores, right = [], []
    for strings in sets.values():
        for image, text in zip(strings.images, strings.texts, strict=True):
            result = everything.read(np.asarray(image))
            scores.append(-1.0 if result["rejected"] else result["confidence"])
            right.append(result["text"] == text)
    coverage, risk, thresholds = risk_coverage(np.array(scores), np.array(right))
    answerable = thresholds >= 0  # the refused readings (score -1) come last, as one point no threshold reaches
    coverage, risk, thresholds = coverage[answerable], risk[answerable], thresholds[answerable]
    # max_risk r chooses the last point whose risk is at most r: only points with less risk than every later
    # one can be chosen, and they are few.
    later_best = np.minimum.accumulate(risk[::-1])[::-1]
    keep = risk < np.append(later_best[1:], np.inf)
    curve = [[round(float(t), 6), round(float(c), 5), round(float(r), 5)]
             for t, c, r in zip(thresholds[keep], coverage[keep], risk[keep], strict=True)]
    return {"score": "number-confidence", "temperature": _temperature(reader.classifier), "readings": len(scores),
            "sets": {name: len(s) for name, s in sets.items()}, "curve": curve}


def threshold_for(rule: dict, max_risk: float) -> float:
    """The number confidence below which a number is refused, for at most ``max_risk`` wrong numbers among
    those answered (on the strings the rule was fitted on); inf when no threshold is that safe."""
    if not 0 <= max_risk < 1:
        raise ValueError(f"max_risk must be in [0, 1), not {max_risk}")
    safe = [t for t, _, r in rule["curve"] if r <= max_risk]
    return safe[-1] if safe else float("inf")


def rule_of(classifier) -> dict:
    """The number reject rule in a classifier's card, checked against its calibration."""
    rule = classifier.card.get("reading", {}).get("number_reject")
    if rule is None:
        raise ValueError("this model's card has no reject rule for whole numbers: fit one with "
                         "`python -m digitscope.reading.risk --model MODEL`")
    temperature = _temperature(classifier)
    if rule["temperature"] != temperature:
        raise ValueError(f"the number reject rule was fitted at temperature {rule['temperature']}, the model is "
                         f"calibrated at {temperature}: fit it again with `python -m digitscope.reading.risk`")
    return rule


def _temperature(classifier) -> float | None:
    return classifier.card.get("calibration", {}).get("temperature")


def main() -> None:
    p = argparse.ArgumentParser(description="Fit the Reader's reject rule for whole numbers on strings of "
                                            "mnist:val digits and store it in the model's card.")
    p.add_argument("--model", default="reading", help="a bundled name or a saved model")
    p.add_argument("--strings", type=int, default=3000, help="strings of each kind")
    p.add_argument("--seed", type=int, default=100)
    args = p.parse_args()

    from ..classifier import load, resolve_model_path
    from ..data import load as load_data
    from ..saved import card_path, read_card, write_json
    from . import synthetic
    from .reader import Reader

    val = load_data("mnist:val")
    sets = synthetic.reading_sets(val.images, val.labels, args.strings, args.seed)
    rule = fit_rule(Reader(load(args.model)), sets)
    rule["fitted_on"] = f"strings of mnist:val digits, {args.strings} of each kind, seeds {args.seed}..{args.seed + 3}"
    rule["command"] = (f"python -m digitscope.reading.risk --model {args.model} --strings {args.strings} "
                       f"--seed {args.seed}")
    stem = resolve_model_path(args.model)
    card = read_card(stem)
    card["reading"] = {**card.get("reading", {}), "number_reject": rule}
    write_json(card_path(stem), card)
    for max_risk in (0.002, 0.005, 0.01, 0.02):
        t = threshold_for(rule, max_risk)
        point = next((c for th, c, _ in rule["curve"] if th == t), 0.0)
        print(f"max_risk {max_risk:.1%}: threshold {t:.4f}, answers {point:.1%} of the numbers")
    print(f"rule written to {card_path(stem)}")


if __name__ == "__main__":
    main()
