import dataclasses
import json

import pytest
import torch
from safetensors.torch import load_file
from typer.testing import CliRunner

import digitscope
from digitscope.cli import app
from digitscope.cli.train import config_from_argv
from digitscope.training.config import TrainConfig
from digitscope.training.loop import train

FAST = dict(data="tiny", arch="quicknet", epochs=3, batch_size=32, lr=2e-2, precision="fp32",
            arch_kwargs={"width": 8}, rotate=0.0, scale=0.0, shift=0.0, shear=0.0)  # bar position = class


def test_training_learns_and_saves_a_loadable_model(tiny_dataset, tmp_path):
    card = train(TrainConfig(**FAST), tmp_path / "run", progress=False)
    assert card["metrics"]["selected"]["val_accuracy"] > 0.9
    saved = json.loads((tmp_path / "run" / "model.json").read_text())
    for key in ("arch", "arch_kwargs", "config", "seed", "code_version", "data", "metrics", "history"):
        assert key in saved
    assert saved["data"]["train_checksum"] == digitscope.data.load("tiny:train").checksum
    assert len(saved["history"]) == 3
    model = digitscope.load(tmp_path / "run")
    test = digitscope.data.load("tiny:test")
    assert (model.predict(test.images) == test.labels).mean() > 0.9


def test_interrupted_training_resumes_to_the_same_weights(tiny_dataset, tmp_path):
    cfg = TrainConfig(**FAST, ema_decay=0.9)
    train(cfg, tmp_path / "straight", progress=False)

    def interrupt(epoch, _record):
        if epoch == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(cfg, tmp_path / "cut", progress=False, on_epoch_end=interrupt)
    card = train(cfg, tmp_path / "cut", resume=True, progress=False)
    assert [h["epoch"] for h in card["history"]] == [1, 2, 3]
    straight = load_file(str(tmp_path / "straight" / "model.safetensors"))
    resumed = load_file(str(tmp_path / "cut" / "model.safetensors"))
    for name, tensor in straight.items():
        torch.testing.assert_close(resumed[name], tensor, rtol=0, atol=1e-6, msg=name)


def test_resume_refuses_changed_options(tiny_dataset, tmp_path):
    train(TrainConfig(**{**FAST, "epochs": 1}), tmp_path / "run", progress=False)
    with pytest.raises(ValueError, match=r"options differ from the interrupted run.s \(lr\)"):
        train(TrainConfig(**{**FAST, "epochs": 1, "lr": 0.5}), tmp_path / "run", resume=True, progress=False)


def test_slashed_zeros_are_drawn_through_the_zeros_only(tiny_dataset, tmp_path):
    from digitscope.training.splits import training_data

    d = training_data(TrainConfig(**FAST, slashed_zeros=0.5))
    assert torch.equal(d.is_zero, d.y_train == 0) and d.is_zero.any()
    assert training_data(TrainConfig(**FAST)).is_zero is None  # off unless asked
    pair = training_data(TrainConfig(**FAST, slashed_zeros=0.5, classes="3,0"))  # 0 is class 1 of the pair
    assert torch.equal(pair.is_zero, pair.y_train == 1)
    with pytest.raises(ValueError, match="--classes 4,9 has none"):
        training_data(TrainConfig(**FAST, slashed_zeros=0.5, classes="4,9"))
    card = train(TrainConfig(**{**FAST, "epochs": 1}, slashed_zeros=0.5), tmp_path / "run", progress=False)
    assert card["config"]["slashed_zeros"] == 0.5


def test_evaluation_only_data_is_never_trained_on(data_home, make_digits, tmp_path):
    from digitscope import data

    data.register(data.DatasetInfo(name="heldout", description="", splits=("train", "val"), trainable=False,
                                   fetch=lambda: {"train": make_digits(64, 0), "val": make_digits(64, 1)}))
    with pytest.raises(ValueError, match="evaluation-only"):
        train(TrainConfig(**{**FAST, "data": "heldout"}), tmp_path / "run", progress=False)


def test_every_config_field_is_a_command_line_option():
    cfg = config_from_argv(["--out", "x", "--preset", "fast", "--lr", "0.5", "--arch-kwargs", '{"width": 4}'])
    assert cfg.lr == 0.5 and cfg.arch == "quicknet" and cfg.arch_kwargs == {"width": 4}
    assert config_from_argv(["--out", "x"]) == TrainConfig()


def test_train_help_lists_the_config_options():
    result = CliRunner().invoke(app, ["train", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for f in dataclasses.fields(TrainConfig):
        assert "--" + f.name.replace("_", "-") in result.output
    for flag in ("--out", "--preset", "--resume", "--ensemble", "--member", "--distributed"):
        assert flag in result.output


@pytest.mark.parametrize("args, allowed", [
    (["--preset", "nonsense"], "fast"),
    (["--optimizer", "adma"], "adamw"),
    (["--selection", "bset"], "one-se"),
])
def test_a_wrong_option_value_says_what_is_allowed(args, allowed, tmp_path):
    result = CliRunner().invoke(app, ["train", "--out", str(tmp_path / "run"), *args])
    assert result.exit_code == 2
    assert allowed in result.output


def test_a_final_fit_keeps_its_last_epoch_and_reads_no_validation(tiny_dataset, tmp_path):
    card = train(TrainConfig(**FAST, val_split="none", selection="last"), tmp_path / "run", progress=False)
    assert card["metrics"]["selected"] == {"epoch": 3}
    assert card["data"]["val"] is None and card["data"]["val_checksum"] is None
    assert all("val_accuracy" not in record for record in card["history"])
    test = digitscope.data.load("tiny:test")
    assert (digitscope.load(tmp_path / "run").predict(test.images) == test.labels).mean() > 0.9


def test_a_run_without_validation_must_say_it_keeps_the_last_epoch(tiny_dataset, tmp_path):
    with pytest.raises(ValueError, match="--selection last"):
        train(TrainConfig(**FAST, val_split="none"), tmp_path / "run", progress=False)
    with pytest.raises(ValueError, match="--patience"):
        train(TrainConfig(**FAST, val_split="none", selection="last", patience=2), tmp_path / "run", progress=False)


def test_an_unknown_choice_is_refused_when_the_config_is_made():
    with pytest.raises(ValueError, match="choose best, one-se, last"):
        TrainConfig(selection="bset")
    with pytest.raises(ValueError, match="--holdout-fold must be in 0..4, not 5"):
        TrainConfig(folds=5, holdout_fold=5)
