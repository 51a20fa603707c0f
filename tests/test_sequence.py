"""The multi-digit capstone report's sequence model: its targets, its loss and decoding, its datasets, and training
it in the one loop."""

from pathlib import Path

import numpy as np
import pytest
import torch

import digitscope
from digitscope import data
from digitscope.boxes import box_iou
from digitscope.models import create_model
from digitscope.models.seqnet import BLANK, DIGIT_CLASSES, LENGTHS, OUTPUTS, SLOTS
from digitscope.reading import sequence_model as sequence
from digitscope.reading import sequence_sets as sequences
from digitscope.training.loop import TrainConfig, train

SAMPLE = Path(__file__).parent / "data" / "mnist-test-sample.npz"


@pytest.fixture
def small_sequence_sets(data_home, monkeypatch):
    """The sequence datasets built from 40 real MNIST test digits, a few dozen strings a split."""
    with np.load(SAMPLE) as f:
        digits = data.Arrays(f["images"], f["labels"].astype(np.int64))
    monkeypatch.setattr(sequences, "_digits", lambda split: digits)
    monkeypatch.setattr(sequences, "COUNTS", {"train": 256, "val": 64, "test": 32})


def perfect_outputs(y: torch.Tensor) -> torch.Tensor:
    """The outputs a model sure of the targets ``y`` would give."""
    lengths, classes, boxes = sequence.split_targets(y)
    out = torch.full((len(y), OUTPUTS), -20.0)
    out[torch.arange(len(y)), lengths] = 20.0
    digit_logits = out[:, LENGTHS:LENGTHS + SLOTS * DIGIT_CLASSES].view(len(y), SLOTS, DIGIT_CLASSES)
    digit_logits.scatter_(2, classes[..., None], 20.0)
    out[:, LENGTHS + SLOTS * DIGIT_CLASSES:] = torch.logit(boxes.clamp(1e-4, 1 - 1e-4)).flatten(1)
    return out


def test_targets_hold_the_length_the_digits_blanks_and_boxes_and_decode_back():
    boxes = [np.array([[0, 2, 20, 26], [30, 1, 50, 27]]), np.array([[10, 0, 28, 28]])]
    y = sequence.targets(["42", "7"], boxes, (28, 140))
    assert y.shape == (2, sequence.TARGETS) and y.dtype == np.int64
    assert y[0, :1 + SLOTS].tolist() == [2, 4, 2, BLANK, BLANK, BLANK]
    assert y[1, 1 + SLOTS:1 + SLOTS + 4].tolist() == [round(10 / 140 * 1000), 0, 200, 1000]
    decoded = sequence.decode(perfect_outputs(torch.from_numpy(y)))
    assert decoded.texts() == ["42", "7"] and decoded.lengths.tolist() == [2, 1]
    np.testing.assert_allclose(decoded.boxes[0, :2] * [140, 28, 140, 28], boxes[0], atol=0.1)
    with pytest.raises(ValueError, match="reads 1-5 digits, not 6"):
        sequence.targets(["123456"], [np.zeros((6, 4))], (28, 140))


def test_a_number_is_read_right_only_when_its_length_and_every_digit_are():
    y = torch.from_numpy(sequence.targets(["123", "45"], [np.ones((3, 4)), np.ones((2, 4))], (28, 140)))
    right = perfect_outputs(y)
    assert sequence.sequence_correct(right, y).tolist() == [True, True]
    wrong_digit, wrong_length = right.clone(), right.clone()
    wrong_digit[0, LENGTHS + DIGIT_CLASSES + 7] = 30.0  # the second slot of "123" reads 7, not 2
    wrong_length[1, 3] = 30.0  # three digits instead of two
    assert sequence.sequence_correct(wrong_digit, y).tolist() == [False, True]
    assert sequence.sequence_correct(wrong_length, y).tolist() == [True, False]
    assert sequence.sequence_loss(right, y) < sequence.sequence_loss(wrong_digit, y)


def test_box_iou_on_hand_made_boxes():
    a = np.array([[0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 10, 10]], float)
    b = np.array([[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30]], float)
    np.testing.assert_allclose(box_iou(a, b), [1.0, 50 / 150, 0.0])


def test_the_sequence_datasets_hold_images_of_one_size_with_boxes_on_the_ink(small_sequence_sets):
    for name, (h, w) in sequences.SIZES.items():
        test = data.load(f"{name}:test")
        assert test.images.shape == (32, h, w) and test.labels.shape == (32, sequence.TARGETS)
        assert data.load(f"{name}:test").checksum == test.checksum  # cached, reproducible
        for image, row in zip(test.images, test.labels, strict=True):
            n = row[0]
            assert 1 <= n <= SLOTS and (row[1 + n:1 + SLOTS] == BLANK).all()
            for box in row[1 + SLOTS:1 + SLOTS + 4 * n].reshape(-1, 4) / 1000 * [w, h, w, h]:
                x0, y0, x1, y1 = np.round(box).astype(int)
                assert 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h
                assert image[y0:y1, x0:x1].max() > 100  # the box sits on the digit's ink
    assert not np.array_equal(data.load("mnist-sequences:train").labels[:32], data.load("mnist-sequences:test").labels)


def test_the_one_training_loop_trains_the_sequence_model(small_sequence_sets, tmp_path):
    card = train(TrainConfig(arch="seqnet", data="mnist-sequences", epochs=2, batch_size=32, precision="fp32",
                             label_smoothing=0.0, rotate=0.0, scale=0.0, shift=0.0, shear=0.0,
                             arch_kwargs={"width": 8, "hidden": 64}), tmp_path / "seq", progress=False)
    assert card["arch"] == "seqnet" and card["arch_kwargs"]["num_classes"] == DIGIT_CLASSES
    assert card["history"][1]["train_loss"] < card["history"][0]["train_loss"]
    model = sequence.load_sequence_model(tmp_path / "seq/model")
    test = data.load("mnist-sequences:test")
    decoded = sequence.read_sequences(model, test.images)
    assert decoded.digits.shape == (32, SLOTS) and decoded.boxes.shape == (32, SLOTS, 4)
    assert ((decoded.boxes >= 0) & (decoded.boxes <= 1)).all()
    with pytest.raises(ValueError, match="reads a whole number .* not one digit"):
        digitscope.load(tmp_path / "seq/model")
    with pytest.raises(ValueError, match="not a sequence model"):
        sequence.load_sequence_model("default")


def test_the_sequence_model_reads_images_of_either_dataset_size():
    model = create_model("seqnet").eval()
    for h, w in sequences.SIZES.values():
        with torch.no_grad():
            assert model(torch.rand(2, 1, h, w)).shape == (2, OUTPUTS)
    with pytest.raises(ValueError, match="digit or blank"):
        create_model("seqnet", num_classes=10)


def test_the_sequence_data_refuses_options_that_would_break_its_targets(small_sequence_sets, tmp_path):
    with pytest.raises(ValueError, match="takes none of: --distractors, --classes, augmentation"):
        train(TrainConfig(arch="seqnet", data="mnist-sequences", epochs=1, label_smoothing=0.0, distractors=0.1,
                          classes="1,2"),
              tmp_path / "x", progress=False)
