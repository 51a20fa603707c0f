"""mnist-candidates and cvl-candidates: the Reader's own candidates, each the digit it is or 'not a digit'."""

from pathlib import Path

import numpy as np
import pytest

import digitscope.reading.datasets  # noqa: F401  (registers the datasets the Reader makes)
from digitscope.data import synthetic
from digitscope.data.cache import Arrays
from digitscope.labels import NOT_A_DIGIT
from digitscope.reading import candidates as made_from
from digitscope.reading import cvl_candidates
from digitscope.reading.candidates import label_candidates, string_candidates
from digitscope.reading.reader import candidates
from digitscope.training.config import make_config
from digitscope.training.splits import training_data

SAMPLE = Path(__file__).parent / "data" / "mnist-test-sample.npz"


def test_a_candidate_is_the_digit_it_covers_or_none():
    digits = np.array([[10, 10, 30, 40], [32, 10, 52, 40]])
    spans = np.array([
        [10, 10, 30, 40],  # the first digit exactly
        [33, 11, 52, 40],  # the second, a pixel off
        [10, 10, 52, 40],  # both merged: IoU under 0.5 with either
        [10, 10, 18, 40],  # a third of the first: a fragment
        [10, 10, 24, 40],  # most of the first, IoU 0.7: neither, left out
        [0, 0, 30, 40],  # the first with something beside it (an edge of the scene): left out too
    ])
    assert label_candidates(spans, digits).tolist() == [0, 1, -2, -2, -1, -1]
    # A 4 and the narrow 1 touching it: the merged span still has IoU 0.77 with the 4, but it is no digit.
    four_one = np.array([[10, 10, 30, 40], [30, 10, 36, 40]])
    assert label_candidates(np.array([[10, 10, 36, 40], [10, 10, 30, 40]]), four_one).tolist() == [-2, 0]


def test_strings_give_their_digits_and_their_mis_cuts():
    with np.load(SAMPLE) as f:
        images, labels = f["images"], f["labels"]
    strings = synthetic.freeform_strings(images, labels, 6, seed=3, min_len=3, max_len=6)
    made = string_candidates(strings.images, strings.texts, strings.boxes)
    assert made.images.shape[1:] == (28, 28) and made.images.dtype == np.uint8
    assert set(made.labels.tolist()) <= set(range(NOT_A_DIGIT + 1))
    assert (made.labels == NOT_A_DIGIT).any()  # halves, merged neighbours, specks
    # Every digit of every string is among the candidates, as the digit it is: the Reader's own cut of each.
    whole = made.labels[made.labels < NOT_A_DIGIT]
    expected = np.bincount([int(c) for text in strings.texts for c in text], minlength=10)
    assert (np.bincount(whole, minlength=10) >= expected).all()
    # The crops are exactly what the Reader hands its classifier.
    cut = candidates(np.asarray(strings.images[0]))[2]  # (E, 28, 28), the first string's candidates
    assert any((c == made.images[0]).all() for c in cut)


@pytest.fixture
def sample_as_any_split(monkeypatch: pytest.MonkeyPatch) -> tuple[Arrays, list[str]]:
    """The sample digits, given for whichever split is loaded, and the list of the splits asked for; few strings."""
    with np.load(SAMPLE) as f:
        digits = Arrays(f["images"], f["labels"])
    asked: list[str] = []
    monkeypatch.setattr("digitscope.data.catalog.load", lambda spec: asked.append(spec) or digits)
    for split in ("train", "val"):
        monkeypatch.setitem(made_from.STRINGS, split, {"a": 2, "b": 3, "c": 2})
    return digits, asked


def test_cvl_candidates_are_the_writers_digits_and_the_cuts_of_strings_of_them(sample_as_any_split) -> None:
    digits, asked = sample_as_any_split
    made = cvl_candidates.cvl_candidates_split("val")
    assert asked == ["cvl:valid"]  # the validation writers' own digits, never the training writers'
    n = len(digits.labels)
    assert (made.images[:n] == digits.images).all() and (made.labels[:n] == digits.labels).all()
    assert len(made.labels) > n and (made.labels == NOT_A_DIGIT).any()  # the cuts, mis-cuts among them
    # CVL's rule: its validation writers choose and tune, and are never learnt, alone or inside the reading set.
    for name in ("cvl-candidates", "reading-candidates"):
        with pytest.raises(ValueError, match="choosing and tuning only"):
            training_data(make_config("fast", data=name, train_split="val", val_split="train"))


def test_writer_disjoint_candidates_are_cut_from_the_writer_disjoint_split(sample_as_any_split) -> None:
    """mnist-writers-candidates:train learns no digit of mnist-writers:val, whose writers choose for it."""
    digits, asked = sample_as_any_split
    made = made_from.writers_candidates_split("train")
    assert asked == ["mnist-writers:train"]
    n = len(digits.labels)
    assert (made.labels[:n] == digits.labels).all() and len(made.labels) > n
