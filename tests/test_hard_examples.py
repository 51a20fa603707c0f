import numpy as np
import pytest
import torch

from digitscope import data
from digitscope.training.config import TrainConfig
from digitscope.training.hard_examples import find_hard_examples
from digitscope.training.loop import train
from digitscope.training.sampling import fold_of, read_hard_examples, sampling_weights

FAST = dict(arch="quicknet", epochs=3, batch_size=32, lr=2e-2, precision="fp32", arch_kwargs={"width": 8},
            rotate=0.0, scale=0.0, shift=0.0, shear=0.0)
FLIPPED = [3, 50, 101, 250, 400, 555]


@pytest.fixture
def noisy_tiny(data_home, make_digits):
    """The synthetic bars with a few training labels changed: those digits are the hardest by construction."""
    train_split = make_digits(640, 1)
    train_split.labels[FLIPPED] = (train_split.labels[FLIPPED] + 5) % 10
    data.register(data.DatasetInfo(name="noisy", description="bars, 6 wrong labels", splits=("train", "val"),
                                   fetch=lambda: {"train": train_split, "val": make_digits(200, 2)}))
    return train_split


def test_folds_partition_the_training_set_the_same_way_every_time():
    folds = fold_of(103, 5)
    assert torch.equal(folds, fold_of(103, 5))
    assert sorted(torch.bincount(folds).tolist()) == [20, 20, 21, 21, 21]


def test_wrongly_labelled_digits_are_the_hardest_out_of_fold(noisy_tiny, tmp_path):
    summary = find_hard_examples(TrainConfig(**FAST, data="noisy"), tmp_path / "hard.safetensors", folds=4)
    scores = read_hard_examples(tmp_path / "hard.safetensors", data.load("noisy:train").checksum, 640)
    assert not torch.isnan(scores).any()
    assert set(torch.argsort(scores)[:len(FLIPPED)].tolist()) == set(FLIPPED)
    assert {h["index"] for h in summary["hardest"][:len(FLIPPED)]} == set(FLIPPED)


def test_hard_digits_are_drawn_more_often():
    weights, is_hard = sampling_weights(torch.tensor([0.9, 0.1, 0.8, 0.05]), fraction=0.5, weight=3.0)
    assert is_hard.tolist() == [False, True, False, True]
    assert weights.tolist() == [1.0, 3.0, 1.0, 3.0]
    with pytest.raises(ValueError, match="hard-fraction"):
        sampling_weights(torch.ones(4), fraction=1.5, weight=3.0)


def test_training_with_hard_examples_runs_and_refuses_a_file_for_other_data(noisy_tiny, tiny_dataset, tmp_path):
    hard = tmp_path / "hard.safetensors"
    find_hard_examples(TrainConfig(**{**FAST, "epochs": 1}, data="noisy"), hard, folds=2)
    card = train(TrainConfig(**FAST, data="noisy", hard_examples=str(hard), hard_fraction=0.1), tmp_path / "run",
                 progress=False)
    assert card["config"]["hard_examples"] == str(hard)
    assert np.isfinite(card["history"][-1]["train_loss"])
    with pytest.raises(ValueError, match="other training data"):
        train(TrainConfig(**FAST, data="tiny", hard_examples=str(hard)), tmp_path / "other", progress=False)
