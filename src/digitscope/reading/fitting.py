"""Fitting what the Reader keeps beside its classifier, on strings of handwritten digits: the segmentation prior
(``prior``) and the reject rule for whole numbers (``risk``). ``digitscope fit prior`` and ``digitscope fit
number-risk`` run these and write the result where the user says."""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression

from ..boxes import box_iou
from ..data import load as load_data
from ..data import synthetic
from ..inference.classifier import load
from ..uncertainty.reject import risk_coverage
from .prior import WHOLE_IOU, SegmentPrior, design
from .reader import Reader, candidates
from .risk import temperature_of
from .segment import SegmentConfig

# The digits a classifier's own number rule is fitted on unless told otherwise: MNIST's validation digits, which the
# reading model never trained on.
NUMBER_RISK_DIGITS = "mnist:val"


def training_rows(images, texts: list[str], boxes: list[np.ndarray], classifier,
                  config: SegmentConfig = SegmentConfig()) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The shape (E, len(SHAPE)), digit (E,) and wholeness (E,) of every candidate span of some strings, as
    `config` cuts them: a span that matches a true digit's box is a whole digit of its true label; any other span
    is not whole, read as the classifier reads it."""
    shapes, digits, wholes = [], [], []
    for image, text, truth in zip(images, texts, boxes, strict=True):
        found = candidates(np.asarray(image), config)
        if found is None:
            continue
        atoms, spans, canonical, factor = found
        overlap = box_iou((spans.boxes * factor)[:, None], np.asarray(truth, np.float64)[None])  # (E, L)
        whole = overlap.max(axis=1) >= WHOLE_IOU
        digits.append(np.where(whole, np.array([int(c) for c in text])[overlap.argmax(axis=1)],
                               classifier.predict_proba(canonical)[:, :10].argmax(axis=1)))
        shapes.append(spans.shape)
        wholes.append(whole)
    return np.concatenate(shapes), np.concatenate(digits), np.concatenate(wholes)


def fit_prior(shapes: np.ndarray, digits: np.ndarray, wholes: np.ndarray, card: dict) -> SegmentPrior:
    features = design(shapes)[np.arange(len(shapes)), digits]  # (E, F)
    model = LogisticRegression(C=1.0, max_iter=5000).fit(features, wholes)
    return SegmentPrior(model.coef_[0], model.intercept_[0], card)


def fit_prior_on_training_strings(strings: int = 1500, seed: int = 0,
                                  config: SegmentConfig = SegmentConfig()) -> SegmentPrior:
    """The prior of the segmentation as `config` cuts, fitted on ``strings`` strings of mnist:train digits of each
    kind."""
    train = load_data("mnist:train")
    classifier = load("default")
    sets = [synthetic.mnist_sequences(train.images, train.labels, strings, seed),
            synthetic.freeform_strings(train.images, train.labels, strings, seed + 1),
            synthetic.house_number_scenes(train.images, train.labels, strings, seed + 2)]
    rows = [training_rows(s.images, s.texts, s.boxes, classifier, config) for s in sets]
    shapes, digits, wholes = (np.concatenate(column) for column in zip(*rows, strict=True))
    card = {"fitted_on": f"mnist:train strings, {strings} of each kind, seed {seed}",
            "command": f"digitscope fit prior --strings {strings} --seed {seed}",
            "spans": int(len(wholes)), "whole": int(wholes.sum())}
    return fit_prior(shapes, digits, wholes, card)


def fit_rule(reader, sets: dict) -> dict:
    """The risk-coverage curve of a Reader's number confidence over string ``sets`` (name -> DigitStrings):
    the points some max_risk would choose, as (threshold, coverage, risk). Readings the Reader refuses whatever
    their confidence (a digit's worth of ink left unread, "not a digit" more probable than the digit) count as
    never answered."""
    everything = Reader(reader.classifier, reader.prior, config=reader.config, line_model=reader.line_model)
    everything.number_threshold = 0.0  # refuses only what no threshold would answer
    scores, right = [], []
    for strings in sets.values():
        for image, text in zip(strings.images, strings.texts, strict=True):
            result = everything.read(np.asarray(image))
            scores.append(-1.0 if result.rejected else result.confidence)
            right.append(result.text == text)
    coverage, risk, thresholds = risk_coverage(np.array(scores), np.array(right))
    answerable = thresholds >= 0  # the refused readings (score -1) come last, as one point no threshold reaches
    coverage, risk, thresholds = coverage[answerable], risk[answerable], thresholds[answerable]
    # max_risk r chooses the last point whose risk is at most r: only points with less risk than every later
    # one can be chosen, and they are few.
    later_best = np.minimum.accumulate(risk[::-1])[::-1]
    keep = risk < np.append(later_best[1:], np.inf)
    curve = [[round(float(t), 6), round(float(c), 5), round(float(r), 5)]
             for t, c, r in zip(thresholds[keep], coverage[keep], risk[keep], strict=True)]
    return {"score": "number-confidence", "temperature": temperature_of(reader.classifier), "readings": len(scores),
            "sets": {name: len(s.texts) for name, s in sets.items()}, "curve": curve}


def fit_number_risk(classifier, strings: int = 3000, seed: int = 100, digits: str = NUMBER_RISK_DIGITS) -> dict:
    """The number reject rule of a classifier in the Reader, fitted on ``strings`` strings of each kind of the
    ``digits`` split's digits (seeds ``seed``..``seed + 3``: apart from the validation strings ``benchmarks/read.py``
    reports on), ready for a card's ``reading.number_reject``. The digits should be ones the classifier never trained
    on, by writers it never saw where there are any: a rule fitted on familiar digits promises too little risk."""
    val = load_data(digits)
    sets = synthetic.reading_sets(val.images, val.labels, strings, seed)
    rule = fit_rule(Reader(classifier), sets)
    rule["fitted_on"] = f"strings of {digits} digits, {strings} of each kind, seeds {seed}..{seed + 3}"
    return rule


def fit_line_risk(classifier, line_model, default_risk: float, amounts: int = 1000, seed: int = 100) -> dict:
    """The number reject rule of a classifier and a line reader together (``Reader(line_model=...)``), ready for the
    line reader's card: fitted on real amounts, ORAND-CAR-A's ``choose`` side (never trained on), and on ``amounts``
    written amounts of digits by writers no training split has (``cvl:valid``, ``mnist-writers:val``; seed
    ``seed``, apart from amount-lines' own ``strings-val``). ``default_risk``: the risk the Reader applies when
    asked for none."""
    from .line_sets import digits_of_writers, orand_amounts

    if not 0 <= default_risk < 1:
        raise ValueError(f"the default risk must be in [0, 1), not {default_risk}")
    new_writers = digits_of_writers("cvl:valid", "mnist-writers:val")
    sets = {"orand-car-a choose": orand_amounts("choose"),
            "amounts of new writers": synthetic.amount_strings(*new_writers, amounts, seed)}
    rule = fit_rule(Reader(classifier, line_model=line_model), sets)
    rule.update(classifier_arch=classifier.card.arch, default_risk=default_risk,
                fitted_on=f"ORAND-CAR-A's choose side and {amounts} amounts of cvl:valid and mnist-writers:val "
                          f"digits (seed {seed})")
    return rule
