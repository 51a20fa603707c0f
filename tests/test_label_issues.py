"""Label issues: flipped labels rank first, and the command writes the exact pixels it ranks."""

import json

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from digitscope import data
from digitscope.analysis.label_issues import ensemble_proba, label_issue_report, rank_label_issues, trained_on
from digitscope.cli import app
from digitscope.data import catalog as registry
from digitscope.store.card import ModelCard

runner = CliRunner()


def confident_probs(labels: np.ndarray, sure: np.ndarray | None = None, seed: int = 0) -> np.ndarray:
    """Probabilities that put 0.90-0.98 on each example's class (0.99 where ``sure``), the rest spread at random."""
    rng = np.random.default_rng(seed)
    rest = rng.dirichlet(np.ones(10), len(labels))
    rest[np.arange(len(labels)), labels] = 0
    rest /= rest.sum(axis=1, keepdims=True)
    top = rng.uniform(0.90, 0.98, len(labels))
    if sure is not None:
        top[sure] = 0.99
    probs = rest * (1 - top)[:, None]
    probs[np.arange(len(labels)), labels] = top
    return probs


def test_flipped_labels_rank_first():
    true = np.repeat(np.arange(10), 50)
    flipped = np.array([7, 123, 260, 401, 499])
    # Confident learning flags a dispute only where the model is at least as sure as it usually is of that class.
    probs = confident_probs(true, sure=flipped)
    given = true.copy()
    given[flipped] = (true[flipped] + 3) % 10
    issues = rank_label_issues(given, probs)
    assert {i.index for i in issues[:len(flipped)]} == set(flipped)
    given_probability = [i.given_probability for i in issues]
    assert given_probability == sorted(given_probability)  # most doubtful first
    for issue in issues[:len(flipped)]:
        assert issue.given == given[issue.index] and issue.predicted == true[issue.index]
        assert issue.probability == pytest.approx(probs[issue.index].max())
    assert [i.index for i in rank_label_issues(given, probs, top=2)] == [i.index for i in issues[:2]]


def test_clean_labels_give_no_issue():
    labels = np.repeat(np.arange(10), 30)
    assert rank_label_issues(labels, confident_probs(labels)) == []


@pytest.mark.parametrize("labels, probs, kwargs, message", [
    (np.array([0, 1]), np.full((2, 10), 0.1), {"top": 0}, "--top must be at least 1"),
    (np.array([0, 1]), np.full((2, 10), 0.1), {"filter_by": "vibes"}, "unknown filter"),
    (np.array([], dtype=np.int64), np.zeros((0, 10)), {}, "empty"),
    (np.array([0, 12]), np.full((2, 10), 0.1), {}, "outside the model's 10 classes"),
])
def test_bad_input_says_what_is_wrong(labels, probs, kwargs, message):
    with pytest.raises(ValueError, match=message):
        rank_label_issues(labels, probs, **kwargs)


def test_ensemble_averages_the_models():
    class Fixed:
        def __init__(self, probs):
            self.probs = probs

        def predict_proba(self, images):
            return self.probs

    a, b = np.array([[0.9, 0.1], [0.2, 0.8]]), np.array([[0.5, 0.5], [0.0, 1.0]])
    np.testing.assert_allclose(ensemble_proba([Fixed(a), Fixed(b)], None), [[0.7, 0.3], [0.1, 0.9]])


def test_a_split_the_model_trained_on_is_recognised():
    card = ModelCard(data={"name": "mnist", "train": "mnist:train", "train_checksum": "abc"})
    assert trained_on(card, "mnist:train", "other") and trained_on(card, "mnist:train-full", "other")
    assert not trained_on(card, "mnist:test", "other") and not trained_on(card, "mnist:val", "other")


def test_a_training_split_is_ranked_with_a_warning(tiny_dataset, tmp_path):
    class Memoriser:  # has seen tiny:train, and reads it exactly as labelled but for three flipped answers
        card = ModelCard(data={"name": "tiny", "train": "tiny:train"})

        def predict_proba(self, images):
            answers = data.load("tiny:train").labels.copy()
            answers[[5, 50, 500]] = (answers[[5, 50, 500]] + 1) % 10
            return confident_probs(answers, sure=np.array([5, 50, 500]))

    report = label_issue_report([Memoriser()], "tiny:train", tmp_path / "out", top=10, model_names=["memo"])
    assert sorted(i["index"] for i in report["issues"]) == [5, 50, 500]
    assert len(report["warnings"]) == 1 and "out-of-fold" in report["warnings"][0]
    assert "**Warning:** model memo trained on tiny:train" in (tmp_path / "out" / "report.md").read_text()


def test_label_issues_command_writes_exact_pixels(tiny_dataset, tmp_path):
    out = tmp_path / "issues"
    # The bundled model has never seen the synthetic bars: it disputes many labels, so there is plenty to rank.
    result = runner.invoke(app, ["label-issues", "--data", "tiny:test", "--top", "5", "--filter", "predicted_neq_given",
                                 "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["models"] == ["default"] and report["n"] == 200 and report["warnings"] == []
    assert 0 < len(report["issues"]) <= 5 and report["flagged"] >= len(report["issues"])
    arrays = data.load("tiny:test")
    for issue in report["issues"]:
        assert issue["given"] == arrays.labels[issue["index"]]
        pixels = np.asarray(Image.open(out / f"{issue['index']}.png"))
        assert pixels.dtype == np.uint8 and np.array_equal(pixels, arrays.images[issue["index"]])
    assert (out / "sheet.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = (out / "report.md").read_text()
    assert "verdict" in text and "digitscope label-issues --data tiny:test" in text
    assert text.count(".png)") == len(report["issues"]) + 1  # one link per issue, plus the sheet


@pytest.mark.parametrize("args, message", [
    (["--data", "tiny:test", "--top", "0"], "--top must be at least 1"),
    (["--data", "imagenet:test"], "unknown dataset"),
    (["--data", "hollow:test"], "empty"),
])
def test_wrong_options_say_what_is_wrong(args, message, tiny_dataset, tmp_path, monkeypatch):
    monkeypatch.setitem(registry._DATASETS, "hollow", data.DatasetInfo(
        name="hollow", description="no examples", splits=("test",),
        fetch=lambda: {"test": data.Arrays(np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.int64))}))
    result = runner.invoke(app, ["label-issues", *args, "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert message in result.output
