"""Calibration: confidences that mean what they say.

Temperature scaling (Guo et al. 2017) divides the logits by one number T fitted on the validation split;
it changes confidences, never the predicted digit. The metrics come from torchmetrics where it has them
(ECE); adaptive ECE (equal-mass bins, Nixon et al. 2019), NLL and Brier are one line each on top.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F
from torchmetrics.functional.classification import multiclass_calibration_error

from ..figures import pyplot, save

if TYPE_CHECKING:
    from ..store.card import ModelCard

ECE_BINS = 15


def fit_temperature(logits: np.ndarray, labels: np.ndarray, max_iter: int = 200) -> float:
    """The T > 0 that minimises the NLL of softmax(logits / T) on (validation) labels."""
    z = torch.as_tensor(np.asarray(logits), dtype=torch.float64)
    y = torch.as_tensor(np.asarray(labels), dtype=torch.long)
    log_t = torch.zeros((), dtype=torch.float64, requires_grad=True)  # T = exp(log_t) stays positive
    opt = torch.optim.LBFGS([log_t], lr=0.5, max_iter=max_iter, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = F.cross_entropy(z / log_t.exp(), y)
        loss.backward()
        return loss

    opt.step(closure)
    return float(log_t.detach().exp())


def adaptive_ece(probs: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS) -> float:
    """ECE over bins holding equal numbers of examples (sorted by confidence)."""
    confidence, correct = probs.max(1), (probs.argmax(1) == labels)
    order = np.argsort(confidence)
    return float(sum(len(b) * abs(confidence[b].mean() - correct[b].mean())
                     for b in np.array_split(order, bins) if len(b)) / len(labels))


def calibration_report(probs: np.ndarray, labels: np.ndarray) -> dict:
    """ECE (15 bins, L1), adaptive ECE, NLL and Brier score of (N, K) probabilities against (N,) labels."""
    probs, labels = np.asarray(probs, np.float64), np.asarray(labels)
    p, y = torch.from_numpy(probs), torch.from_numpy(labels).long()
    onehot = np.eye(probs.shape[1])[labels]
    return {
        "ece": float(multiclass_calibration_error(p, y, num_classes=probs.shape[1], n_bins=ECE_BINS, norm="l1")),
        "adaptive_ece": adaptive_ece(probs, labels),
        "nll": float(-np.log(np.clip(probs[np.arange(len(labels)), labels], 1e-12, None)).mean()),
        "brier": float(((probs - onehot) ** 2).sum(1).mean()),
        "accuracy": float((probs.argmax(1) == labels).mean()),
    }


def plot_reliability(probs: np.ndarray, labels: np.ndarray, path: Path, title: str = "Reliability") -> Path:
    """Accuracy against confidence in 15 equal-width bins, with the count of each bin underneath."""
    confidence, correct = probs.max(1), probs.argmax(1) == labels
    edges = np.linspace(0, 1, ECE_BINS + 1)
    which = np.clip(np.digitize(confidence, edges) - 1, 0, ECE_BINS - 1)
    counts = np.bincount(which, minlength=ECE_BINS)
    accuracy = np.bincount(which, weights=correct, minlength=ECE_BINS) / np.maximum(counts, 1)
    centres = (edges[:-1] + edges[1:]) / 2
    fig, (top, bottom) = pyplot().subplots(2, 1, figsize=(5, 6), dpi=110, height_ratios=[3, 1], sharex=True)
    top.plot([0, 1], [0, 1], "--", color="gray", label="perfect calibration")
    top.bar(centres[counts > 0], accuracy[counts > 0], width=1 / ECE_BINS, edgecolor="black", color="#4a7ab5",
            label="accuracy in bin")
    top.set(ylabel="accuracy", title=title, ylim=(0, 1))
    top.legend(loc="upper left")
    bottom.bar(centres, counts, width=1 / ECE_BINS, color="#888888")
    bottom.set(xlabel="confidence", ylabel="images", yscale="log")
    fig.tight_layout()
    return save(fig, path)


def check_held_out(card: ModelCard, spec: str, arrays) -> None:
    """Refuse to calibrate on images the model was trained on (a final fit on mnist:train-full holds mnist:val):
    there its confidence is that of a model on its own training data, and the temperature would come out too low.
    Compared image by image when the two splits are of the same dataset; more than half shared counts."""
    from .. import data

    trained = card.data.get("train", "")
    if trained.split(":")[0] != spec.split(":")[0]:
        return
    seen = {image.tobytes() for image in data.load(trained).images}
    shared = sum(image.tobytes() in seen for image in arrays.images)
    if shared > len(arrays) / 2:
        raise ValueError(f"{spec}: {shared:,} of its {len(arrays):,} images are in {trained}, which the model was "
                         f"trained on; calibrate it on images it has not seen (a final fit has none of its own: "
                         f"calibrate a run of the same recipe on the train split instead)")


def calibrate_model(name_or_path: str | Path, spec: str = "mnist:val", figures: Path | None = None,
                    max_risk: float | None = 0.001, coverage: float | None = None,
                    out: str | Path | None = None) -> dict:
    """Fit the model's temperature on ``spec``, then its reject threshold for ``max_risk`` (or ``coverage``)
    on the calibrated confidences, and store both in its card: ``predict_proba`` and every prediction path
    apply them from then on. The card written is the model's own, or with ``out`` a copy's there
    (``store.bundled.writable_stem``: a bundled model is calibrated only into a copy)."""
    from .. import data
    from ..inference.classifier import DigitClassifier
    from ..inference.scores import digit_confidence, softmax
    from ..store.bundled import resolve_model_path, writable_stem
    from ..store.saved import read_card, write_card
    from .reject import choose_threshold

    if spec.endswith(":test"):
        raise ValueError("calibrate on a validation split (e.g. mnist:val): the test set is never used to choose")
    path = resolve_model_path(name_or_path)
    target = writable_stem(name_or_path, out)
    card = read_card(path)
    arrays = data.load(spec)
    check_held_out(card, spec, arrays)
    logits = DigitClassifier.load(path).logits(arrays.images)
    temperature = fit_temperature(logits, arrays.labels)
    probs = softmax(logits / temperature)
    result = {"temperature": temperature, "fitted_on": spec, "data_checksum": arrays.checksum,
              "before": calibration_report(softmax(logits), arrays.labels),
              "after": calibration_report(probs, arrays.labels)}
    # A "not a digit" answer (an 11-class model's class 10) to a validation digit counts as an error.
    rule = choose_threshold(digit_confidence(probs), probs.argmax(1) == arrays.labels,
                            max_risk=None if coverage is not None else max_risk, coverage=coverage)
    reject = {"score": "digit-confidence", "fitted_on": spec, **rule}
    if figures is not None:
        Path(figures).mkdir(parents=True, exist_ok=True)
        result["figures"] = {
            name: str(plot_reliability(softmax(z), arrays.labels, Path(figures) / f"reliability-{name}.png",
                                       f"Reliability on {spec}, {name} temperature scaling"))
            for name, z in (("before", logits), ("after", logits / temperature))}
    card.calibration = {k: v for k, v in result.items() if k != "figures"}
    card.reject = reject
    write_card(target, card)
    return {**result, "reject": reject, **({"model": str(target)} if out is not None else {})}
