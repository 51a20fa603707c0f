"""Training and choosing sets for the line reader (``models.linenet``), cached like any dataset: ``amount-lines``.

Every line goes through the Reader's own page ink (``scene.page_ink``: rules painted over, lighting levelled,
paper texture dropped) and is letterboxed into the line reader's size (``preprocess.ink_to_line``), exactly as the
Reader hands it a line to read. Splits:

- ``strings``: 60,000 written amounts (``synthetic.amount_strings``: 1-8 digits with separators, underlines and
  dashes) of digits by writers of the training sides only: all of ``cvl:train`` and twice as many of
  ``mnist-writers:train``, so that a third of the digits are European.
- ``strings-val``: 2,000 such amounts of ``cvl:valid`` and ``mnist-writers:val`` digits, writers no training
  split has.
- ``fit`` and ``choose``: ORAND-CAR-A train amounts, split by amount as ``orand-candidates`` splits them
  (``orand_candidates.side``); the held-out test side is never read here.

``train`` is ``strings`` + ``fit`` (``--part-weights`` says how often the few real amounts are drawn); ``val`` is
``choose`` + ``strings-val``. Labels are the line reader's target rows (N, 1 + MAX_DIGITS).
"""

from __future__ import annotations

import numpy as np

from ..data.cache import Arrays

STRINGS = {"strings": ("cvl:train", "mnist-writers:train", 60_000, 0),
           "strings-val": ("cvl:valid", "mnist-writers:val", 2_000, 1)}
ORAND_SIDES = ("fit", "choose")
SPLITS = (*STRINGS, *ORAND_SIDES)
PARTS = {"train": ("amount-lines:strings", "amount-lines:fit"),
         "val": ("amount-lines:choose", "amount-lines:strings-val")}


def _lines(pages: list[np.ndarray], texts: list[str]) -> Arrays:
    from ..preprocess import ink_to_line
    from .line_model import line_targets
    from .scene import page_ink
    from .segment import SegmentConfig

    work_pixels = SegmentConfig().work_pixels
    return Arrays(np.stack([ink_to_line(page_ink(page, work_pixels)[0]) for page in pages]), line_targets(texts))


def digits_of_writers(european: str, american: str):
    """All the digits of the European split and twice as many of the American one (MNIST writers), with labels."""
    from ..data.catalog import load

    cvl, mnist = load(european), load(american)
    take = min(len(mnist), 2 * len(cvl))
    return np.concatenate([cvl.images, mnist.images[:take]]), np.concatenate([cvl.labels, mnist.labels[:take]])


def orand_amounts(side_name: str):
    """The ORAND-CAR-A train amounts of one side (``fit`` or ``choose``)."""
    from ..data import orand
    from .orand_candidates import side

    amounts = orand.load(split="train")
    return amounts.subset([name for name in amounts.names if side(name) == side_name])


def lines_split(split: str) -> Arrays:
    if split in STRINGS:
        from ..data import synthetic

        european, american, n, seed = STRINGS[split]
        strings = synthetic.amount_strings(*digits_of_writers(european, american), n, seed)
        return _lines(strings.images, strings.texts)
    if split in ORAND_SIDES:
        amounts = orand_amounts(split)
        return _lines(amounts.images, amounts.texts)
    raise ValueError(f"amount-lines makes no split {split!r}; it makes {', '.join(SPLITS)}, and train and val of "
                     "them")

