"""Synthetic digit strings: seeded, reproducible, and every box tight around its digit's ink."""

from pathlib import Path

import numpy as np
import pytest

from digitscope.data import synthetic

# The first four digits of each class in mnist:test (indices in `index`), so the tests need no download.
SAMPLE = Path(__file__).parent / "data" / "mnist-test-sample.npz"


@pytest.fixture(scope="module")
def digits():
    with np.load(SAMPLE) as f:
        return f["images"], f["labels"]


def assert_boxes_tight(ink: np.ndarray, boxes: np.ndarray) -> None:
    """Every inked pixel lies in a box, and every box touches ink on all four sides."""
    covered = np.zeros_like(ink)
    for x0, y0, x1, y1 in boxes:
        assert 0 <= x0 < x1 <= ink.shape[1] and 0 <= y0 < y1 <= ink.shape[0]
        region = ink[y0:y1, x0:x1]
        assert region[0].any() and region[-1].any() and region[:, 0].any() and region[:, -1].any()
        covered[y0:y1, x0:x1] = True
    assert not (ink & ~covered).any()


def test_mnist_sequences_place_digits_in_slots_with_blanks(digits):
    images, labels = digits
    seqs = synthetic.mnist_sequences(images, labels, 50, seed=3)
    assert seqs.images.shape == (50, 28, 140) and seqs.images.dtype == np.uint8
    for image, text, boxes in zip(seqs.images, seqs.texts, seqs.boxes, strict=True):
        assert 1 <= len(text) <= 5 and len(boxes) == len(text)
        assert not image[:, 28 * len(text):].any()  # the slots after the last digit are blank
        assert_boxes_tight(image > 0, boxes)
        assert all(28 * k <= box[0] and box[2] <= 28 * (k + 1) for k, box in enumerate(boxes))
        for k, char in enumerate(text):  # each slot holds a source digit of the label the text says
            slot = image[:, 28 * k:28 * (k + 1)]
            match = np.flatnonzero((images == slot).all(axis=(1, 2)))
            assert int(char) in labels[match]
    for image, text, sources in zip(seqs.images, seqs.texts, seqs.sources, strict=True):  # ... and says which
        assert "".join(str(d) for d in labels[sources]) == text
        assert all((image[:, 28 * k:28 * (k + 1)] == images[i]).all() for k, i in enumerate(sources))


def test_every_string_names_the_source_digits_it_was_drawn_from(digits):
    images, labels = digits
    for strings in synthetic.reading_sets(images, labels, 20, seed=2).values():
        assert ["".join(str(d) for d in labels[s]) for s in strings.sources] == strings.texts


def test_freeform_strings_boxes_match_the_ink(digits):
    images, labels = digits
    strings = synthetic.freeform_strings(images, labels, 40, seed=5)
    lengths = [len(t) for t in strings.texts]
    assert min(lengths) >= 1 and max(lengths) <= 10 and len(set(lengths)) > 3
    for image, text, boxes in zip(strings.images, strings.texts, strings.boxes, strict=True):
        assert image.dtype == np.uint8 and image.ndim == 2 and len(boxes) == len(text)
        assert (boxes[1:, 0] >= boxes[:-1, 0]).all()  # left to right
        assert_boxes_tight(image < 255, boxes)  # dark ink on white paper


def test_freeform_spacing_includes_touching_and_overlapping_neighbours(digits):
    images, labels = digits
    strings = synthetic.freeform_strings(images, labels, 200, seed=1, min_len=2)
    gaps = np.concatenate([b[1:, 0] - b[:-1, 2] for b in strings.boxes])  # paper between neighbouring boxes
    assert (gaps < -2).mean() > 0.05 and ((gaps >= -2) & (gaps <= 0)).mean() > 0.08 and (gaps > 0).mean() > 0.5


def test_house_number_scenes_are_colour_with_boxes_in_frame(digits):
    images, labels = digits
    scenes = synthetic.house_number_scenes(images, labels, 30, seed=2)
    for image, text, boxes in zip(scenes.images, scenes.texts, scenes.boxes, strict=True):
        assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
        assert 1 <= len(text) <= 5 and len(boxes) == len(text)
        assert (boxes[:, :2] >= 0).all() and (boxes[:, 2] <= image.shape[1]).all()
        assert (boxes[:, 3] <= image.shape[0]).all()
    # Colours differ from scene to scene: no fixed palette.
    assert len({tuple(image[0, 0]) for image in scenes.images}) > 20


def test_generators_are_reproducible_and_read_only_the_digits_given(digits):
    images, labels = digits
    for make in (synthetic.mnist_sequences, synthetic.freeform_strings, synthetic.house_number_scenes):
        a, b = make(images, labels, 5, seed=9), make(images, labels, 5, seed=9)
        assert a.texts == b.texts and all(np.array_equal(x, y) for x, y in zip(a.images, b.images, strict=True))
        assert make(images, labels, 5, seed=10).texts != a.texts
    only_sevens = synthetic.freeform_strings(images[labels == 7], labels[labels == 7], 10, seed=0)
    assert set("".join(only_sevens.texts)) == {"7"}


def test_bad_lengths_and_sources_are_refused(digits):
    images, labels = digits
    with pytest.raises(ValueError, match="min_len"):
        synthetic.mnist_sequences(images, labels, 5, min_len=1, max_len=6)
    with pytest.raises(ValueError, match="digit source"):
        synthetic.freeform_strings(images[:0], labels[:0], 5)
