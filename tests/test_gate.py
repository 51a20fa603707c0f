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
from digitscope.saved import save_model


def saved(path, num_classes, seed):
    import torch

    torch.manual_seed(seed)
    model = create_model("quicknet", num_classes=num_classes, width=8).eval()
    card = {"arch": "quicknet", "arch_kwargs": {"num_classes": num_classes, "width": 8}, "seed": seed,
            "data": {"name": "mnist"}}
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
