import builtins
import json
import shutil
from dataclasses import replace

import numpy as np
import pytest
from conftest import synthetic_digits

import digitscope
from digitscope import data
from digitscope.analysis import evaluate
from digitscope.data import distractors
from digitscope.data.distractors import EXCLUDED, HELD_OUT_FONTS, KINDS, NOT_A_DIGIT, TRAINING_FONTS
from digitscope.inference.classifier import DigitClassifier
from digitscope.preprocess import is_blank
from digitscope.training.loop import TrainConfig, train

TINY = dict(data="tiny", arch="quicknet", epochs=3, batch_size=32, lr=2e-2, precision="fp32",
            arch_kwargs={"width": 8}, rotate=0.0, scale=0.0, shift=0.0, shear=0.0, distractors=0.3)


def test_letters_never_include_a_digit_in_disguise():
    made = distractors.generate(800, seed=0, mix={"letter": 1.0})
    drawn = set(made.glyphs)
    assert drawn and not drawn & set(EXCLUDED)
    assert {"O", "o", "l", "I", "S", "Z", "B", "g", "q"} <= set(EXCLUDED)
    assert len(drawn) > 30  # every other letter turns up
    lowercase_out = distractors.generate(300, seed=1, mix={"letter": 1.0}, excluded=EXCLUDED + "acdefhijkmnprtuvwxy")
    assert all(g.isupper() for g in lowercase_out.glyphs)


def test_held_out_fonts_are_never_training_fonts():
    assert not set(TRAINING_FONTS) & set(HELD_OUT_FONTS)
    train_files, held_out_files = distractors.find_fonts("train"), distractors.find_fonts("held-out")
    assert not {p.stem for p in train_files} & {p.stem for p in held_out_files}
    for path in train_files + held_out_files:  # a family prefix never claims a file of the other split
        assert (distractors.family_of(path, "train") is None) != (distractors.family_of(path, "held-out") is None)
    _, _, fonts = distractors.letters(200, seed=0, fonts="held-out")
    assert set(fonts) <= {p.stem for p in held_out_files}
    assert any(f.startswith(("femkeklaver", "BecauseWe", "DancingScript")) for f in fonts)  # handwriting included


def test_missing_fonts_give_an_error_that_says_what_to_install(tmp_path):
    with pytest.raises(distractors.FontsNotFoundError, match="apt-get install .*fonts-bwht"):
        distractors.find_fonts("train", dirs=(tmp_path,))


def test_fragments_and_half_digits_are_cut_from_the_given_digits_only(make_digits):
    digits = make_digits(40, 0)
    made = distractors.generate(300, seed=0, digits=digits, mix={"fragment": 0.5, "half-digit": 0.5})
    fragment, half = made.kinds == "fragment", made.kinds == "half-digit"
    assert fragment.any() and half.any()
    assert ((made.sources[fragment, 1] == made.sources[fragment, 0] + 1) & (made.sources[fragment, 1] < 40)).all()
    assert ((0 <= made.sources[half, 0]) & (made.sources[half, 0] < 40)).all()
    assert (digits.labels[made.sources[half, 0]] != 1).all()  # half a 1 is still a 1
    blank_digits = data.Arrays(np.zeros_like(digits.images), digits.labels)
    from_blanks = distractors.generate(100, seed=0, digits=blank_digits, mix={"fragment": 0.5, "half-digit": 0.5})
    assert from_blanks.images.max() == 0  # nothing but the given digits' ink goes into them


def test_every_kind_comes_out_in_canonical_mnist_form(make_digits):
    made = distractors.generate(600, seed=3, digits=make_digits(60, 0))
    assert made.images.shape == (600, 28, 28) and made.images.dtype == np.uint8
    assert set(made.kinds) == set(KINDS)
    inked = [im for im in made.images if not is_blank(im)]
    sides = [max(np.ptp(np.flatnonzero(im.any(1))), np.ptp(np.flatnonzero(im.any(0)))) + 1 for im in inked]
    assert min(sides) >= 18 and max(sides) <= 20  # the 20-px box of to_mnist
    mass = np.stack(inked).astype(np.float64)
    centre = (mass.sum(axis=(0, 2)) @ np.arange(28)) / mass.sum()
    assert 13 < centre < 15
    assert (made.arrays.labels == NOT_A_DIGIT).all()


def test_generation_is_reproducible_and_cached_with_a_checksum(data_home, make_digits):
    digits = make_digits(30, 0)
    first = distractors.cached(120, seed=7, digits=digits)
    files = list(data_home.glob("distractors-*.npz"))
    assert len(files) == 1
    again = distractors.cached(120, seed=7, digits=digits)
    assert again.checksum == first.checksum == distractors.generate(120, seed=7, digits=digits).checksum
    with np.load(files[0]) as z:  # a corrupted cache is noticed and made again
        tampered = {k: z[k] for k in z.files}
    tampered["images"] = np.zeros_like(tampered["images"])
    np.savez(files[0], **tampered)
    assert distractors.cached(120, seed=7, digits=digits).checksum == first.checksum
    assert distractors.cached(120, seed=8, digits=digits).checksum != first.checksum


# ---------------------------------------------------------------- training with a "not a digit" class

@pytest.fixture(scope="module")
def eleven_class_run(tmp_path_factory):
    """One 11-class model trained on the tiny bars, shared by the tests below (its own cache and folder)."""
    home = tmp_path_factory.mktemp("eleven")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DIGITSCOPE_DATA", str(home / "data"))
        data.register(data.DatasetInfo(
            name="tiny", description="synthetic bars for tests", splits=("train", "val", "test"),
            fetch=lambda: {"train": synthetic_digits(640, 1), "val": synthetic_digits(200, 2),
                           "test": synthetic_digits(200, 3)}))
        card = train(TrainConfig(**TINY), home / "run", progress=False)
        yield card, home / "run"


@pytest.fixture
def eleven_class_model(eleven_class_run, tmp_path):
    """A copy of the shared run, free to recalibrate."""
    card, run = eleven_class_run
    shutil.copytree(run, tmp_path / "run")
    return card, digitscope.load(tmp_path / "run")


def test_an_eleven_class_model_answers_not_a_digit_for_distractors(eleven_class_model):
    card, model = eleven_class_model
    assert model.num_classes == 11 and model.knows_not_a_digit
    assert card["distractors"]["class"] == NOT_A_DIGIT and card["distractors"]["share"] == 0.3
    assert card["distractors"]["train"]["seed"] != card["distractors"]["val"]["seed"]
    assert card["distractors"]["train"]["checksum"] != card["distractors"]["val"]["checksum"]
    assert "val_digit_accuracy" in card["history"][-1]

    unseen = distractors.generate(60, seed=99, digits=data.load("tiny:val"), mix={"letter": 0.5, "scribble": 0.5})
    answers = model.classify(unseen.images, [f"d{i}" for i in range(60)])
    assert np.mean([a.reason == "not_a_digit" and a.rejected for a in answers]) > 0.8
    assert all(a.digit in range(10) and len(a.probabilities) == 10 and a.not_a_digit is not None for a in answers)
    refused = next(a for a in answers if a.reason == "not_a_digit")
    assert refused.not_a_digit > max(refused.probabilities)
    assert sum(refused.probabilities) + refused.not_a_digit == pytest.approx(1, abs=1e-4)

    test = data.load("tiny:test")
    digits = model.classify(test.images, [f"t{i}" for i in range(len(test))])
    assert np.mean([a.digit == y and not a.rejected for a, y in zip(digits, test.labels, strict=True)]) > 0.9
    assert {"digit", "confidence", "probabilities", "rejected", "reason", "not_a_digit"} <= set(digits[0].to_dict())
    assert model.predict_proba(test.images[:5]).shape == (5, 11)
    assert (model.predict(unseen.images) == NOT_A_DIGIT).mean() > 0.8


def test_evaluation_scores_the_digit_given_and_counts_not_a_digit_answers_as_refusals(eleven_class_model):
    _, model = eleven_class_model
    test = data.load("tiny:test")
    report = evaluate(model, "tiny:test")
    probs = model.predict_proba(test.images)
    answers = model.predict(test.images)
    assert report["accuracy"] == pytest.approx((probs[:, :NOT_A_DIGIT].argmax(1) == test.labels).mean())
    assert report["accuracy_not_a_digit_wrong"] == pytest.approx((answers == test.labels).mean())
    assert report["not_a_digit_rate"] == pytest.approx((answers == NOT_A_DIGIT).mean())
    calibrated = evaluate(DigitClassifier(model.model, replace(model.card, reject={"score": "digit-confidence",
                                                                                  "threshold": 0.0})), "tiny:test")
    assert calibrated["selective"]["coverage"] == pytest.approx(1 - report["not_a_digit_rate"])  # refused: not answered


def test_calibration_and_reject_rule_work_for_an_eleven_class_model(eleven_class_model, tmp_path):
    from digitscope.uncertainty.calibration import calibrate_model

    result = calibrate_model(tmp_path / "run", "tiny:val", max_risk=0.05)
    assert result["reject"]["score"] == "digit-confidence"
    model = digitscope.load(tmp_path / "run")
    probs = model.predict_proba(data.load("tiny:test").images)
    assert model.is_uncertain(probs).shape == (len(probs),)
    assert "selective" in evaluate(model, "tiny:test")


def test_ood_eval_of_an_eleven_class_model_uses_its_digit_confidence(eleven_class_model):
    from digitscope.uncertainty.ood import ood_eval

    report = ood_eval(eleven_class_model[1], "tiny:test", n=40, fashion=False)
    assert {"fragments", "letters", "noise", "blank", "inverted", "rotated"} <= set(report)
    assert {"is-a-digit", "max-probability", "energy", "reject-rule"} <= set(report["letters"]["by_score"])
    assert report["letters"]["auroc"] > 0.9  # letters are not bars, and this model was taught so


# ---------------------------------------------------------------- Fashion-MNIST stays out of training

def test_fashion_mnist_cannot_be_trained_on(data_home, tmp_path):
    with pytest.raises(ValueError, match="evaluation-only"):
        train(TrainConfig(**{**TINY, "data": "fashion"}), tmp_path / "run", progress=False)


def test_training_with_distractors_reads_no_fashion_and_no_test_data(tiny_dataset, data_home, tmp_path,
                                                                      monkeypatch, make_digits):
    data.load("tiny:train")  # the tiny splits are in the cache, as MNIST's are ...
    data.cache.save_arrays(data_home / "fashion-test.npz", make_digits(50, 9))  # ... and Fashion-MNIST's
    opened = []
    real_open = builtins.open

    def recording_open(file, *args, **kwargs):
        opened.append(str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", recording_open)
    monkeypatch.setattr(data, "load", _refuse_evaluation_only(data.load))
    card = train(TrainConfig(**{**TINY, "epochs": 1}), tmp_path / "run", progress=False)
    monkeypatch.undo()
    assert card["distractors"]["train"]["n"] > 0
    assert any("tiny-train" in f for f in opened)
    assert not [f for f in opened if "fashion" in f or "-test" in f]
    json.loads((tmp_path / "run" / "model.json").read_text())


def _refuse_evaluation_only(load):
    def guarded(spec: str):
        if not data.get_dataset(spec.partition(":")[0]).trainable or spec.endswith(":test"):
            raise AssertionError(f"training read {spec}")
        return load(spec)

    return guarded


def test_distractors_join_the_non_digits_a_dataset_has_of_its_own(data_home):
    """mnist-candidates already labels the Reader's mis-cuts 'not a digit': --distractors adds to them, and
    cuts its fragments from the digits only."""
    import torch

    from digitscope.training.splits import append_distractors

    digits = synthetic_digits(200, 0)
    x, y = torch.from_numpy(digits.images).unsqueeze(1), torch.from_numpy(digits.labels).clone()
    y[:20] = NOT_A_DIGIT
    x_train, y_train, _, y_val, card = append_distractors(TrainConfig(distractors=0.2), x, y, x, y)
    assert (y_train == NOT_A_DIGIT).sum() == 20 + card["train"]["n"] and card["train"]["n"] > 0
    assert len(x_train) == len(y_train) and (y_val == NOT_A_DIGIT).sum() == 20 + card["val"]["n"]
    y[0] = NOT_A_DIGIT + 1
    with pytest.raises(ValueError, match="labels 0-9"):
        append_distractors(TrainConfig(distractors=0.2), x, y, x, y)
