"""The Reader's reject rule for whole numbers, at a risk the user chooses.

By default the Reader refuses a number when the classifier's reject rule refuses one of its digits (fitted for
single digits at 0.1% risk): the longer the number, the more often it is refused, whatever the risk of the
number as a whole. ``Reader(max_risk=r)`` instead answers a number when its confidence (the product of its
digits' confidences) is at least the threshold that, on strings of mnist:val digits, kept the share of wrong
numbers among those answered at or below r, and answers as many as that allows:

    digitscope fit number-risk --model reading --strings 3000 --seed 100 --out DIR

fits the rule on 3,000 strings of each kind (``synthetic.reading_sets``, the four sets of ``benchmarks/read.py``,
from seed 100 on: apart from the validation strings read.py reports on) and stores it in the model's card
(``reading.number_reject``). The confidence is that of the card's calibration, so calibrating the model again
asks for the rule to be fitted again; the curve is also that of the Reader's segmentation when it was fitted, so
fit it again after changing that (as the segmentation prior, ``prior``).

With a line reader (``Reader(line_model=...)``) the number's confidence is another quantity (the geometric mean of
the two readers' probabilities of the text), so its rule is fitted for the pair, on real amounts, and kept in the
line reader's card with the risk it was fitted for, which the Reader then applies by default:

    digitscope fit number-risk --model reading --line-model amounts --default-risk 0.02 --out DIR
"""

from __future__ import annotations


def threshold_for(rule: dict, max_risk: float) -> float:
    """The number confidence below which a number is refused, for at most ``max_risk`` wrong numbers among
    those answered (on the strings the rule was fitted on); inf when no threshold is that safe."""
    if not 0 <= max_risk < 1:
        raise ValueError(f"max_risk must be in [0, 1), not {max_risk}")
    safe = [t for t, _, r in rule["curve"] if r <= max_risk]
    return safe[-1] if safe else float("inf")


def rule_of(classifier) -> dict:
    """The number reject rule in a classifier's card, checked against its calibration."""
    rule = classifier.card.reading.get("number_reject")
    if rule is None:
        raise ValueError("this model's card has no reject rule for whole numbers: fit one with "
                         "`digitscope fit number-risk --model MODEL --out DIR`")
    temperature = temperature_of(classifier)
    if rule["temperature"] != temperature:
        raise ValueError(f"the number reject rule was fitted at temperature {rule['temperature']}, the model is "
                         f"calibrated at {temperature}: fit it again with `digitscope fit number-risk`")
    return rule


def line_rule_of(line_card, classifier) -> dict:
    """The number reject rule of a line reader together with a classifier, from the line reader's card: fitted on
    real amounts with one classifier (``fitting.fit_line_risk``), it holds for that classifier alone."""
    rule = line_card.reading["number_reject"]
    fitted_with = (rule["classifier_arch"], rule["temperature"])
    given = (classifier.card.arch, temperature_of(classifier))
    if fitted_with != given:
        raise ValueError(f"this line reader's reject rule was fitted with a {fitted_with[0]} classifier at temperature "
                         f"{fitted_with[1]}, not a {given[0]} at {given[1]}: read with the classifier it names "
                         f"({rule['classifier']}) or fit the rule again with `digitscope fit number-risk "
                         f"--line-model`")
    return rule


def temperature_of(classifier) -> float | None:
    return classifier.card.calibration.get("temperature")
