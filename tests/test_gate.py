"""The gate: a 10-class reader behind an 11-class "not a digit" detector, saved, loaded and exported as one model."""

import json

import numpy as np
import pytest
from conftest import synthetic_digits
from scipy.special import softmax
from typer.testing import CliRunner

import digitscope
from digitscope.cli import app
from digitscope.labels import NOT_A_DIGIT
from digitscope.models import create_model
from digitscope.models.persist import save_model


def saved(path, num_classes, seed, data="mnist"):
    import torch

    torch.manual_seed(seed)
    model = create_model("quicknet", num_classes=num_classes, width=8).eval()
    card = {"arch": "quicknet", "arch_kwargs": {"num_classes": num_classes, "width": 8}, "seed": seed,
            "data": {"name": data}}
    save_model(path, model, card)
    return path


@pytest.fixture
def parts(tmp_path):
    return saved(tmp_path / "reader", 10, 0), saved(tmp_path / "detector", 11, 1)


def gate(*args):
    return CliRunner().invoke(app, ["gate", *map(str, args), "--json"])


def test_the_gate_reads_the_readers_digits_and_the_detectors_doubt(parts, tmp_path):
    reader, detector = parts
    result = gate("--reader", reader, "--detector", detector, "--out", tmp_path / "gate")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["parts"]["detector"]["seed"] == 1
    model = digitscope.load(tmp_path / "gate", backend="torch")
    images = synthetic_digits(64, 5).images
    p_reader = digitscope.load(reader, backend="torch").predict_proba(images)  # (N, 10)
    p_detector = digitscope.load(detector, backend="torch").predict_proba(images)  # (N, 11)
    probs = model.predict_proba(images)
    g = p_detector[:, NOT_A_DIGIT]
    np.testing.assert_allclose(probs[:, NOT_A_DIGIT], g, atol=1e-5)
    np.testing.assert_allclose(probs[:, :NOT_A_DIGIT], (1 - g)[:, None] * p_reader, atol=1e-5)
    assert (model.best_digit(probs) == p_reader.argmax(1)).all()
    # the same answers from onnxruntime, which the server uses
    fast = digitscope.load(tmp_path / "gate", backend="onnxruntime").logits(images)
    np.testing.assert_allclose(softmax(fast, 1), probs, atol=1e-4)
    # its digit features are the reader's
    np.testing.assert_allclose(model.embed(images), digitscope.load(reader).embed(images), atol=1e-5)


def test_the_gate_refuses_parts_with_the_wrong_number_of_classes(parts, tmp_path):
    reader, detector = parts
    result = gate("--reader", detector, "--detector", reader, "--out", tmp_path / "g")
    assert result.exit_code == 2 and "reader has 11 classes; it must have 10" in " ".join(result.output.split())
    result = gate("--reader", reader, "--detector", reader, "--out", tmp_path / "g")
    assert result.exit_code == 2 and "it must have 11 (trained with --distractors)" in " ".join(result.output.split())
    assert not (tmp_path / "g.json").exists()


TINY = dict(data="tiny", arch="quicknet", arch_kwargs={"width": 8}, epochs=1, batch_size=32, lr=2e-2,
            precision="fp32", rotate=0.0, scale=0.0, shift=0.0, shear=0.0)


@pytest.fixture
def reader_and_frozen_detector(tiny_dataset, tmp_path):
    """A tiny reader, and a detector trained from it with distractors and its first 3 layers frozen."""
    from digitscope.training.loop import TrainConfig, train

    train(TrainConfig(**TINY), tmp_path / "trained-reader", progress=False)
    train(TrainConfig(**TINY, seed=1, distractors=0.3, init=str(tmp_path / "trained-reader/model"), freeze=3),
          tmp_path / "frozen-detector", progress=False)
    return tmp_path / "trained-reader/model", tmp_path / "frozen-detector/model"


def test_a_detector_frozen_from_the_reader_shares_its_first_layers_in_the_gate(reader_and_frozen_detector,
                                                                                tmp_path):
    from digitscope.models.persist import load_model
    from digitscope.store.bundled import resolve_model_path

    reader, detector = reader_and_frozen_detector
    reader_net, detector_net = (load_model(resolve_model_path(p))[0] for p in (reader, detector))
    frozen, trained = reader_net[:3].state_dict(), detector_net[:3].state_dict()
    assert all(torch_equal(frozen[k], trained[k]) for k in frozen)  # BatchNorm statistics included
    assert not torch_equal(reader_net[3][0].weight, detector_net[3][0].weight)  # the rest learnt

    result = gate("--reader", reader, "--detector", detector, "--out", tmp_path / "gate")
    assert result.exit_code == 0, result.output
    model = digitscope.load(tmp_path / "gate", backend="torch")
    assert model.card.arch_kwargs["shared"] == 3
    assert model.card.parameters < sum(p.numel() for p in [*reader_net.parameters(), *detector_net.parameters()])
    images = synthetic_digits(64, 5).images
    p_reader = digitscope.load(reader, backend="torch").predict_proba(images)
    g = digitscope.load(detector, backend="torch").predict_proba(images)[:, NOT_A_DIGIT]
    probs = model.predict_proba(images)
    np.testing.assert_allclose(probs[:, NOT_A_DIGIT], g, atol=1e-5)
    np.testing.assert_allclose(probs[:, :NOT_A_DIGIT], (1 - g)[:, None] * p_reader, atol=1e-5)
    fast = digitscope.load(tmp_path / "gate", backend="onnxruntime").logits(images)
    np.testing.assert_allclose(softmax(fast, 1), probs, atol=1e-4)


def test_a_frozen_detector_fits_only_the_reader_it_was_frozen_from(reader_and_frozen_detector, tmp_path):
    _, detector = reader_and_frozen_detector
    other_reader = saved(tmp_path / "other-reader", 10, 2, data="tiny")
    result = gate("--reader", other_reader, "--detector", detector, "--out", tmp_path / "g")
    assert result.exit_code == 2
    assert "trained with its first 3 layers frozen, but from another model" in " ".join(result.output.split())
    assert not (tmp_path / "g.json").exists()


def test_freeze_needs_an_init_model_and_a_layer_count_that_fits(tiny_dataset, parts, tmp_path):
    from digitscope.training.loop import TrainConfig, train

    reader, _ = parts
    with pytest.raises(ValueError, match="name one with --init"):
        train(TrainConfig(**TINY, freeze=2), tmp_path / "a", progress=False)
    with pytest.raises(ValueError, match="between 1 and 5"):
        train(TrainConfig(**TINY, freeze=6, init=str(reader)), tmp_path / "b", progress=False)


def torch_equal(a, b) -> bool:
    import torch

    return torch.equal(a, b)
