"""The numerical-loss paper (Suzuki et al. 2021) reproduced: cross-entropy against the numerical loss, on the
paper's models and recipe.

    digitscope experiment numerical-loss --models mlp,cnn,rnn --trials 3 --data mnist --out runs/paper

For each model and trial (seed), a baseline (cross-entropy) and the proposed loss (alpha 0.05, beta 0.9) are
trained with the ``paper`` preset into ``OUT/runs/MODEL-METHOD-sSEED`` (finished runs are reused, interrupted
ones resumed), each read once on every test split of the data. Out come the paper's Table (identification
error %, numeric error per image, per misidentified image: mean ± std over trials) as ``OUT/table.md``, its
Figures 5/6 (count and rate of each error magnitude |true - predicted| among the mistakes) as
``OUT/error-magnitudes-<split>.png``, and every figure as ``OUT/results.json``.
"""

from __future__ import annotations

import inspect
import statistics
from pathlib import Path

import numpy as np

from .. import data as datasets
from ..inference.classifier import load
from ..io import write_json
from ..models import list_models
from ..training.config import PRESETS, TrainConfig
from ..training.loop import train_or_reuse
from .metrics import classification_report

METHODS = {  # name -> (label in the table, training options)
    "baseline": ("cross-entropy", {"loss": "ce"}),
    "proposed": ("numerical loss (α 0.05, β 0.9)", {"loss": "numerical", "alpha": 0.05, "beta": 0.9}),
}
METRICS = (  # key in a run's figures, column title, decimals (the paper's)
    ("error_percent", "identification error (%)", 2),
    ("numeric_error_per_image", "numeric error per image", 3),
    ("numeric_error_per_misidentified", "numeric error per misidentified image", 2),
)


def experiment_splits(name: str) -> tuple[dict, list[str]]:
    """(training options that say where to validate, the test splits) of dataset ``name``. Validation is its
    own val split, or else the last twelfth of its training split (MNIST's share: 5,000 of Kannada-MNIST's
    60,000); every split that is neither for training nor validating is a test. Unavailable data stops here."""
    info = datasets.get_dataset(name)
    if not info.trainable or "train" not in info.splits:
        raise ValueError(f"{name} has no training split: choose a dataset to train on, e.g. mnist or kannada")
    train_size = len(datasets.load(f"{name}:train"))
    validation = {"val_split": "val"} if "val" in info.splits else {"val_holdout": max(1, train_size // 12)}
    return validation, [s for s in info.splits if s not in ("train", "val", "train-full")]


def numerical_loss_experiment(models: list[str], trials: int, data: str, out: Path, epochs: int | None = None,
                              progress: bool = False, command: str = "") -> dict:
    """Train and test every (model, method, trial); write the table, figures and results into ``out``."""
    # Composite architectures (ensemble, specialists) are built from trained models, not trained themselves.
    known = {m.name for m in list_models() if m.reads == "digit"
             and all(p.default is not p.empty for p in inspect.signature(m.builder).parameters.values())}
    unknown = [m for m in models if m not in known]
    if unknown or not models:
        raise ValueError(f"unknown model {', '.join(unknown) or '(none given)'}; "
                         f"choose from: {', '.join(sorted(known))}")
    if trials < 1:
        raise ValueError(f"--trials must be at least 1, not {trials}")
    validation, tests = experiment_splits(data)  # before any training: unavailable data stops here
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    runs = []
    for model in models:
        for method, (_, options) in METHODS.items():
            for trial in range(trials):
                cfg = TrainConfig(**{**PRESETS["paper"], **validation, **options, "arch": model, "data": data,
                                     "seed": trial, **({"epochs": epochs} if epochs else {})})
                run = out / "runs" / f"{model}-{method}-s{trial}"
                train_or_reuse(cfg, run, progress, command=f"{command}  ({model}, {method}, trial {trial})")
                clf = load(run)
                for split in tests:
                    arrays = datasets.load(f"{data}:{split}")
                    probs = clf.predict_proba(arrays.images)
                    runs.append({"model": model, "method": method, "trial": trial, "split": split,
                                 **run_figures(classification_report(arrays.labels, probs, y_pred=clf.decide(probs)))})
    results = {"data": data, "models": models, "trials": trials, "epochs": epochs or PRESETS["paper"]["epochs"],
               "tests": tests, "runs": runs, "summary": summarize(runs)}
    results["table"] = markdown_table(results["summary"], data, trials, results["epochs"])
    from .plots import plot_error_magnitudes

    results["figures"] = {split: str(plot_error_magnitudes(
        [s for s in results["summary"] if s["split"] == split], out / f"error-magnitudes-{split}.png",
        f"Error magnitudes among mistakes, {data}:{split} ({trials} trials)")) for split in tests}
    (out / "table.md").write_text(results["table"])
    write_json(out / "results.json", results)
    return results


def run_figures(report: dict) -> dict:
    """One run's figures from its classification report; ``error_magnitude_counts[m]``: the mistakes with
    |true - predicted| = m, for m = 0..K-1 (0 never counts: a mistake is at least 1 away)."""
    counts = [0] * len(report["per_class"])
    for magnitude, count in report["error_magnitude_histogram"].items():
        counts[int(float(magnitude))] += count
    return {"error_percent": 100 * report["error_rate"], "errors": report["errors"], "n": report["n"],
            "numeric_error_per_image": report["numeric_error_per_image"],
            "numeric_error_per_misidentified": report["numeric_error_per_misidentified"],
            "error_magnitude_counts": counts}


def summarize(runs: list[dict]) -> list[dict]:
    """Mean and std over trials per (split, model, method); error magnitudes as the mean count per trial
    and as the share of all the mistakes."""
    groups: dict[tuple, list[dict]] = {}
    for r in runs:
        groups.setdefault((r["split"], r["model"], r["method"]), []).append(r)
    rows = []
    for (split, model, method), group in groups.items():
        counts = np.array([r["error_magnitude_counts"] for r in group])  # (trials, 10)
        total = counts.sum()
        rows.append({
            "split": split, "model": model, "method": method, "trials": len(group),
            **{key: {"mean": statistics.mean(r[key] for r in group),
                     "std": statistics.stdev(r[key] for r in group) if len(group) > 1 else 0.0}
               for key, _, _ in METRICS},
            "magnitude_count_per_trial": (counts.mean(0)).tolist(),
            "magnitude_rate": (counts.sum(0) / total if total else np.zeros(counts.shape[1])).tolist(),
        })
    return rows


def markdown_table(summary: list[dict], data: str, trials: int, epochs: int) -> str:
    """The paper's table: per test split, a baseline and a proposed row per model (mean ± std over trials), and
    the relative change of the means."""
    parts = []
    for split in dict.fromkeys(s["split"] for s in summary):
        lines = [f"### {data}:{split} — mean ± std over {trials} trial{'s' if trials > 1 else ''}, {epochs} epochs",
                 "", "| model | loss | " + " | ".join(title for _, title, _ in METRICS) + " |",
                 "|---|---|" + "---|" * len(METRICS)]
        rows = {(s["model"], s["method"]): s for s in summary if s["split"] == split}
        for model in dict.fromkeys(m for m, _ in rows):
            for method, (label, _) in METHODS.items():
                if (model, method) in rows:
                    s = rows[model, method]
                    cells = [f"{s[key]['mean']:.{d}f} ± {s[key]['std']:.{d}f}" for key, _, d in METRICS]
                    lines.append(f"| {model} | {label} | " + " | ".join(cells) + " |")
            if all((model, m) in rows for m in METHODS):
                base, new = rows[model, "baseline"], rows[model, "proposed"]
                lines.append(f"| {model} | change | " + " | ".join(
                    _relative_change(base[key]["mean"], new[key]["mean"]) for key, _, _ in METRICS) + " |")
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"


def _relative_change(before: float, after: float) -> str:
    return f"{100 * (after - before) / before:+.1f}%" if before else "n/a"
