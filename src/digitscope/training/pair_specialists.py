"""Specialists for a generalist's most confused pairs (the stacked models of a source paper).

    digitscope specialists --model default --top-k 5 --out runs/specialists [--compare-on mnist:test]

1. The pairs: the generalist's confusion on its *validation* split, i<->j counted both ways (``analysis.pairs``).
2. One two-class specialist per pair, trained by the one training loop on that pair's digits alone
   (``TrainConfig.classes``) into ``OUT/pair-A-B``; finished runs are reused, interrupted ones resumed.
3. The routing margin: the threshold on the generalist's ``p1 - p2`` with the fewest validation errors
   (then the lowest validation log loss), chosen among every threshold that routes a different set of images.
4. The bundle (``models.specialists``) saved as one model, ``OUT/model``: evaluate, predict and calibrate
   take it like any other.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import torch

from .. import data as datasets
from ..analysis.metrics import confusion_matrix
from ..analysis.pairs import compare_on_pairs, confused_pairs, soft_confusion
from ..inference.classifier import DigitClassifier, load
from ..models import count_parameters, create_model
from ..models.gate import digit_reader_card
from ..models.persist import save_model
from ..models.specialists import SpecialistBundle, route
from ..store.saved import code_version
from .config import PRESETS, TrainConfig
from .loop import train_or_reuse
from .splits import training_splits, validation_spec


def specialist_config(generalist: str | Path, preset: str = "flagship", scratch: bool = False,
                      **overrides) -> TrainConfig:
    """The specialists' recipe: a preset on the generalist's data, with any field overridden. A specialist of the
    generalist's own architecture starts from its weights (all but the final layer) unless ``scratch``: it then
    begins with features that already tell the digits apart, and needs a few epochs on its pair, not a training."""
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose one of: {', '.join(sorted(PRESETS))}")
    card = load(generalist).card
    # A model put together from trained parts (a gate) has no training config: its card's data says what it read.
    config = card.config or {"data": card.data.get("name", "mnist"), "part_weights": card.data.get("part_weights", "")}
    # The generalist's data as it drew it: a specialist of a mixed set (mnist-cvl) sees its parts as often.
    where = {k: config[k] for k in ("data", "train_split", "val_split", "val_holdout", "part_weights") if k in config}
    recipe = TrainConfig(**{**PRESETS[preset], **where, **{k: v for k, v in overrides.items() if v is not None}})
    digits = digit_reader_card(card)
    same_arch = recipe.arch == digits["arch"] and recipe.arch_kwargs == {
        k: v for k, v in digits["arch_kwargs"].items() if k != "num_classes"}
    return dataclasses.replace(recipe, init=str(generalist)) if same_arch and not scratch else recipe


def build_specialists(generalist: str | Path, out: Path, top_k: int = 5, recipe: TrainConfig | None = None,
                      progress: bool = False, command: str = "") -> dict:
    """Find the generalist's ``top_k`` most confused pairs on validation, train a specialist for each, choose
    the routing margin on validation and save the bundle as ``out/model``. Returns its card."""
    out = Path(out)
    clf = load(generalist)
    recipe = recipe or specialist_config(generalist)
    if recipe.classes:
        raise ValueError("the specialists' recipe names its own classes (one pair each): leave --classes out")
    _, val = training_splits(recipe)
    probs = clf.predict_proba(val.images)  # (N, K) the generalist's calibrated probabilities
    counts = confusion_matrix(val.labels, clf.decide(probs), clf.num_classes)
    # A specialist learns its pair from the data's images of both: a class the data lacks (a gate's "not a
    # digit" on MNIST) can be confused but not specialised in.
    found = confused_pairs(counts, top_k, soft_confusion(val.labels, probs), classes=np.unique(val.labels))
    if not found:
        raise ValueError("the generalist confuses no pair of the data's classes on the validation split: "
                         "no specialist to train")
    runs = []
    for p in found:
        a, b = p["pair"]
        run = out / f"pair-{a}-{b}"
        card = train_or_reuse(dataclasses.replace(recipe, classes=f"{a},{b}"), run, progress,
                              command=f"{command}  (specialist for {a} and {b})")
        runs.append((run, card))

    bundle = create_model("specialists", **_bundle_kwargs(clf, runs, threshold=0.0))
    bundle.generalist.load_state_dict(clf.model.state_dict())
    for slot, (run, _) in zip(bundle.specialists, runs, strict=True):
        slot.load_state_dict(load(run).model.state_dict())
    routing = choose_margin(val.labels, probs, _routed_everywhere(bundle, clf, val.images), margins(probs),
                            route(torch.from_numpy(probs), bundle.pairs, float("inf")).numpy() >= 0)
    bundle.threshold = routing["threshold"]
    config = clf.card.config or {}
    card = {
        "arch": "specialists", "arch_kwargs": _bundle_kwargs(clf, runs, routing["threshold"]),
        # How the generalist was made goes with it (a gate's parts name the runs of its reader and detector).
        "generalist": {"model": str(generalist), "arch": clf.card.arch, "seed": clf.card.seed,
                       "temperature": clf.temperature, "metrics": clf.card.metrics.get("selected"),
                       "command": clf.card.command, **({"parts": clf.card.parts} if clf.card.parts else {})},
        "confused_pairs": found,
        "specialists": [{"pair": p["pair"], "run": str(run), "metrics": card.get("metrics", {}).get("selected"),
                         "generalist_val_accuracy": pair_accuracy(val.labels, probs, p["pair"])}
                        for p, (run, card) in zip(found, runs, strict=True)],
        "routing": {"chosen_on": validation_spec(recipe), "data_checksum": val.checksum, **routing},
        # The generalist's decision rule carries over; its reject rule does not (the probabilities changed):
        # `digitscope fit temperature --model OUT` fits one for the bundle.
        "config": {k: config[k] for k in ("decision", "cost") if k in config},
        "data": clf.card.data, "parameters": count_parameters(bundle), "code_version": code_version(),
        "command": command,
    }
    save_model(out / "model", bundle, card)
    return card


def _bundle_kwargs(clf: DigitClassifier, runs: list[tuple[Path, dict]], threshold: float) -> dict:
    return {"generalist": {"arch": clf.card.arch, "arch_kwargs": clf.card.arch_kwargs},
            "specialists": [{"arch": card["arch"], "arch_kwargs": card["arch_kwargs"],
                             "pair": [int(c) for c in card["config"]["classes"].split(",")]} for _, card in runs],
            "threshold": threshold, "generalist_temperature": clf.temperature, "num_classes": clf.num_classes}


def _routed_everywhere(bundle: SpecialistBundle, clf: DigitClassifier, images: np.ndarray) -> np.ndarray:
    """(N, K) the bundle's probabilities when every image whose top two digits are a pair goes to its specialist."""
    threshold, bundle.threshold = bundle.threshold, float("inf")
    try:
        return np.exp(DigitClassifier(bundle, {"arch_kwargs": {"num_classes": clf.num_classes}}, clf.device)
                      .logits(images))
    finally:
        bundle.threshold = threshold


def pair_accuracy(labels: np.ndarray, probs: np.ndarray, pair: list[int]) -> float:
    """The generalist's accuracy on its specialist's question: among the images of the pair, which of the two."""
    a, b = pair
    mine = np.isin(labels, pair)
    return float(((probs[mine, b] > probs[mine, a]) == (labels[mine] == b)).mean()) if mine.any() else float("nan")


def margins(probs: np.ndarray) -> np.ndarray:
    """(N,) p1 - p2, the gap between the two most probable digits."""
    top2 = -np.sort(-np.asarray(probs), axis=1)[:, :2]
    return top2[:, 0] - top2[:, 1]


def choose_margin(labels: np.ndarray, probs: np.ndarray, routed: np.ndarray, margin: np.ndarray,
                  candidate: np.ndarray) -> dict:
    """The routing threshold with the fewest errors, then the lowest log loss, on labelled (validation) images.

    probs (N, K): the generalist's probabilities; routed (N, K): the bundle's with every candidate routed;
    margin (N,): the generalist's p1 - p2; candidate (N,): True where the top two digits are a pair. Routing
    the j candidates of smallest margin is one choice for each j = 0..R; each is scored in one cumulative sum."""
    labels = np.asarray(labels)
    n = len(labels)
    rows = np.flatnonzero(candidate)
    rows = rows[np.argsort(margin[rows], kind="stable")]  # (R,) candidates, smallest margin first
    m = margin[rows].astype(np.float64)

    def wrong_and_nll(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return (p.argmax(1) != labels).astype(np.int64), -np.log(np.clip(p[np.arange(n), labels], 1e-12, 1.0))

    wrong, nll = wrong_and_nll(np.asarray(probs))
    wrong_routed, nll_routed = wrong_and_nll(np.asarray(routed))
    errors = wrong.sum() + np.concatenate([[0], np.cumsum(wrong_routed[rows] - wrong[rows])])  # (R+1,)
    log_loss = (nll.sum() + np.concatenate([[0.0], np.cumsum(nll_routed[rows] - nll[rows])])) / n
    # A threshold cannot separate equal margins: routing j candidates is possible only where the margin steps up.
    possible = np.concatenate([[True], m[1:] > m[:-1], [True]]) if len(m) else np.array([True])
    thresholds = np.concatenate([[0.0], (m[:-1] + m[1:]) / 2, [np.nextafter(m[-1], np.inf)]]) if len(m) \
        else np.array([0.0])
    best = [j for j in np.lexsort((log_loss, errors)) if possible[j]][0]
    return {"threshold": float(thresholds[best]), "routed": int(best), "candidates": int(len(rows)),
            "errors_without": int(errors[0]), "errors_with": int(errors[best]),
            "log_loss_without": float(log_loss[0]), "log_loss_with": float(log_loss[best])}


def generalist_classifier(clf: DigitClassifier) -> DigitClassifier:
    """The bundle's generalist alone, with its own calibration and the bundle's decision rule."""
    return DigitClassifier(clf.model.generalist, {"arch_kwargs": {"num_classes": clf.num_classes},
                                                  "calibration": {"temperature": clf.model.generalist_temperature},
                                                  "config": clf.card.config}, clf.device)


def compare_specialists(clf: DigitClassifier, spec: str) -> dict:
    """Errors on each specialist's pair and overall on ``spec``, answered by the generalist alone and by the bundle
    (a loaded specialist bundle)."""
    if not isinstance(clf.model, SpecialistBundle):
        raise ValueError(f"{clf.source} is a {clf.card.arch!r} model, not a specialist bundle "
                         "(`digitscope specialists` makes one)")
    arrays = datasets.load(spec)
    generalist = generalist_classifier(clf)
    probs = generalist.predict_proba(arrays.images)
    routed = route(torch.from_numpy(probs), clf.model.pairs, clf.model.threshold).numpy()
    pairs = clf.model.pairs.tolist()
    report = compare_on_pairs(arrays.labels, generalist.decide(probs), clf.predict(arrays.images), pairs)
    return {"data": spec, "data_checksum": arrays.checksum, "threshold": clf.model.threshold,
            "routed": int((routed >= 0).sum()), **report}
