import json

import numpy as np
from typer.testing import CliRunner

import digitscope
from digitscope.cli import app

TINY = ["--data", "tiny", "--arch", "quicknet", "--arch-kwargs", '{"width": 8}', "--epochs", "2", "--batch-size", "32",
        "--lr", "0.02", "--precision", "fp32", "--rotate", "0", "--scale", "0", "--shift", "0", "--shear", "0",
        "--no-progress"]


def train_main(argv: list[str]) -> int:
    return CliRunner().invoke(app, ["train", *argv]).exit_code


def test_an_ensemble_trains_saves_and_loads_as_one_model(tiny_dataset, tmp_path):
    assert train_main([*TINY, "--ensemble", "2", "--out", str(tmp_path / "ens")]) == 0
    model = digitscope.load(tmp_path / "ens")
    card = json.loads((tmp_path / "ens" / "model.json").read_text())
    assert card["arch"] == "ensemble" and [m["seed"] for m in card["members"]] == [0, 1]
    images = digitscope.data.load("tiny:test").images
    members = [digitscope.load(tmp_path / "ens" / f"member{k}") for k in range(2)]
    expected = np.mean([m.predict_proba(images) for m in members], axis=0)
    np.testing.assert_allclose(model.predict_proba(images), expected, atol=1e-5)
    assert model.member_proba(images).shape == (2, len(images), 10)


def test_members_trained_apart_combine_into_the_same_ensemble(tiny_dataset, tmp_path):
    for k in range(2):
        assert train_main([*TINY, "--ensemble", "2", "--member", str(k), "--out", str(tmp_path / "jobs")]) == 0
    result = CliRunner().invoke(app, ["ensemble", "combine", str(tmp_path / "jobs" / "member0"),
                                      str(tmp_path / "jobs" / "member1"), "--out", str(tmp_path / "ens"), "--json"])
    assert result.exit_code == 0, result.output
    card = digitscope.load(tmp_path / "ens").card
    assert [m["command"].split("--member ")[1][0] for m in card.members] == ["0", "1"]  # how each was made
    images = digitscope.data.load("tiny:test").images
    combined = digitscope.load(tmp_path / "ens").predict_proba(images)
    members = [digitscope.load(tmp_path / "jobs" / f"member{k}").predict_proba(images) for k in range(2)]
    np.testing.assert_allclose(combined, np.mean(members, axis=0), atol=1e-5)


def test_combine_refuses_a_single_member_and_mc_dropout_a_model_without_dropout(tiny_dataset, tmp_path):
    result = CliRunner().invoke(app, ["ensemble", "combine", "default", "--out", str(tmp_path / "e")])
    assert result.exit_code == 2 and "at least 2 members" in result.output
    assert train_main([*TINY, "--out", str(tmp_path / "q")]) == 0
    result = CliRunner().invoke(app, ["evaluate", "--model", str(tmp_path / "q"), "--data", "tiny:test",
                                      "--mc-samples", "5"])
    assert result.exit_code == 2 and "dropout" in result.output


def test_mc_dropout_prediction_from_the_command_line(tiny_dataset):
    result = CliRunner().invoke(app, ["evaluate", "--data", "tiny:test", "--mc-samples", "3", "--json"])
    assert result.exit_code == 0, result.output
    assert 0 <= json.loads(result.output)["accuracy"] <= 1
