import json

import numpy as np
import pytest
from typer.testing import CliRunner

from digitscope.cli import app
from digitscope.data import distractors
from digitscope.inference.scores import digit_confidence
from digitscope.uncertainty.ood import auroc_fpr95, fragments, make_ood_sets


def test_auroc_and_fpr95_on_hand_made_scores():
    perfect = auroc_fpr95(np.array([0.9, 0.8, 0.95]), np.array([0.1, 0.2]))
    assert perfect == {"auroc": 1.0, "fpr95": 0.0}
    mixed = auroc_fpr95(np.linspace(0.5, 1, 100), np.linspace(0, 0.6, 100))
    assert 0.9 < mixed["auroc"] < 1.0 and 0 < mixed["fpr95"] < 0.3


def test_fragments_join_the_right_half_of_one_digit_to_the_left_half_of_the_next():
    a, b = np.zeros((28, 28), np.uint8), np.zeros((28, 28), np.uint8)
    a[8:20, 20:24] = 255  # ink only in a's right half
    b[8:20, 2:6] = 255  # and in b's left half
    piece = fragments(np.stack([a, b]))
    assert piece.shape == (1, 28, 28)
    columns = np.flatnonzero(piece[0].max(axis=0) > 128)
    assert columns.max() - columns.min() > 12  # two strokes with the gap between them, not one


def test_ood_sets_are_built_from_the_given_digits(make_digits):
    test = make_digits(60, 0).images
    sets = make_ood_sets(test, n=20, fashion=False)
    assert set(sets) == {"fragments", "letters", "noise", "blank", "inverted", "rotated"}
    assert all(s.shape == (20, 28, 28) and s.dtype == np.uint8 for s in sets.values())
    assert sets["blank"].max() <= 60


def test_ood_eval_command_reports_every_set_and_score(tiny_dataset):
    result = CliRunner().invoke(app, ["ood-eval", "--data", "tiny:test", "--n", "40", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert {"fragments", "letters", "noise", "blank", "inverted", "rotated"} <= set(report)
    assert report["blank"]["auroc"] == pytest.approx(1.0)  # blank images are refused before the model
    assert {"max-probability", "energy", "reject-rule"} <= set(report["noise"]["by_score"])


def test_letters_set_is_drawn_from_held_out_fonts_only(make_digits, monkeypatch):
    asked = []
    real_letters = distractors.letters

    def recording_letters(n, seed, fonts="train", *args, **kwargs):
        asked.append(fonts)
        return real_letters(n, seed, fonts, *args, **kwargs)

    monkeypatch.setattr(distractors, "letters", recording_letters)
    sets = make_ood_sets(make_digits(60, 0).images, n=30, fashion=False)
    assert asked == ["held-out"]
    assert sets["letters"].shape == (30, 28, 28)
    assert (sets["letters"] == real_letters(30, 0, "held-out")[0]).all()


def test_digit_confidence_is_the_top_digit_probability_with_or_without_a_not_a_digit_class():
    ten = np.array([[0.7, 0.2] + [0.0125] * 8])
    assert digit_confidence(ten) == pytest.approx([0.7])
    eleven = np.array([[0.3, 0.1] + [0.0] * 8 + [0.6],  # mostly "not a digit": low, though 0 leads the digits
                       [0.9, 0.05] + [0.0] * 8 + [0.05]])
    assert digit_confidence(eleven) == pytest.approx([0.3, 0.9])
