"""Shared fixtures: an isolated data cache and a tiny synthetic digit dataset registered like a real one."""

from __future__ import annotations

import numpy as np
import pytest

from digitscope import data


def synthetic_digits(n: int, seed: int) -> data.Arrays:
    """Ten easily separable 28x28 patterns (a bar whose position encodes the class) with pixel noise."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n)
    images = rng.integers(0, 40, (n, 28, 28)).astype(np.uint8)
    for c in range(10):
        rows = 4 + 2 * c
        images[labels == c, rows:rows + 3, 6:22] = 230
    return data.Arrays(images, labels.astype(np.int64))


@pytest.fixture
def make_digits():
    return synthetic_digits


@pytest.fixture
def data_home(tmp_path, monkeypatch):
    monkeypatch.setenv("DIGITSCOPE_DATA", str(tmp_path / "data"))
    return tmp_path / "data"


@pytest.fixture
def tiny_dataset(data_home):
    """Registers dataset 'tiny' (train 640 / val 200 / test 200) in an isolated cache."""
    info = data.register(data.DatasetInfo(
        name="tiny", description="synthetic bars for tests", splits=("train", "val", "test"),
        fetch=lambda: {"train": synthetic_digits(640, 1), "val": synthetic_digits(200, 2),
                       "test": synthetic_digits(200, 3)},
    ))
    return info


@pytest.fixture
def ten_class_model(tmp_path):
    """The bundled default's digit reader on its own, saved as a 10-class model: stem tmp_path / "reader".
    (The default itself says "not a digit" to the bars of the tiny dataset, as it should.)"""
    from digitscope.models.persist import load_model, save_model
    from digitscope.store.bundled import resolve_model_path

    gate, card = load_model(resolve_model_path("default"))
    save_model(tmp_path / "reader", gate.reader, dict(card.arch_kwargs["reader"]))
    return tmp_path / "reader"
