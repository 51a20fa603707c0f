"""Training and test sets for the sequence model (``reading.sequence``), built from MNIST and cached like any
dataset: ``mnist-sequences`` (the multi-digit capstone report's 28 x 140 sequences of 1-5 digits) and
``house-scenes`` (house-number-like colour scenes of 1-5 digits, through the Reader's ink map (rules painted over),
fitted into 48 x 144).

Each split is drawn from the MNIST split of the same name only (test strings from mnist:test digits), with a
seed of its own. Labels are the sequence model's target rows (N, 26), not one class per image.
"""

from __future__ import annotations

import numpy as np

from ..data.cache import Arrays

SPLITS = ("train", "val", "test")
COUNTS = {"train": 30_000, "val": 2_000, "test": 5_000}
SEEDS = {"train": 0, "val": 1, "test": 2}
SIZES = {"mnist-sequences": (28, 140), "house-scenes": (48, 144)}


def _digits(split: str):
    from ..data.catalog import load

    return load(f"mnist:{split}")


def mnist_sequences_split(split: str) -> Arrays:
    from ..data import synthetic
    from . import sequence_model as sequence

    digits = _digits(split)
    strings = synthetic.mnist_sequences(digits.images, digits.labels, COUNTS[split], SEEDS[split])
    return Arrays(strings.images, sequence.targets(strings.texts, strings.boxes, SIZES["mnist-sequences"]))


def house_scenes_split(split: str) -> Arrays:
    from ..data import synthetic
    from ..preprocess import ink_map, letterbox
    from . import sequence_model as sequence
    from .scene import clean_scene

    digits, size = _digits(split), SIZES["house-scenes"]
    scenes = synthetic.house_number_scenes(digits.images, digits.labels, COUNTS[split], SEEDS[split])
    images, boxes = zip(*(letterbox(ink_map(clean_scene(scene)), box, size)
                          for scene, box in zip(scenes.images, scenes.boxes, strict=True)), strict=True)
    return Arrays(np.stack(images), sequence.targets(scenes.texts, list(boxes), size))

