"""``cvl-candidates``: CVL's digits, and the Reader's candidates cut from synthetic strings of them, labelled as
``mnist-candidates`` labels its own (``candidates``): European writers' digits as the Reader cuts them out of a
number. ``train`` from ``cvl:train``, ``val`` from ``cvl:valid`` (for choosing only, as CVL's rule says)."""

from __future__ import annotations

from ..data.cache import Arrays

SPLITS = ("train", "val")
SOURCE = {"train": "cvl:train", "val": "cvl:valid"}
SEEDS = {"train": 400, "val": 500}  # apart from mnist-candidates' 100-300


def cvl_candidates_split(split: str) -> Arrays:
    from ..data.catalog import load
    from .candidates import STRINGS, digits_and_their_cuts

    return digits_and_their_cuts(load(SOURCE[split]), STRINGS[split], SEEDS[split])

