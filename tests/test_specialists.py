import json

import numpy as np
import pytest
import torch
from torch import nn
from typer.testing import CliRunner

import digitscope
from digitscope.analysis.pairs import compare_on_pairs, confused_pairs
from digitscope.cli import app
from digitscope.models import create_model
from digitscope.models.persist import load_model, save_model
from digitscope.models.specialists import SpecialistBundle, route
from digitscope.training.config import TrainConfig
from digitscope.training.loop import train
from digitscope.training.pair_specialists import choose_margin, specialist_config
from digitscope.training.warm_start import load_fitting_weights

TINY = dict(data="tiny", arch="quicknet", arch_kwargs={"width": 8}, epochs=2, batch_size=32, lr=2e-2,
            precision="fp32", rotate=0.0, scale=0.0, shift=0.0, shear=0.0)


class ReadsRow(nn.Module):
    """A stand-in model whose output is written into its input: row ``row`` holds the probabilities it gives."""

    def __init__(self, row: int, k: int):
        super().__init__()
        self.row, self.k = row, k

    def forward(self, x):
        return x[:, 0, self.row, :self.k].clamp_min(1e-9).log()


def _inputs(generalist_probs: list[list[float]], specialist_split: list[float]) -> torch.Tensor:
    x = torch.zeros(len(generalist_probs), 1, 28, 28)
    x[:, 0, 0, :10] = torch.tensor(generalist_probs)
    x[:, 0, 1, :2] = torch.tensor(specialist_split)
    return x


def _probs(top: dict[int, float]) -> list[float]:
    """Ten probabilities: the given ones, the rest of the mass spread over the other digits."""
    rest = (1 - sum(top.values())) / (10 - len(top))
    return [top.get(d, rest) for d in range(10)]


def test_only_the_pair_with_a_small_margin_goes_to_its_specialist():
    bundle = SpecialistBundle(ReadsRow(0, 10), [ReadsRow(1, 2)], pairs=[[4, 9]], threshold=0.2)
    rows = [
        _probs({4: 0.5, 9: 0.4}),   # the pair, margin 0.1: routed
        _probs({9: 0.45, 4: 0.4}),  # the pair in the other order, margin 0.05: routed
        _probs({4: 0.7, 9: 0.2}),   # the pair, margin 0.5: the generalist keeps it
        _probs({3: 0.5, 5: 0.4}),   # a close call, but no specialist for 3 and 5
        _probs({4: 0.5, 7: 0.4}),   # 4 is in the pair, its runner-up is not
    ]
    x = _inputs(rows, [0.25, 0.75])  # the specialist: 25% a 4, 75% a 9
    out = bundle(x).exp()
    generalist = torch.tensor(rows)
    torch.testing.assert_close(out.sum(1), torch.ones(5))
    for i in (0, 1):  # the pair's mass, split as the specialist says; the other digits untouched
        mass = generalist[i, 4] + generalist[i, 9]
        torch.testing.assert_close(out[i, [4, 9]], torch.stack([0.25 * mass, 0.75 * mass]))
        keep = [d for d in range(10) if d not in (4, 9)]
        torch.testing.assert_close(out[i, keep], generalist[i, keep])
    torch.testing.assert_close(out[2:], generalist[2:])
    assert route(generalist, bundle.pairs, 0.2).tolist() == [0, 0, -1, -1, -1]


def test_route_picks_the_matching_pair_among_several():
    probs = torch.tensor([_probs({1: 0.5, 7: 0.45}), _probs({9: 0.5, 4: 0.45}), _probs({7: 0.5, 9: 0.45})])
    assert route(probs, torch.tensor([[4, 9], [1, 7]]), 0.1).tolist() == [1, 0, -1]


def test_a_specialist_bundle_round_trips_through_save_and_load(tmp_path):
    torch.manual_seed(0)
    kwargs = {"generalist": {"arch": "quicknet", "arch_kwargs": {"width": 8}},
              "specialists": [{"arch": "quicknet", "arch_kwargs": {"width": 8}, "pair": [4, 9]},
                              {"arch": "lenet5", "arch_kwargs": {}, "pair": [3, 5]}],
              "threshold": 1.5, "generalist_temperature": 0.5}  # 1.5: every pair-topped image is routed
    bundle = create_model("specialists", **kwargs).eval()
    for m in bundle.modules():  # random BatchNorm statistics, so that the saved buffers matter
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
    with torch.no_grad():  # the generalist's top two are 4 and 9: its specialist decides
        bundle.generalist[-1].bias[[4, 9]] += 5.0
    save_model(tmp_path / "bundle", bundle, {"arch": "specialists", "arch_kwargs": kwargs})
    loaded, _ = load_model(tmp_path / "bundle")
    x = torch.rand(64, 1, 28, 28)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), bundle(x), rtol=0, atol=0)
        assert (route(bundle.generalist_probabilities(x), bundle.pairs, 1.5) >= 0).any()
    images = (np.random.default_rng(0).random((8, 28, 28)) * 255).astype(np.uint8)
    assert digitscope.load(tmp_path / "bundle").predict_proba(images).sum(1) == pytest.approx(np.ones(8), abs=1e-5)


def test_a_bundle_refuses_a_pair_twice_or_a_digit_it_does_not_have():
    base = {"generalist": {"arch": "quicknet", "arch_kwargs": {"width": 8}}, "threshold": 0.1}
    spec = {"arch": "quicknet", "arch_kwargs": {"width": 8}}
    with pytest.raises(ValueError, match="same pair"):
        create_model("specialists", **base, specialists=[{**spec, "pair": [4, 9]}, {**spec, "pair": [9, 4]}])
    with pytest.raises(ValueError, match="two different classes of 0-9"):
        create_model("specialists", **base, specialists=[{**spec, "pair": [4, 12]}])


def test_confused_pairs_from_a_hand_made_confusion_matrix():
    counts = np.diag(np.full(10, 500))
    counts[4, 9], counts[9, 4] = 3, 2  # 5 either way
    counts[3, 5] = 4
    counts[7, 1], counts[1, 7] = 1, 1  # 2 ...
    counts[2, 8] = 2  # ... and 2: the soft confusion breaks the tie
    soft = np.zeros((10, 10))
    soft[8, 2] = 3.0
    pairs = confused_pairs(counts, 3, soft)
    assert [p["pair"] for p in pairs] == [[4, 9], [3, 5], [2, 8]]
    assert pairs[0]["mistakes"] == 5 and (pairs[0]["first_as_second"], pairs[0]["second_as_first"]) == (3, 2)
    assert [p["pair"] for p in confused_pairs(counts, 10)] == [[4, 9], [3, 5], [1, 7], [2, 8]]  # no others


def test_confused_pairs_keep_to_the_classes_a_specialist_can_learn():
    counts = np.diag(np.full(11, 500))  # a gate: class 10 is "not a digit", which digit data has no images of
    counts[3, 10], counts[10, 3] = 6, 0
    counts[4, 9] = 2
    assert [p["pair"] for p in confused_pairs(counts, 2)] == [[3, 10], [4, 9]]
    assert [p["pair"] for p in confused_pairs(counts, 2, classes=np.arange(10))] == [[4, 9]]


def test_pair_errors_with_and_without():
    labels = np.array([4, 9, 4, 3, 5, 1])
    without = np.array([9, 4, 4, 5, 5, 7])
    with_ = np.array([4, 4, 4, 5, 3, 7])
    report = compare_on_pairs(labels, without, with_, [[4, 9], [3, 5]])
    assert [(p["errors_without"], p["errors_with"]) for p in report["pairs"]] == [(2, 1), (1, 2)]
    assert (report["errors_without"], report["errors_with"], report["changed"]) == (4, 4, 2)


def test_the_margin_is_chosen_where_routing_helps_most():
    labels = np.array([4, 4, 9, 4, 0])
    probs = np.zeros((5, 10))
    probs[:, [4, 9]] = [[0.48, 0.52], [0.45, 0.55], [0.35, 0.65], [0.8, 0.2], [0.0, 0.0]]
    probs[4, 0] = 1.0
    routed = probs.copy()
    routed[:3, [4, 9]] = [[0.9, 0.1], [0.9, 0.1], [0.9, 0.1]]  # fixes the first two, breaks the third
    margin = np.abs(probs[:, 4] - probs[:, 9])  # 0.04, 0.10, 0.30, 0.60, 0
    candidate = np.array([True, True, True, True, False])
    chosen = choose_margin(labels, probs, routed, margin, candidate)
    assert chosen["routed"] == 2 and 0.10 < chosen["threshold"] < 0.30
    assert (chosen["errors_without"], chosen["errors_with"]) == (2, 0)


def test_training_on_two_classes_makes_a_two_class_model(tiny_dataset, tmp_path):
    card = train(TrainConfig(**TINY, classes="7,3"), tmp_path / "pair", progress=False)
    assert card["arch_kwargs"]["num_classes"] == 2 and card["metrics"]["selected"]["val_accuracy"] > 0.9
    test = digitscope.data.load("tiny:test")
    keep = np.isin(test.labels, [7, 3])
    answers = digitscope.load(tmp_path / "pair").predict(test.images[keep])
    assert (answers == (test.labels[keep] == 3)).mean() > 0.9  # 7 is class 0, 3 is class 1
    with pytest.raises(ValueError, match="the data has classes 0-9"):
        train(TrainConfig(**TINY, classes="3,12"), tmp_path / "bad", progress=False)


def test_a_specialist_starts_from_its_generalist_but_for_the_final_layer(tiny_dataset, tmp_path):
    train(TrainConfig(**{**TINY, "epochs": 1}), tmp_path / "generalist", progress=False)
    generalist = digitscope.load(tmp_path / "generalist").model
    specialist = create_model("quicknet", width=8, num_classes=2)
    load_fitting_weights(specialist, str(tmp_path / "generalist"))
    torch.testing.assert_close(specialist[1][0].weight, generalist[1][0].weight)  # the first convolution
    assert specialist[-1].weight.shape == (2, generalist[-1].in_features)  # a fresh two-class layer
    recipe = specialist_config(tmp_path / "generalist", "fast", arch_kwargs={"width": 8})
    assert recipe.init == str(tmp_path / "generalist") and recipe.data == "tiny"
    assert specialist_config(tmp_path / "generalist", "fast").init == ""  # width 24: nothing to start from
    assert specialist_config(tmp_path / "generalist", "fast", True, arch_kwargs={"width": 8}).init == ""


def test_specialists_command_builds_a_bundle_that_works_everywhere(tiny_dataset, tmp_path):
    train(TrainConfig(**{**TINY, "epochs": 1}), tmp_path / "generalist", progress=False)
    runner = CliRunner()
    args = ["specialists", "--model", str(tmp_path / "generalist"), "--top-k", "2", "--out", str(tmp_path / "sp"),
            "--preset", "fast", "--epochs", "1", "--compare-on", "tiny:test", "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert len(report["specialists"]) == 2 and report["comparison"]["n"] == 200
    pairs = [p["pair"] for p in report["confused_pairs"]]
    assert [p["pair"] for p in report["comparison"]["pairs"]] == pairs
    evaluated = runner.invoke(app, ["evaluate", "--model", str(tmp_path / "sp"), "--data", "tiny:test", "--json"])
    assert evaluated.exit_code == 0, evaluated.output
    assert json.loads(evaluated.stdout)["accuracy"] == report["comparison"]["accuracy_with"]
    calibrated = runner.invoke(app, ["calibrate", "--model", str(tmp_path / "sp"), "--data", "tiny:val", "--json"])
    assert calibrated.exit_code == 0, calibrated.output


def test_specialists_of_a_gate_split_the_digits_mass_and_keep_its_doubt(tiny_dataset, tmp_path):
    from scipy.special import softmax

    from digitscope.inference.backends import OnnxBackend
    from digitscope.inference.export import export_onnx, quantize_int8
    from digitscope.uncertainty.not_a_digit import combine_gate

    train(TrainConfig(**{**TINY, "epochs": 1}), tmp_path / "reader", progress=False)
    torch.manual_seed(1)
    save_model(tmp_path / "detector", create_model("quicknet", num_classes=11, width=8).eval(),
               {"arch": "quicknet", "arch_kwargs": {"num_classes": 11, "width": 8}, "data": {"name": "tiny"}})
    combine_gate(tmp_path / "reader", tmp_path / "detector", tmp_path / "gate")
    result = CliRunner().invoke(app, ["specialists", "--model", str(tmp_path / "gate"), "--top-k", "1", "--out",
                                      str(tmp_path / "sp"), "--preset", "fast", "--epochs", "1", "--json"])
    assert result.exit_code == 0, result.output
    bundle, gate = (digitscope.load(p, backend="torch") for p in (tmp_path / "sp/model", tmp_path / "gate"))
    assert bundle.num_classes == 11 and bundle.card.arch_kwargs["generalist"]["arch"] == "gate"
    images = digitscope.data.load("tiny:test").images
    probs, before = bundle.predict_proba(images), gate.predict_proba(images)
    np.testing.assert_allclose(probs.sum(1), 1, atol=1e-5)
    np.testing.assert_allclose(probs[:, 10], before[:, 10], atol=1e-5)  # "not a digit" is the gate's to say
    # Its digits are the gate's reader's: what embeds them or starts from them finds that network.
    assert bundle.digit_network is bundle.model.generalist.reader
    assert bundle.embed(images[:4]).shape == gate.embed(images[:4]).shape
    copy = create_model("quicknet", width=8, num_classes=10)
    load_fitting_weights(copy, str(tmp_path / "sp/model"))
    torch.testing.assert_close(copy[-1].weight, gate.model.reader[-1].weight)
    fast = digitscope.load(tmp_path / "sp/model", backend="onnxruntime").logits(images)
    np.testing.assert_allclose(softmax(fast, 1), probs, atol=1e-4)
    # Quantized, the routing once crashed onnxruntime: the int8 graph runs and mostly agrees.
    int8 = OnnxBackend(quantize_int8(export_onnx(bundle.model), images[:100])).logits(images)
    assert int8.shape == probs.shape and (int8.argmax(1) == probs.argmax(1)).mean() > 0.9
