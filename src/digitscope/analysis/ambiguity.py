"""The examples a model finds hardest, ranked by one kind of ambiguity, written out for a person to look at.

``rank`` is pure (probabilities in, ranked items out); ``find_ambiguous`` runs a model over a dataset split
and writes ``<index>.png`` per example, a contact sheet ``sheet.png`` and ``report.md`` into a folder.
"""

from __future__ import annotations

import shlex
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from .. import data
from ..inference.classifier import DigitClassifier
from ..inference.mc_dropout import mc_dropout_proba
from ..labels import NOT_A_DIGIT
from ..store.card import ModelCard
from ..uncertainty import entropy, margin, max_probability, member_disagreement, mutual_information
from .sheets import contact_sheet

# kind -> (definition, what its score is)
KINDS: dict[str, tuple[str, str]] = {
    "confident-wrong": ("misclassified examples, the most confident wrong answers first",
                        "the probability of the wrong answer"),
    "least-confident": ("the lowest top-class probability first", "the top-class probability"),
    "smallest-margin": ("the smallest difference between the two most probable digits first",
                        "top-1 minus top-2 probability"),
    "highest-entropy": ("the highest predictive entropy first: probability spread over many digits",
                        "predictive entropy in nats"),
    "ensemble-disagreement": ("MC dropout, the model's dropout sampled several times: the highest mutual "
                              "information (entropy of the mean minus the mean entropy, high where the samples "
                              "disagree) first, ties broken by the fraction of samples that predict another digit",
                              "mutual information in nats"),
}


@dataclass(frozen=True)
class Item:
    index: int  # position in the dataset split
    label: int
    prediction: int
    confidence: float
    score: float
    top3: list[dict]  # [{"digit": d, "probability": p}, ...], most probable first
    disagreement: float | None = None  # ensemble-disagreement only

    def to_dict(self) -> dict:
        d = asdict(self)
        if d["disagreement"] is None:
            del d["disagreement"]
        return d


def _check(kind: str, top: int) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; choose one of: {', '.join(KINDS)}")
    if top < 1:
        raise ValueError(f"top must be at least 1, not {top}")


def rank(kind: str, probs: np.ndarray, labels: np.ndarray, member_probs: np.ndarray | None = None,
         top: int = 20) -> list[Item]:
    """The ``top`` examples of ``kind`` from probabilities (N, K) and labels (N,).

    ``member_probs`` (S, N, K), the probabilities of each dropout sample or ensemble member, is needed for
    ``ensemble-disagreement``; ``probs`` is then their mean. Equal scores keep dataset order.
    """
    _check(kind, top)
    probs = np.asarray(probs, np.float64)
    labels = np.asarray(labels)
    if probs.ndim != 2 or len(probs) != len(labels):
        raise ValueError(f"probs must be (N, K) with one label each, got {probs.shape} and {len(labels)} labels")
    predictions = probs.argmax(axis=1)
    confidence = max_probability(probs)
    candidates = np.arange(len(probs))
    disagreement = None
    if kind == "confident-wrong":
        candidates = candidates[predictions != labels]
        score = confidence
        keys = [-score]
    elif kind == "least-confident":
        score = confidence
        keys = [score]
    elif kind == "smallest-margin":
        score = margin(probs)
        keys = [score]
    elif kind == "highest-entropy":
        score = entropy(probs)
        keys = [-score]
    else:
        if member_probs is None:
            raise ValueError("ensemble-disagreement needs member_probs (S, N, K): dropout samples or ensemble members")
        member_probs = np.asarray(member_probs, np.float64)
        if member_probs.ndim != 3 or member_probs.shape[1:] != probs.shape:
            raise ValueError(f"member_probs must be (S, {len(probs)}, {probs.shape[1]}), got {member_probs.shape}")
        score = mutual_information(member_probs)
        disagreement = member_disagreement(member_probs)
        keys = [-score, -disagreement]
    # lexsort sorts by its last key first; the index last of all keeps equal scores in dataset order
    order = candidates[np.lexsort([candidates] + [k[candidates] for k in reversed(keys)])][:top]
    items = []
    for i in order:
        best = np.argsort(-probs[i], kind="stable")[:3]
        items.append(Item(index=int(i), label=int(labels[i]), prediction=int(predictions[i]),
                          confidence=float(confidence[i]), score=float(score[i]),
                          top3=[{"digit": int(d), "probability": float(probs[i, d])} for d in best],
                          disagreement=None if disagreement is None else float(disagreement[i])))
    return items


def _short(p: float) -> str:
    """0.62 -> '.62', as on the sheet, where width is scarce."""
    return f"{p:.2f}".removeprefix("0")


def _answer(c: int, short: bool = False) -> str:
    """A class as people read it: the digit, or for an 11-class model's class 10 "not a digit"."""
    return str(c) if c != NOT_A_DIGIT else "none" if short else "not a digit"


def _top3(item: Item) -> str:
    return " ".join(f"{_answer(t['digit'], short=True)}:{_short(t['probability'])}" for t in item.top3)


def caption(item: Item) -> str:
    return (f"#{item.index} true {item.label}\npred {_answer(item.prediction, short=True)}  {item.confidence:.1%}"
            f"\n{_top3(item)}")


def find_ambiguous(classifier: DigitClassifier, spec: str, kind: str, out: Path, top: int = 20,
                   mc_samples: int = 10) -> dict:
    """Rank the examples of dataset split ``spec`` ('mnist:test') by ``kind`` under a loaded ``classifier`` and
    write the ``top`` ones into ``out``; returns what was found and where it is."""
    _check(kind, top)
    model = classifier.source
    arrays = data.load(spec)
    if len(arrays) == 0:
        raise ValueError(f"{spec} has no images")
    command = ["digitscope", "ambiguous", "--model", str(model), "--data", spec, "--by", kind, "--top", str(top),
               "--out", str(out)]
    member_probs = None
    if kind == "ensemble-disagreement":
        member_probs = mc_dropout_proba(classifier, arrays.images, samples=mc_samples)
        probs = member_probs.mean(axis=0)
        command += ["--mc-samples", str(mc_samples)]
    else:
        probs = classifier.predict_proba(arrays.images)
    items = rank(kind, probs, arrays.labels, member_probs, top)
    errors = int((probs.argmax(axis=1) != arrays.labels).sum())

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for item in items:
        Image.fromarray(arrays.images[item.index]).save(out / f"{item.index}.png")
    sheet = None
    if items:
        sheet = contact_sheet(arrays.images[[item.index for item in items]], [caption(item) for item in items],
                              out / "sheet.png", title=f"{kind}: top {len(items)} of {spec}, model {model}")
    result = {
        "kind": kind, "model": str(model), "data": spec, "out": str(out), "n": len(arrays), "errors": errors,
        **({"mc_samples": mc_samples} if member_probs is not None else {}),
        "command": shlex.join(command), "report": str(out / "report.md"),
        "sheet": None if sheet is None else str(sheet),
        "items": [item.to_dict() for item in items],
    }
    (out / "report.md").write_text(_markdown(result, items, classifier.card, arrays.checksum))
    return result


def _markdown(result: dict, items: list[Item], card: ModelCard, checksum: str) -> str:
    kind = result["kind"]
    definition, score_meaning = KINDS[kind]
    lines = [
        f"# Ambiguous examples: {kind}",
        "",
        f"Made by `{result['command']}`.",
        "",
        f"- **Model:** `{result['model']}` ({card.arch or '?'}, code {card.code_version or '?'})",
        f"- **Data:** `{result['data']}`, {result['n']:,} images (sha256 {checksum[:16]}…); "
        f"the model answers {result['errors']:,} of them wrongly"
        + (" or \"not a digit\"" if card.num_classes > NOT_A_DIGIT else ""),
        f"- **Kind:** {kind}: {definition}. Score: {score_meaning}.",
    ]
    if "mc_samples" in result:
        lines.append(f"- Predicted digit and confidence are the mean of {result['mc_samples']} dropout samples; "
                     "the disagreement column is the fraction of samples that predict another digit.")
    lines.append("")
    if not items:
        lines.append("No example of this kind: the model gets every image right.")
        return "\n".join(lines) + "\n"
    lines += [
        f"The top {len(items)}, as the model saw them (index = position in `{result['data']}`):",
        "",
        "![contact sheet](sheet.png)",
        "",
    ]
    disagreement = "mc_samples" in result
    lines.append("| rank | index | true | predicted | confidence | score | "
                 + ("disagreement | " if disagreement else "") + "top-3 | image |")
    lines.append("|---:|---:|---:|---:|---:|---:|" + ("---:|" if disagreement else "") + "---|---|")
    for rank_, item in enumerate(items, 1):
        lines.append(f"| {rank_} | {item.index} | {item.label} | {_answer(item.prediction)} | {item.confidence:.1%} | "
                     f"{item.score:.4f} | " + (f"{item.disagreement:.2f} | " if disagreement else "")
                     + f"{_top3(item)} | [{item.index}.png]({item.index}.png) |")
    return "\n".join(lines) + "\n"
