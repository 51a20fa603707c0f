"""`digitscope ambiguous`: each kind ranks as defined, files point at the right images, errors say why."""

import json

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

import digitscope
from digitscope import data
from digitscope.analysis.ambiguity import KINDS, find_ambiguous, rank
from digitscope.cli import app
from digitscope.data import catalog as registry
from digitscope.models import create_model
from digitscope.models.persist import save_model

runner = CliRunner()

# Five examples, four classes: a confident and right, b a near tie (wrong), c spread out (right),
# d and e confidently / moderately wrong.
PROBS = np.array([
    [0.97, 0.01, 0.01, 0.01],  # a
    [0.49, 0.48, 0.02, 0.01],  # b: max .49, margin .01
    [0.40, 0.20, 0.20, 0.20],  # c: max .40, margin .20, the highest entropy
    [0.05, 0.05, 0.85, 0.05],  # d: wrong at .85
    [0.30, 0.60, 0.05, 0.05],  # e: wrong at .60
])
LABELS = np.array([0, 1, 0, 3, 0])


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.mark.parametrize("kind, expected", [
    ("confident-wrong", [3, 4, 1]),  # only the misclassified, most confident first
    ("least-confident", [2, 1, 4, 3, 0]),
    ("smallest-margin", [1, 2, 4, 3, 0]),
    ("highest-entropy", [2, 4, 1, 3, 0]),
])
def test_each_kind_ranks_as_defined(kind, expected):
    items = rank(kind, PROBS, LABELS, top=10)
    assert [i.index for i in items] == expected
    assert [i.index for i in rank(kind, PROBS, LABELS, top=2)] == expected[:2]
    b = next(i for i in items if i.index == 1)
    assert (b.label, b.prediction, b.confidence) == (1, 0, 0.49)
    assert [t["digit"] for t in b.top3] == [0, 1, 2] and b.top3[1]["probability"] == 0.48


def test_ensemble_disagreement_ranks_by_mutual_information_then_disagreement():
    # (S=3, N=4, K=2). Examples 1 and 2 are mirror images: the same mutual information exactly, but the mean
    # is a tie that goes to class 0, with which 2 of 3 members agree in example 1 and 1 of 3 in example 2.
    members = np.array([
        [[0.9, 0.1], [0.75, 0.25], [0.25, 0.75], [1.0, 0.0]],
        [[0.9, 0.1], [0.75, 0.25], [0.25, 0.75], [0.0, 1.0]],
        [[0.9, 0.1], [0.0, 1.0], [1.0, 0.0], [1.0, 0.0]],
    ])
    items = rank("ensemble-disagreement", members.mean(axis=0), np.zeros(4, np.int64), members, top=4)
    assert [i.index for i in items] == [3, 2, 1, 0]
    assert items[1].score == items[2].score and (items[1].disagreement, items[2].disagreement) == (2 / 3, 1 / 3)
    with pytest.raises(ValueError, match="member_probs"):
        rank("ensemble-disagreement", PROBS, LABELS)


def test_rank_refuses_unknown_kinds_and_empty_tops():
    with pytest.raises(ValueError, match="choose one of: " + ", ".join(KINDS)):
        rank("wrongest", PROBS, LABELS)
    with pytest.raises(ValueError, match="at least 1"):
        rank("least-confident", PROBS, LABELS, top=0)


def test_written_images_are_the_dataset_images_at_their_index(tiny_dataset, tmp_path):
    result = find_ambiguous(digitscope.load("default"), "tiny:test", "least-confident", tmp_path / "out", top=6)
    arrays = data.load("tiny:test")
    probs = digitscope.load().predict_proba(arrays.images)
    assert [i["index"] for i in result["items"]] == list(np.argsort(probs.max(axis=1), kind="stable")[:6])
    report = (tmp_path / "out" / "report.md").read_text()
    assert "![contact sheet](sheet.png)" in report and "least-confident" in report
    for item in result["items"]:
        image = Image.open(tmp_path / "out" / f"{item['index']}.png")
        assert image.mode == "L" and np.array_equal(np.asarray(image), arrays.images[item["index"]])
        assert item["label"] == arrays.labels[item["index"]] and item["prediction"] == probs[item["index"]].argmax()
        assert f"[{item['index']}.png]({item['index']}.png)" in report
    assert (tmp_path / "out" / "sheet.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("kind, extra", [("confident-wrong", []), ("ensemble-disagreement", ["--mc-samples", 3])])
def test_cli_json_end_to_end(kind, extra, tiny_dataset, tmp_path):
    out = tmp_path / "amb"
    result = run("ambiguous", "--data", "tiny:test", "--by", kind, "--top", 4, "--out", out, *extra, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["kind"], report["model"], report["data"], report["out"]) == (kind, "default", "tiny:test", str(out))
    items = report["items"]
    assert len(items) == 4
    for item in items:
        assert {"index", "label", "prediction", "confidence", "score", "top3"} <= set(item)
        assert (out / f"{item['index']}.png").exists()
    assert [i["score"] for i in items] == sorted((i["score"] for i in items), reverse=True)
    if kind == "confident-wrong":
        assert all(i["label"] != i["prediction"] for i in items)
    assert (out / "sheet.png").exists() and (out / "report.md").exists()


def test_cli_prints_a_table_and_where_the_files_are(tiny_dataset, tmp_path):
    result = run("ambiguous", "--data", "tiny:test", "--by", "smallest-margin", "--top", 2, "--out", tmp_path)
    assert result.exit_code == 0, result.output
    assert "smallest-margin on tiny:test" in result.stdout and str(tmp_path / "report.md") in result.stdout


@pytest.fixture
def empty_dataset(data_home, monkeypatch):
    empty = data.Arrays(np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.int64))
    monkeypatch.setitem(registry._DATASETS, "empty", data.DatasetInfo(
        name="empty", description="no images", splits=("test",), fetch=lambda: {"test": empty}))


@pytest.fixture
def model_without_dropout(tmp_path):
    save_model(tmp_path / "quick", create_model("quicknet"), {"arch": "quicknet", "arch_kwargs": {}})
    return tmp_path / "quick"


@pytest.mark.parametrize("args, message", [
    (["--by", "wrongest"], "unknown kind 'wrongest'; choose one of: " + ", ".join(KINDS)),
    (["--by", "least-confident", "--data", "imagenet:test"], "unknown dataset 'imagenet'"),
    (["--by", "least-confident", "--data", "empty:test"], "empty:test has no images"),
    (["--by", "least-confident", "--top", 0], "at least 1"),
    (["--by", "ensemble-disagreement", "--data", "tiny:test", "--model", "NODROPOUT"], "needs a model with dropout"),
])
def test_wrong_input_says_why(args, message, tiny_dataset, empty_dataset, model_without_dropout, tmp_path):
    args = [model_without_dropout if a == "NODROPOUT" else a for a in args]
    result = run("ambiguous", "--out", tmp_path / "amb", *args)
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
