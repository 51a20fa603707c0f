"""Examples whose given label the model disputes most, ranked by cleanlab's confident learning.

The predictions are out-of-sample only on a split none of the models trained on (the test split, for
models trained on ``train``); there cleanlab's ranking is sound as it is. On a split a model trained on,
it has seen (and largely memorised) the given labels, so its disputes are too few: such a split needs
out-of-fold predictions (cross-validation), and the report carries a warning saying so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from .. import data
from ..store.card import ModelCard
from .sheets import contact_sheet

# cleanlab's filter_by methods. Its default, 'prune_by_noise_rate' (confident learning), flags only disputes as
# confident as the model's typical correct answer: few on a 99.7% model trained with label smoothing.
# 'predicted_neq_given' flags every example the model reads differently from its label.
FILTERS = ("prune_by_noise_rate", "prune_by_class", "both", "confident_learning", "predicted_neq_given",
           "low_normalized_margin", "low_self_confidence")


@dataclass(frozen=True)
class LabelIssue:
    index: int  # into the dataset split
    given: int  # the label the dataset gives
    predicted: int  # the model's label
    probability: float  # the model's probability of its own label
    given_probability: float  # the model's probability of the given label

    def to_dict(self) -> dict:
        return asdict(self)


def rank_label_issues(labels: np.ndarray, probs: np.ndarray, top: int | None = None,
                      filter_by: str = "prune_by_noise_rate") -> list[LabelIssue]:
    """The examples cleanlab flags as label issues, most doubtful first (lowest probability of the given label).

    labels: (N,) given labels; probs: (N, K) out-of-sample probabilities; top: keep the first ``top`` (all if None);
    filter_by: which of cleanlab's methods (``FILTERS``) decides what is an issue.
    """
    from cleanlab.filter import find_label_issues

    labels = np.asarray(labels)
    probs = np.asarray(probs, dtype=np.float64)
    _check_options(top, filter_by)
    if len(labels) == 0:
        raise ValueError("no examples: the dataset is empty")
    if probs.ndim != 2 or len(probs) != len(labels):
        raise ValueError(f"probabilities must be (N, K) for N = {len(labels)} labels, got shape {probs.shape}")
    if labels.min() < 0 or labels.max() >= probs.shape[1]:
        raise ValueError(f"labels run from {labels.min()} to {labels.max()}, outside the model's "
                         f"{probs.shape[1]} classes")
    # n_jobs=1: cleanlab's multiprocessing costs more than it saves at these sizes.
    ranked = find_label_issues(labels, probs, filter_by=filter_by, return_indices_ranked_by="self_confidence",
                               n_jobs=1)
    predicted = probs.argmax(axis=1)
    return [LabelIssue(int(i), int(labels[i]), int(predicted[i]), float(probs[i, predicted[i]]),
                       float(probs[i, labels[i]])) for i in ranked[:top]]


def _check_options(top: int | None, filter_by: str) -> None:
    if top is not None and top < 1:
        raise ValueError(f"--top must be at least 1, got {top}")
    if filter_by not in FILTERS:
        raise ValueError(f"unknown filter {filter_by!r}; choose one of: {', '.join(FILTERS)}")


def ensemble_proba(models: Sequence, images: np.ndarray) -> np.ndarray:
    """The mean of the models' ``predict_proba``: independently trained seeds err in different places."""
    if not models:
        raise ValueError("no model given")
    probs = [m.predict_proba(images) for m in models]
    if len({p.shape for p in probs}) > 1:
        raise ValueError(f"the models disagree on the number of classes: {sorted({p.shape[1] for p in probs})}")
    return np.mean(probs, axis=0)


def trained_on(card: ModelCard, spec: str, checksum: str) -> bool:
    """Whether a model's card says it trained on this split (or, as 'train-full' does, on a superset of it)."""
    info, split = data.parse_spec(spec)
    trained = card.data
    return (trained.get("train") == f"{info.name}:{split}" or trained.get("train_checksum") == checksum
            or (trained.get("name") == info.name and split.startswith("train")))


def label_issue_report(models: Sequence, spec: str, out: Path, top: int = 30, filter_by: str = "prune_by_noise_rate",
                       model_names: Sequence[str] | None = None, command: str = "") -> dict:
    """Rank the label issues of a split by the models' mean probabilities, and write them to ``out``.

    ``models``: DigitClassifier-like objects (``predict_proba`` and a ``card``). Writes ``sheet.png``,
    ``<index>.png`` (the dataset's exact pixels) per issue, and ``report.md`` with a verdict column to fill.
    """
    _check_options(top, filter_by)  # before the predictions, which take a while
    arrays = data.load(spec)
    if len(arrays) == 0:
        raise ValueError(f"{spec} is empty: no examples to rank")
    names = list(model_names or [str(i) for i in range(len(models))])
    warnings = [f"model {name} trained on {spec}: its predictions there are in-sample and miss most label "
                "issues; rank a training split with out-of-fold predictions (cross-validation) instead"
                for name, m in zip(names, models, strict=True) if trained_on(m.card, spec, arrays.checksum)]
    issues = rank_label_issues(arrays.labels, ensemble_proba(models, arrays.images), filter_by=filter_by)
    shown = issues[:top]

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for issue in shown:
        Image.fromarray(arrays.images[issue.index]).save(out / f"{issue.index}.png")
    # No title: with one, contact_sheet's layout hides the second caption line of every row but the last.
    sheet = contact_sheet(arrays.images[[i.index for i in shown]],
                          [f"#{i.index} given {i.given}\nmodel says {i.predicted} {i.probability:.0%}" for i in shown],
                          out / "sheet.png", title=f"Possible label issues in {spec}")
    result = {"data": spec, "data_checksum": arrays.checksum, "n": len(arrays), "models": names,
              "filter": filter_by, "flagged": len(issues), "top": top, "issues": [i.to_dict() for i in shown],
              "warnings": warnings, "sheet": str(sheet), "report": str(out / "report.md")}
    _write_report(out / "report.md", result, command)
    return result


def _write_report(path: Path, result: dict, command: str) -> None:
    lines = [f"# Label issues in {result['data']}", ""]
    if command:
        lines += ["```sh", command, "```", ""]
    lines += [f"Models (probabilities averaged): {', '.join(result['models'])}.",
              f"cleanlab (`find_label_issues`, filter `{result['filter']}`, ranked by self-confidence) flags "
              f"{result['flagged']} of "
              f"{result['n']:,} examples; the first {len(result['issues'])} are below.", ""]
    if result["flagged"] < result["top"] and result["filter"] != "predicted_neq_given":
        lines += ["Fewer than asked for: `--filter predicted_neq_given` lists every example the models read "
                  "differently from its label, ranked the same way.", ""]
    for warning in result["warnings"]:
        lines += [f"**Warning:** {warning}", ""]
    lines += ["![contact sheet](sheet.png)", "",
              "Verdict: *label wrong*, *ambiguous*, or *model wrong*.", "",
              "| rank | index | given | model | p(model) | p(given) | image | verdict |",
              "|---:|---:|---:|---:|---:|---:|---|---|"]
    lines += [f"| {r} | {i['index']} | {i['given']} | {i['predicted']} | {i['probability']:.3f} | "
              f"{i['given_probability']:.4f} | [{i['index']}.png]({i['index']}.png) |  |"
              for r, i in enumerate(result["issues"], 1)]
    path.write_text("\n".join(lines) + "\n")
