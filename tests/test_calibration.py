import json
import shutil

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

import digitscope
from digitscope.analysis import evaluate
from digitscope.cli import app
from digitscope.imageio import read_image
from digitscope.inference.scores import softmax
from digitscope.preprocess import to_mnist
from digitscope.uncertainty.calibration import adaptive_ece, calibration_report, fit_temperature
from digitscope.uncertainty.reject import aurc, choose_threshold, risk_coverage


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


def test_calibrate_stores_the_temperature_that_predict_proba_then_uses(tiny_dataset, ten_class_model, tmp_path):
    shutil.copy(ten_class_model.with_suffix(".safetensors"), tmp_path / "m.safetensors")
    shutil.copy(ten_class_model.with_suffix(".json"), tmp_path / "m.json")
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


def test_calibrating_on_the_test_set_is_refused(tiny_dataset, ten_class_model):
    result = CliRunner().invoke(app, ["calibrate", "--model", str(ten_class_model), "--data", "tiny:test"])
    assert result.exit_code == 2 and "validation split" in result.output


def test_a_final_fit_is_not_calibrated_on_images_it_trained_on(data_home, make_digits, tmp_path):
    from digitscope import data
    from digitscope.training.loop import TrainConfig, train
    from digitscope.uncertainty.calibration import calibrate_model

    train_images, val_images = make_digits(320, 1), make_digits(100, 2)
    full = data.Arrays(np.concatenate([train_images.images, val_images.images]),
                       np.concatenate([train_images.labels, val_images.labels]))
    data.register(data.DatasetInfo(name="tinyfull", description="", splits=("train", "val", "train-full"),
                                   fetch=lambda: {"train": train_images, "val": val_images, "train-full": full}))
    options = dict(data="tinyfull", arch="quicknet", arch_kwargs={"width": 8}, epochs=1, batch_size=32,
                   precision="fp32")
    train(TrainConfig(**options, train_split="train-full", val_split="none", selection="last"), tmp_path / "full",
          progress=False)
    with pytest.raises(ValueError, match="100 of its 100 images are in tinyfull:train-full"):
        calibrate_model(tmp_path / "full", "tinyfull:val")
    train(TrainConfig(**options), tmp_path / "split", progress=False)  # its val is held out: calibrated as usual
    assert calibrate_model(tmp_path / "split", "tinyfull:val")["fitted_on"] == "tinyfull:val"


def test_risk_coverage_and_threshold_on_hand_made_scores():
    scores = np.array([0.99, 0.98, 0.97, 0.90, 0.80, 0.60])
    correct = np.array([True, True, True, False, True, False])
    coverage, risk, thresholds = risk_coverage(scores, correct)
    np.testing.assert_allclose(risk, [0, 0, 0, 1 / 4, 1 / 5, 2 / 6])
    rule = choose_threshold(scores, correct, max_risk=0.0)
    assert rule["threshold"] == 0.97 and rule["coverage"] == 0.5  # the largest coverage with no error
    assert choose_threshold(scores, correct, max_risk=0.21)["threshold"] == 0.80
    assert choose_threshold(scores, correct, coverage=0.6)["coverage"] >= 0.6
    assert aurc(scores, np.ones(6, bool)) == 0.0
    with pytest.raises(ValueError, match="exactly one"):
        choose_threshold(scores, correct)


def test_the_reject_rule_stored_by_calibrate_refuses_low_confidence_in_predict(tiny_dataset, ten_class_model,
                                                                            tmp_path):
    shutil.copy(ten_class_model.with_suffix(".safetensors"), tmp_path / "m.safetensors")
    shutil.copy(ten_class_model.with_suffix(".json"), tmp_path / "m.json")
    result = CliRunner().invoke(app, ["calibrate", "--model", str(tmp_path / "m"), "--data", "tiny:val",
                                      "--coverage", "0.5", "--json"])
    assert result.exit_code == 0, result.output
    rule = json.loads(result.output)["reject"]
    model = digitscope.load(tmp_path / "m")
    images = digitscope.data.load("tiny:val").images
    probs = model.predict_proba(images)
    np.testing.assert_array_equal(model.is_uncertain(probs), probs.max(1) < rule["threshold"])
    assert 0.4 < model.is_uncertain(probs).mean() < 0.6
    files = []
    for i in range(6):
        files.append(tmp_path / f"{i}.png")
        Image.fromarray(images[i]).save(files[-1])
    as_read = np.stack([to_mnist(read_image(f)) for f in files])  # predict_files preprocesses first
    for p, unsure in zip(model.predict_files(files), model.is_uncertain(model.predict_proba(as_read)), strict=True):
        assert p.rejected == unsure and p.reason == ("uncertain" if unsure else None)
    report = evaluate(model, "tiny:val")
    assert report["selective"]["coverage"] == pytest.approx(1 - model.is_uncertain(probs).mean())


def test_the_bundled_model_is_calibrated_only_into_a_copy(tiny_dataset, tmp_path):
    from digitscope.store.bundled import WEIGHTS_DIR
    from digitscope.uncertainty.calibration import calibrate_model

    bundled = {p.name: p.read_bytes() for p in WEIGHTS_DIR.iterdir()}
    with pytest.raises(ValueError, match="--out"):
        calibrate_model("default", "tiny:val")
    result = calibrate_model("default", "tiny:val", out=tmp_path / "mine")
    assert {p.name: p.read_bytes() for p in WEIGHTS_DIR.iterdir()} == bundled  # the package is never written to
    assert result["model"] == str(tmp_path / "mine" / "model")
    assert (tmp_path / "mine" / "model.safetensors").read_bytes() == bundled["default.safetensors"]
    model = digitscope.load(tmp_path / "mine")
    assert model.temperature == pytest.approx(result["temperature"])
    assert model.card.calibration["fitted_on"] == "tiny:val"
    assert model.card.reject == result["reject"]
