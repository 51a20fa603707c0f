"""A soup: fine-tunes of one network averaged into one network, greedily on validation when asked."""

import json

import pytest
import torch
from safetensors.torch import load_file
from typer.testing import CliRunner

import digitscope
from digitscope.cli import app
from digitscope.data import catalog
from digitscope.training.soups import make_soup

TINY = ["--data", "tiny", "--arch", "quicknet", "--arch-kwargs", '{"width": 8}', "--epochs", "1", "--batch-size", "32",
        "--lr", "0.02", "--precision", "fp32", "--rotate", "0", "--scale", "0", "--shift", "0", "--shear", "0",
        "--no-progress"]


def train(tmp_path, name: str, *extra: str) -> str:
    result = CliRunner().invoke(app, ["train", *TINY, *extra, "--out", str(tmp_path / name)])
    assert result.exit_code == 0, result.output
    return str(tmp_path / name)


@pytest.fixture
def fine_tunes(tiny_dataset, tmp_path):
    """A base, and three fine-tunes of it with seeds of their own."""
    base = train(tmp_path, "base")
    return base, [train(tmp_path, f"ft{k}", "--init", base, "--lr", "0.005", "--seed", str(k)) for k in range(3)]


def test_a_soup_keeps_only_what_its_ingredients_cards_agree_on(tiny_dataset, tmp_path, monkeypatch):
    parts = {"train": ("tiny:train", "tiny:train"), "val": ("tiny:val",)}
    monkeypatch.setitem(catalog._DATASETS, "tiny-twice", catalog.DatasetInfo("tiny-twice", "tiny, twice over",
                                                                            ("train", "val"), parts=parts))
    base = train(tmp_path, "base", "--data", "tiny-twice")
    tunes = [train(tmp_path, f"w{w}", "--data", "tiny-twice", "--init", base, "--part-weights", f"1,{w}")
             for w in (1, 3)]
    data = make_soup(tunes, tmp_path / "soup").data
    assert data["train"] == "tiny-twice:train" and "part_weights" not in data


def test_a_soup_is_the_mean_of_its_ingredients_weights(fine_tunes, tmp_path):
    base, tunes = fine_tunes
    result = CliRunner().invoke(app, ["soup", *tunes[:2], "--out", str(tmp_path / "soup"), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["ingredients"] == tunes[:2]
    soup = load_file(str(tmp_path / "soup.safetensors"))
    a, b = (load_file(f"{t}/model.safetensors") for t in tunes[:2])
    for name, tensor in soup.items():
        expected = (a[name].float() + b[name].float()) / 2 if tensor.is_floating_point() else a[name]
        torch.testing.assert_close(tensor.float(), expected.float(), msg=name)
    model = digitscope.load(tmp_path / "soup")  # one network, loaded like any other
    assert model.card.arch == "quicknet" and [m["path"] for m in model.card.members] == tunes[:2]
    assert model.card.data["train_checksum"] == digitscope.data.load("tiny:train").checksum
    assert "part_weights" not in model.card.data  # what the ingredients do not agree on is not the soup's
    test = digitscope.data.load("tiny:test")
    assert (model.predict(test.images) == test.labels).mean() > 0.9


def test_a_greedy_soup_keeps_what_reads_validation_no_worse_and_never_chooses_on_training_data(fine_tunes, tmp_path):
    base, tunes = fine_tunes
    card = make_soup(tunes, tmp_path / "greedy", greedy_on="tiny:val")
    report = card.metrics["soup"]
    assert report["on"] == "tiny:val" and len(report["alone"]) == 3 and len(report["tried"]) == 2
    assert card.members[0]["path"] == tunes[report["order"][0]]  # the best alone goes in first
    assert report["val_accuracy"] >= max(report["alone"])
    best, kept = report["alone"][report["order"][0]], report["order"][:1]
    for k, accuracy in zip(report["order"][1:], report["tried"], strict=True):
        if accuracy >= best:
            best, kept = accuracy, [*kept, k]
    assert [m["path"] for m in card.members] == [tunes[k] for k in kept]
    val = digitscope.data.load("tiny:val")  # the figure reported is the saved soup's
    saved = digitscope.load(tmp_path / "greedy")
    assert (saved.predict(val.images) == val.labels).mean() == pytest.approx(report["val_accuracy"], abs=0.011)
    with pytest.raises(ValueError, match="trained on; choose the soup on validation"):
        make_soup(tunes, tmp_path / "leaky", greedy_on="tiny:train")


def test_a_soup_refuses_networks_that_do_not_average(fine_tunes, tmp_path):
    base, tunes = fine_tunes
    with pytest.raises(ValueError, match="at least 2 ingredients"):
        make_soup(tunes[:1], tmp_path / "one")
    with pytest.raises(ValueError, match="fine-tunes of one network"):
        make_soup([base, tunes[0]], tmp_path / "apart")  # the base has no --init: trained apart
    other = train(tmp_path, "other", "--init", tunes[1], "--lr", "0.005")
    with pytest.raises(ValueError, match="fine-tunes of one network"):
        make_soup([tunes[0], other], tmp_path / "two-starts")
    with pytest.raises(ValueError, match="one architecture"):
        make_soup([tunes[0], "default"], tmp_path / "mixed")


def test_a_gate_made_from_a_soup_says_how_each_ingredient_was_made(fine_tunes, tmp_path):
    base, tunes = fine_tunes
    make_soup(tunes[:2], tmp_path / "soup")
    detector = train(tmp_path, "detector", "--init", str(tmp_path / "soup"), "--freeze", "3", "--distractors", "0.3")
    result = CliRunner().invoke(app, ["gate", "--digits", str(tmp_path / "soup"), "--detector", detector,
                                      "--out", str(tmp_path / "gate")])
    assert result.exit_code == 0, result.output
    reader = digitscope.load(tmp_path / "gate").card.parts["reader"]
    assert [m["path"] for m in reader["members"]] == tunes[:2]
    assert all("--init" in m["command"] for m in reader["members"])
