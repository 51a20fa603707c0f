"""Contact sheets: a grid of digits with a caption under each, as a PNG a person reads at 100% zoom.

Digits are drawn at 3x (84 px) with nearest-neighbour pixels, captions at 9 pt or more.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..figures import pyplot, save

CELL_INCHES = 1.25  # at 100 dpi: an 84 px digit plus room for three caption lines


def contact_sheet(images: np.ndarray, captions: Sequence[str], path: Path, title: str = "",
                  columns: int = 10) -> Path:
    """images: uint8 (N, 28, 28) white ink on black (drawn black on white, as on paper); one caption each."""
    images = np.asarray(images)
    if len(images) != len(captions):
        raise ValueError(f"{len(images)} images but {len(captions)} captions")
    n = max(len(images), 1)
    columns = min(columns, n)
    rows = -(-n // columns)
    lines = max((c.count("\n") + 1 for c in captions), default=1)
    cell_h = CELL_INCHES * 0.85 + 0.17 * lines
    fig, axes = pyplot().subplots(rows, columns, figsize=(columns * CELL_INCHES, rows * cell_h + (0.4 if title else 0)),
                             dpi=100, squeeze=False, layout="constrained")  # makes room for captions and title
    for ax in axes.flat:
        ax.axis("off")
    for ax, image, caption in zip(axes.flat, images, captions, strict=False):
        ax.axis("on")  # on, so that the caption (an x label) counts in the layout; ticks and frame hidden
        ax.set(xticks=[], yticks=[])
        for spine in ax.spines.values():
            spine.set_visible(False)
        ax.imshow(255 - image, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
        ax.set_xlabel(caption, fontsize=9, linespacing=1.1)
    if title:
        fig.suptitle(title, fontsize=11)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return save(fig, path, bbox_inches="tight", pad_inches=0.1)  # nothing clipped, whatever the caption length
