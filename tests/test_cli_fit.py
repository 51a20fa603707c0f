"""`digitscope fit`: a fit is written where the user says, never into the installed package, and what it writes
loads as a model."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from digitscope.cli import app
from digitscope.data.cache import save_arrays
from digitscope.store.bundled import WEIGHTS_DIR

EXAMPLE = next(p for p in sorted((Path(__file__).parent.parent / "examples").iterdir()) if p.suffix == ".png")
runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def said(result) -> str:
    """The output with rich's line wrapping undone."""
    return " ".join(result.output.split())


def package_weights() -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(WEIGHTS_DIR.iterdir())}


@pytest.fixture
def fake_mnist(data_home, make_digits):
    """Small stand-ins for mnist:train and mnist:val in the isolated cache, for fits that read MNIST."""
    data_home.mkdir(parents=True, exist_ok=True)
    save_arrays(data_home / "mnist-train.npz", make_digits(300, 1))
    save_arrays(data_home / "mnist-val.npz", make_digits(200, 2))


@pytest.mark.parametrize("args", [
    ["fit", "temperature", "--data", "tiny:val"],
    ["calibrate", "--data", "tiny:val"],
    ["fit", "number-risk", "--model", "reading", "--strings", "5"],
    ["fit", "prior", "--strings", "5"],
    ["fit", "prior", "--out", WEIGHTS_DIR / "reading-prior.json"],
    ["fit", "temperature", "--data", "tiny:val", "--out", WEIGHTS_DIR],
])
def test_a_fit_refuses_to_write_into_the_installed_package(args, tiny_dataset, fake_mnist):
    before = package_weights()
    result = run(*args)
    assert result.exit_code == 2 and "--out" in said(result) and "installed package" in said(result)
    assert package_weights() == before


def test_fit_temperature_out_writes_a_model_that_predict_loads(tiny_dataset, ten_class_model, tmp_path):
    card_before = ten_class_model.with_suffix(".json").read_text()
    result = run("fit", "temperature", "--model", ten_class_model, "--data", "tiny:val", "--out", tmp_path / "fitted",
                 "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["fitted_on"] == "tiny:val"
    fitted = tmp_path / "fitted" / "model"
    assert fitted.with_suffix(".safetensors").read_bytes() == ten_class_model.with_suffix(".safetensors").read_bytes()
    card = json.loads(fitted.with_suffix(".json").read_text())
    assert card["calibration"]["fitted_on"] == "tiny:val" and card["reject"]["fitted_on"] == "tiny:val"
    assert ten_class_model.with_suffix(".json").read_text() == card_before  # the source is left as it was
    answer = run("predict", EXAMPLE, "--model", tmp_path / "fitted", "--json")
    assert answer.exit_code == 0, answer.output
    assert json.loads(answer.stdout)["file"] == str(EXAMPLE)


def test_fit_number_risk_stores_the_rule_with_its_command_and_read_uses_it(fake_mnist, tmp_path):
    out = tmp_path / "reading"
    args = ["fit", "number-risk", "--model", "reading", "--strings", "3", "--seed", "7", "--out", str(out), "--json"]
    result = run(*args)
    assert result.exit_code == 0, result.output
    rule = json.loads((out / "model.json").read_text())["reading"]["number_reject"]
    assert rule == json.loads(result.stdout)["number_reject"]
    assert rule["command"] == "digitscope " + " ".join(args) and rule["sets"] == {"a": 3, "b 1-5": 3, "b 6-10": 3,
                                                                                    "c": 3}
    assert (out / "model.safetensors").read_bytes() == (WEIGHTS_DIR / "reading.safetensors").read_bytes()
    answer = run("read", EXAMPLE, "--model", out, "--max-risk", "0.5", "--json")
    assert answer.exit_code == 0, answer.output


def test_fit_number_risk_takes_the_digits_of_writers_the_model_never_saw(fake_mnist, data_home, make_digits,
                                                                        tmp_path):
    save_arrays(data_home / "mnist-writers-val.npz", make_digits(200, 3))
    out = tmp_path / "default"
    result = run("fit", "number-risk", "--model", "default", "--strings", "2", "--digits", "mnist-writers:val",
                 "--out", out, "--json")
    assert result.exit_code == 0, result.output
    rule = json.loads((out / "model.json").read_text())["reading"]["number_reject"]
    assert rule["fitted_on"].startswith("strings of mnist-writers:val digits")
    mixed = run("fit", "number-risk", "--model", "reading", "--line-model", "amounts", "--digits", "mnist:val",
                "--out", tmp_path / "lines")
    assert mixed.exit_code == 2 and "--digits is for a classifier's own rule" in said(mixed)
    assert not (tmp_path / "lines").exists()


def test_a_users_own_model_is_fitted_in_place(ten_class_model, monkeypatch):
    import digitscope.reading.fitting as fitting

    monkeypatch.setattr(fitting, "fit_number_risk", lambda classifier, strings, seed, digits: {
        "curve": [], "readings": 0, "fitted_on": "nothing"})
    result = run("fit", "number-risk", "--model", ten_class_model)
    assert result.exit_code == 0, result.output
    card = json.loads(ten_class_model.with_suffix(".json").read_text())
    assert card["reading"]["number_reject"]["fitted_on"] == "nothing"
    assert sorted(p.name for p in ten_class_model.parent.iterdir()) == ["reader.json", "reader.safetensors"]


def test_fit_prior_writes_a_prior_the_reader_loads(fake_mnist, tmp_path):
    from digitscope.reading.prior import SegmentPrior

    result = run("fit", "prior", "--strings", "4", "--out", tmp_path / "p" / "prior.json", "--json")
    assert result.exit_code == 0, result.output
    prior = SegmentPrior.load(tmp_path / "p" / "prior.json")
    assert prior.card["command"].startswith("digitscope fit prior --strings 4")
    assert json.loads(result.stdout)["spans"] == prior.card["spans"]


def test_gate_takes_digits_and_keeps_reader_as_its_old_name(ten_class_model, tmp_path):
    for flag in ("--digits", "--reader"):
        result = run("gate", flag, "no-such-model", "--detector", ten_class_model, "--out", tmp_path / "g")
        assert result.exit_code == 2 and "no model at no-such-model" in said(result)
    result = run("gate", "--detector", ten_class_model, "--out", tmp_path / "g")
    assert result.exit_code == 2 and "as --digits" in said(result)
