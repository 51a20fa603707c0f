import json
import shutil

import numpy as np
import pytest
from typer.testing import CliRunner

import digitscope
from digitscope.classifier import WEIGHTS_DIR
from digitscope.cli import app
from digitscope.uncertainty.calibration import adaptive_ece, calibration_report, fit_temperature
from digitscope.uncertainty.scores import softmax


def overconfident_toy(n=4000, seed=0):
    """Logits whose softmax is far too sure: the true class wins only 80% of the time, at ~99.9%."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n)
    winner = np.where(rng.random(n) < 0.8, labels, rng.integers(0, 10, n))
    logits = rng.normal(0, 1, (n, 10))
    logits[np.arange(n), winner] += 9.0
    return logits, labels


def test_temperature_scaling_lowers_nll_and_ece_on_an_overconfident_toy():
    logits, labels = overconfident_toy()
    t = fit_temperature(logits, labels)
    assert t > 1.5  # overconfident: the fit softens the logits
    before, after = calibration_report(softmax(logits), labels), calibration_report(softmax(logits / t), labels)
    assert after["nll"] < before["nll"] and after["ece"] < before["ece"]
    assert after["accuracy"] == before["accuracy"]  # temperature never changes the answer


def test_ece_of_hand_made_probabilities():
    probs = np.array([[0.9, 0.1]] * 10)
    labels = np.array([0] * 8 + [1] * 2)  # 90% confident, 80% right
    assert calibration_report(probs, labels)["ece"] == pytest.approx(0.1)
    assert adaptive_ece(probs, labels, bins=1) == pytest.approx(0.1)  # one bin: |mean confidence - accuracy|
    assert calibration_report(probs, labels)["brier"] == pytest.approx((8 * 0.02 + 2 * 1.62) / 10)


def test_calibrate_stores_the_temperature_that_predict_proba_then_uses(tiny_dataset, tmp_path):
    shutil.copy(WEIGHTS_DIR / "default.safetensors", tmp_path / "m.safetensors")
    shutil.copy(WEIGHTS_DIR / "default.json", tmp_path / "m.json")
    before = digitscope.load(tmp_path / "m").predict_proba(digitscope.data.load("tiny:val").images[:5])
    result = CliRunner().invoke(app, ["calibrate", "--model", str(tmp_path / "m"), "--data", "tiny:val", "--json",
                                      "--figures", str(tmp_path / "fig")])
    assert result.exit_code == 0, result.output
    t = json.loads(result.output)["temperature"]
    model = digitscope.load(tmp_path / "m")
    assert model.temperature == pytest.approx(t) and t != 1.0
    after = model.predict_proba(digitscope.data.load("tiny:val").images[:5])
    np.testing.assert_array_equal(after.argmax(1), before.argmax(1))
    assert (tmp_path / "fig" / "reliability-after.png").stat().st_size > 1000


def test_calibrating_on_the_test_set_is_refused(tiny_dataset):
    result = CliRunner().invoke(app, ["calibrate", "--data", "tiny:test"])
    assert result.exit_code == 2 and "validation split" in result.output
