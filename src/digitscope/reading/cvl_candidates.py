"""``cvl-candidates``: CVL's digits, and the Reader's candidates cut from synthetic strings of them, labelled as
``mnist-candidates`` labels its own (``candidates``): European writers' digits as the Reader cuts them out of a
number. ``train`` from ``cvl:train``, ``val`` from ``cvl:valid`` (for choosing only, as CVL's rule says)."""

from __future__ import annotations

import numpy as np

from ..data.cache import Arrays

SPLITS = ("train", "val")
SOURCE = {"train": "cvl:train", "val": "cvl:valid"}
SEEDS = {"train": 400, "val": 500}  # apart from mnist-candidates' 100-300


def cvl_candidates_split(split: str) -> Arrays:
    from ..data import synthetic
    from ..data.catalog import load
    from .candidates import STRINGS, string_candidates

    digits = load(SOURCE[split])
    layouts = {"a": synthetic.mnist_sequences, "b": synthetic.freeform_strings, "c": synthetic.house_number_scenes}
    parts = [digits]
    for k, (layout, make) in enumerate(layouts.items()):
        strings = make(digits.images, digits.labels, STRINGS[split][layout], SEEDS[split] + k)
        parts.append(string_candidates(strings.images, strings.texts, strings.boxes))
    return Arrays(np.concatenate([p.images for p in parts]), np.concatenate([p.labels for p in parts]))


def fetch() -> dict[str, Arrays]:
    return {split: cvl_candidates_split(split) for split in SPLITS}
