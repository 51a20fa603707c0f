"""The line reader (CRNN + CTC): its targets and the probability it gives a text, the cut graph made to read a given
text, the Reader choosing between its own reading and the line reader's, the amount strings and their dataset, and
training it in the one loop."""

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image
from test_reading import digit, write
from test_reading_amounts import amount
from typer.testing import CliRunner

import digitscope
from digitscope import data
from digitscope.cli import app
from digitscope.data import synthetic
from digitscope.models import create_model
from digitscope.models.linenet import BLANK, COLUMNS, LINE_CLASSES
from digitscope.preprocess import LINE_SIZE
from digitscope.reading import Reader, line_sets
from digitscope.reading import line_model as lines
from digitscope.reading.path import best_path
from digitscope.training.loop import TrainConfig, train
from digitscope.uncertainty.deep_ensemble import combine_members

SAMPLE = Path(__file__).parent / "data" / "mnist-test-sample.npz"


@pytest.fixture(scope="module")
def digits():
    with np.load(SAMPLE) as f:
        return f["images"], f["labels"].astype(np.int64)


def spelled(text: str, sure: float = 20.0, first: int = 1) -> torch.Tensor:
    """(COLUMNS, LINE_CLASSES) logits of a line reader sure of `text` (up to 10 digits): each digit in two columns of
    its own from column `first` on, blank columns around."""
    out = torch.zeros(COLUMNS, LINE_CLASSES)
    out[:, BLANK] = sure
    for k, c in enumerate(text):
        start = first + 4 * k
        out[start:start + 2, BLANK] = 0.0
        out[start:start + 2, int(c)] = sure
    return out


class SpellingLineModel(torch.nn.Module):
    """A line reader that reads every line as one text."""

    def __init__(self, text: str):
        super().__init__()
        self.logits = spelled(text)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.logits.expand(len(x), -1, -1)


def test_the_probability_of_a_text_sums_every_column_labelling_that_spells_it():
    # Two columns, each "3" or blank at even odds: "3" is spelled by 3-3, 3-blank and blank-3.
    two = np.full((2, LINE_CLASSES), -np.inf)
    two[:, [3, BLANK]] = np.log(0.5)
    assert np.exp(lines.text_log_probs(two, ["3", "", "33"])) == pytest.approx([0.75, 0.25, 0.0], abs=1e-6)
    # Repeats merge unless a blank parts them.
    sure = spelled("1122").log_softmax(-1).numpy()
    assert lines.greedy_texts(sure[None]) == ["1122"]
    assert np.exp(lines.text_log_probs(sure, ["1122", "12"])) == pytest.approx([1.0, 0.0], abs=1e-6)


def test_an_ensemble_of_line_readers_reads_the_text_its_members_together_find_likeliest():
    # Two members read "1990" with their spikes two columns apart, the third reads "7990": the mean of their columns
    # would blur the first two, the geometric mean of their probabilities of each text reads 1990.
    members = np.stack([spelled("1990").log_softmax(-1).numpy(), spelled("1990", first=3).log_softmax(-1).numpy(),
                        spelled("7990").log_softmax(-1).numpy()])
    texts = ["1990", "7990", "990"]
    each = np.stack([lines.text_log_probs(m, texts) for m in members])
    assert lines.text_log_probs(members, texts) == pytest.approx(each.mean(0))
    assert lines.read_texts(members[None]) == ["1990"]
    assert lines.read_texts(members[None, 2:]) == ["7990"]  # one line reader: its own greedy text


def test_targets_hold_the_length_and_the_digits_and_refuse_what_no_line_can_hold():
    y = lines.line_targets(["7", "1990", "0123456789"])
    assert y[:, 0].tolist() == [1, 4, 10] and y[1, 1:6].tolist() == [1, 9, 9, 0, 0]
    assert lines.target_texts(y) == ["7", "1990", "0123456789"]
    for bad in ("", "12345678901", "1.990"):
        with pytest.raises(ValueError, match="1-10 digits"):
            lines.line_targets([bad])
    logits = torch.stack([spelled("7"), spelled("1990"), spelled("0123")])
    assert lines.line_correct(logits, torch.from_numpy(y)).tolist() == [True, True, False]
    y = torch.from_numpy(y)
    assert lines.line_loss(logits[:2], y[:2]) < 1e-3 < lines.line_loss(logits[2:], y[2:])


def test_a_path_made_to_read_a_given_text():
    # Three atoms: "1", then a "7" cut in two pieces. Each edge scored as the text's first and second digit.
    starts, ends = np.array([0, 1, 2, 1]), np.array([1, 2, 3, 3])
    is_digit = np.ones(4, bool)
    free = np.log([0.9, 0.6, 0.6, 0.3])  # alone, the pieces read as two digits beat the whole 7
    assert best_path(3, starts, ends, free, is_digit) == [0, 1, 2]
    as_17 = np.log([[0.9, 0.01], [0.01, 0.05], [0.01, 0.05], [0.01, 0.3]])  # columns: as "1", as "7"
    assert best_path(3, starts, ends, as_17, is_digit, 2) == [0, 3]
    with pytest.raises(ValueError, match="need the length"):
        best_path(3, starts, ends, as_17, is_digit)


def test_the_reader_takes_the_line_readers_text_where_it_is_sure_and_the_cuts_give_its_boxes(digits):
    image, boxes = write([digit(digits, 3), digit(digits, 8)], [14])
    plain = Reader().read(image)
    assert plain.text == "38"
    # A line reader sure of "36" outweighs the classifier's doubt that the 8 is a 6; the boxes stay the cuts'.
    overruled = Reader(line_model=SpellingLineModel("36")).read(image)
    assert overruled.text == "36"
    assert [d.box for d in overruled.digits] == [d.box for d in plain.digits]
    assert overruled.digits[1].digit == 6
    # A text with more digits than there are pieces of ink has no path: the segmentation's reading stands.
    assert Reader(line_model=SpellingLineModel("3888888888")).read(image).text == "38"
    # And one the line reader agrees with is read the same.
    agreed = Reader(line_model=SpellingLineModel("38")).read(image)
    assert agreed.text == "38" and not agreed.rejected


def test_amount_strings_carry_marks_beside_their_digits(digits):
    strings = synthetic.amount_strings(*digits, n=60, seed=3, min_len=4, max_len=6)
    marked = 0
    for page, text, boxes in zip(strings.images, strings.texts, strings.boxes, strict=True):
        assert text.isdigit() and len(boxes) == len(text) and 4 <= len(text) <= 6
        ink = page < 128
        assert (boxes[:, :2] >= 0).all()
        assert (boxes[:, 2] <= page.shape[1]).all() and (boxes[:, 3] <= page.shape[0]).all()
        inside = np.zeros_like(ink)
        for x0, y0, x1, y1 in boxes:
            assert ink[y0:y1, x0:x1].any()  # the digit is where its box says
            inside[y0:y1, x0:x1] = True
        marked += bool((ink & ~inside).any())
    assert 10 < marked < 60  # separators, underlines and dashes: on many amounts, not on all


@pytest.fixture
def small_line_sets(data_home, monkeypatch, digits):
    """amount-lines from 40 real MNIST test digits, as European and American alike, and synthetic amounts in place
    of ORAND's."""
    images, labels = digits
    monkeypatch.setattr(line_sets, "digits_of_writers", lambda european, american: (images, labels))
    monkeypatch.setattr(line_sets, "STRINGS", {"strings": ("", "", 256, 0), "strings-val": ("", "", 32, 1)})
    fake = {side: synthetic.amount_strings(images, labels, 16, seed, min_len=3, max_len=6)
            for side, seed in (("fit", 5), ("choose", 6))}
    monkeypatch.setattr(line_sets, "orand_amounts", lambda side: SimpleNamespace(images=fake[side].images,
                                                                               texts=fake[side].texts))


def test_the_line_dataset_holds_lines_of_one_size_and_their_texts(small_line_sets):
    train_lines = data.load("amount-lines:train")
    assert train_lines.images.shape == (256 + 16, *LINE_SIZE) and train_lines.images.dtype == np.uint8
    assert train_lines.labels.shape == (272, 11)
    assert (train_lines.images.reshape(272, -1).max(1) > 128).all()  # every line holds ink
    assert len(data.load("amount-lines:val")) == 16 + 32


def test_the_one_training_loop_trains_the_line_reader(small_line_sets, tmp_path):
    card = train(TrainConfig(
        arch="linenet", data="amount-lines", epochs=2, batch_size=32, precision="fp32", label_smoothing=0.0,
        part_weights="1,4", rotate=2.0, shear=12.0, thickness=0.5, arch_kwargs={"width": 8, "hidden": 32}),
        tmp_path / "lines", progress=False)
    assert card["arch"] == "linenet" and card["arch_kwargs"]["num_classes"] == LINE_CLASSES
    assert card["history"][1]["train_loss"] < card["history"][0]["train_loss"]
    model, _ = lines.load_line_model(tmp_path / "lines/model")
    log_probs = lines.line_log_probs(model, data.load("amount-lines:val").images[:4])
    assert log_probs.shape == (4, 1, COLUMNS, LINE_CLASSES)
    assert np.exp(log_probs).sum(-1) == pytest.approx(np.ones((4, 1, COLUMNS)), abs=1e-4)
    with pytest.raises(ValueError, match="not a line reader"):
        lines.load_line_model("default")
    with pytest.raises(ValueError, match="not one digit"):
        digitscope.load(tmp_path / "lines/model")


def test_line_readers_trained_apart_combine_into_one_line_reader_that_keeps_each_members_columns(small_line_sets,
                                                                                                 tmp_path):
    recipe = dict(arch="linenet", data="amount-lines", epochs=1, batch_size=32, precision="fp32", label_smoothing=0.0,
                  arch_kwargs={"width": 8, "hidden": 32})
    for seed in (0, 1):
        train(TrainConfig(**recipe, seed=seed), tmp_path / f"lines-{seed}", progress=False)
    card = combine_members([tmp_path / "lines-0", tmp_path / "lines-1"], tmp_path / "both")
    assert card.arch == "line_ensemble" and card.reads == "line" and len(card.members) == 2
    both, _ = lines.load_line_model(tmp_path / "both")  # the Reader takes it as it takes one line reader
    images = data.load("amount-lines:val").images[:4]
    members = [lines.line_log_probs(lines.load_line_model(tmp_path / f"lines-{s}/model")[0], images) for s in (0, 1)]
    assert lines.line_log_probs(both, images) == pytest.approx(np.concatenate(members, axis=1), abs=1e-4)
    exported = lines.line_log_probs(lines.line_backend(both), images)  # onnxruntime, as the Reader runs it
    assert exported == pytest.approx(np.concatenate(members, axis=1), abs=1e-3)
    with pytest.raises(ValueError, match="all read digits or all read lines"):
        combine_members([tmp_path / "lines-0", "default"], tmp_path / "mixed")


def test_a_line_reader_refuses_the_options_of_one_digit_per_image(small_line_sets, tmp_path):
    with pytest.raises(ValueError, match="line reader.*--distractors"):
        train(TrainConfig(arch="linenet", data="amount-lines", epochs=1, label_smoothing=0.0, distractors=0.1),
              tmp_path / "bad", progress=False)


def test_an_untrained_line_reader_takes_a_batch_of_lines():
    model = create_model("linenet", width=8, hidden=16).eval()
    with torch.no_grad():
        assert model(torch.rand(3, 1, *LINE_SIZE)).shape == (3, COLUMNS, LINE_CLASSES)


def test_the_bundled_line_readers_rule_refuses_a_scribble_and_holds_for_its_classifier_only(amounts_reader):
    rng = np.random.default_rng(0)
    scribble = np.full((60, 200), 255, np.uint8)
    for _ in range(6):  # thick random strokes across the page
        x, y = rng.integers(10, 190, 2), rng.integers(5, 55, 2)
        for t in np.linspace(0, 1, 200):
            cx, cy = int(x[0] + t * (x[1] - x[0])), int(y[0] + t * (y[1] - y[0]) + 8 * np.sin(9 * t))
            scribble[max(0, cy - 2):cy + 2, max(0, cx - 2):cx + 2] = 0
    assert amounts_reader.read(scribble).rejected
    assert amounts_reader.number_threshold is not None  # its own rule, at the risk it was fitted for
    with pytest.raises(ValueError, match="fitted with a .* classifier"):
        Reader(digitscope.load("default"), line_model="amounts")
    # Another risk: the same models, a lower threshold for a higher risk.
    riskier = amounts_reader.at_risk(0.10)
    assert riskier.line_model is amounts_reader.line_model and riskier.classifier is amounts_reader.classifier
    assert riskier.number_threshold < amounts_reader.number_threshold
    # A line reader with no rule of its own cannot borrow the classifier's: its confidence is another quantity.
    with pytest.raises(ValueError, match="no reject rule"):
        Reader(line_model=SpellingLineModel("38"), max_risk=0.02)


def test_read_takes_a_line_reader_by_name_and_says_when_a_model_is_none(digits, tmp_path):
    image, _ = amount(digits, "1990", 0)
    path = tmp_path / "amount.png"
    Image.fromarray(image).save(path)
    result = CliRunner().invoke(app, ["read", str(path), "--line-model", "amounts", "--json"])
    assert result.exit_code == 0, result.output
    assert '"text": "1990"' in result.output
    wrong = CliRunner().invoke(app, ["read", str(path), "--line-model", "default"])
    assert wrong.exit_code != 0 and "not a line reader" in wrong.output


def test_the_pairs_reject_rule_is_fitted_on_real_and_new_writers_amounts(small_line_sets):
    from digitscope.reading.fitting import fit_line_risk

    classifier = digitscope.load("reading")
    rule = fit_line_risk(classifier, SpellingLineModel("380"), default_risk=0.05, amounts=20)
    assert rule["sets"] == {"orand-car-a choose": 16, "amounts of new writers": 20}
    assert rule["classifier_arch"] == classifier.card.arch and rule["default_risk"] == 0.05
    thresholds, coverage, risk = np.array(rule["curve"]).T
    assert (np.diff(coverage) > 0).all() and (np.diff(risk) > 0).all()  # each point answers more at more risk
    with pytest.raises(ValueError, match="default risk"):
        fit_line_risk(classifier, SpellingLineModel("380"), default_risk=1.5)
