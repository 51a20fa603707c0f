"""Figures a person reads: the confusion matrix and the histogram of error magnitudes, as PNG."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..figures import pyplot, save


def plot_confusion(cm: np.ndarray, path: Path, title: str = "Confusion matrix") -> Path:
    cm = np.asarray(cm)
    k = len(cm)
    fig, ax = pyplot().subplots(figsize=(7, 6), dpi=110)
    off_diagonal = cm.copy()
    np.fill_diagonal(off_diagonal, 0)
    # Colour the mistakes only: the diagonal would swamp the scale.
    im = ax.imshow(off_diagonal, cmap="Reds")
    for i in range(k):
        for j in range(k):
            ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=8,
                    color="black" if i != j else "#1f4e8c", fontweight="bold" if i == j else "normal")
    ax.set(xticks=range(k), yticks=range(k), xlabel="predicted", ylabel="true", title=title)
    fig.colorbar(im, ax=ax, label="errors")
    fig.tight_layout()
    return save(fig, path)


def plot_error_histogram(histogram: dict[str, int], path: Path,
                         title: str = "Error magnitude |true - predicted|") -> Path:
    fig, ax = pyplot().subplots(figsize=(6, 3.5), dpi=110)
    magnitudes = list(range(1, 10))
    counts = [histogram.get(str(m), 0) for m in magnitudes]
    ax.bar(magnitudes, counts, color="#c0392b")
    ax.set(xticks=magnitudes, xlabel="|true - predicted|", ylabel="misidentified images", title=title)
    fig.tight_layout()
    return save(fig, path)


def plot_error_magnitudes(rows: list[dict], path: Path, title: str) -> Path:
    """The numerical-loss paper's (Suzuki et al. 2021) Figures 5 and 6 for each model: how many mistakes (mean
    per trial) and what share of them lie 1, 2, ... 9 away from the truth, one bar per loss. ``rows``:
    ``analysis.experiments.summarize`` rows."""
    models = list(dict.fromkeys(r["model"] for r in rows))
    methods = list(dict.fromkeys(r["method"] for r in rows))
    fig, axes = pyplot().subplots(len(models), 2, figsize=(10, 3 * len(models)), dpi=110, squeeze=False)
    width = 0.8 / len(methods)
    for axes_row, model in zip(axes, models, strict=True):
        for k, method in enumerate(methods):
            row = next(r for r in rows if r["model"] == model and r["method"] == method)
            magnitudes = np.arange(1, len(row["magnitude_rate"]))
            for ax, key, scale in ((axes_row[0], "magnitude_count_per_trial", 1), (axes_row[1], "magnitude_rate", 100)):
                ax.bar(magnitudes + (k - (len(methods) - 1) / 2) * width, np.asarray(row[key][1:]) * scale, width,
                       label=method)
        axes_row[0].set(ylabel=f"{model}\nmistakes per trial", xticks=magnitudes)
        axes_row[1].set(ylabel="% of the mistakes", xticks=magnitudes)
        axes_row[0].legend()
    for ax in axes[-1]:
        ax.set_xlabel("|true - predicted|")
    fig.suptitle(title)
    fig.tight_layout()
    return save(fig, path)
