"""The one way every figure here is set up and written: matplotlib on files only, a figure freed once saved."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType


def pyplot() -> ModuleType:
    """matplotlib's pyplot, set up the one way every figure here is drawn: to files only (Agg: no display on
    servers). Imported when a figure is made, not with the module: most commands draw none."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save(fig, path: Path, **options) -> Path:
    """Write `fig` to `path` (``options`` go to ``savefig``) and free it: pyplot keeps every open figure."""
    fig.savefig(path, **options)
    pyplot().close(fig)
    return Path(path)
