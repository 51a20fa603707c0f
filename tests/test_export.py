"""ONNX export and the inference backends: the exported graph answers like PyTorch, for single models and
ensembles, and the fast backend is chosen where it can run."""

from __future__ import annotations

import json
import sys

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from drawn_digits import SHAPES, drawing
from typer.testing import CliRunner

import digitscope
from digitscope.cli import app
from digitscope.inference.backends import resolve_backend
from digitscope.inference.export import PARITY_TOLERANCE, export_onnx
from digitscope.models import create_model
from digitscope.models.persist import save_model
from digitscope.preprocess import to_mnist


def digits() -> np.ndarray:
    """(N, 28, 28) uint8: drawn digits through the one preprocessing path, blanks, and noise."""
    drawn = [to_mnist(np.asarray(drawing(d))) for d in "01247"]
    noise = np.random.default_rng(0).integers(0, 256, (59, 28, 28), dtype=np.uint8)
    return np.concatenate([np.stack(drawn), np.zeros((1, 28, 28), np.uint8), noise])


@pytest.fixture
def ensemble_path(tmp_path):
    """A saved two-member ensemble with a calibration temperature, as `ensemble combine` writes one."""
    torch.manual_seed(0)
    members = [{"arch": "quicknet", "arch_kwargs": {"width": 8}}, {"arch": "lenet5", "arch_kwargs": {}}]
    model = create_model("ensemble", members=members)
    save_model(tmp_path / "ens", model, {"arch": "ensemble", "arch_kwargs": {"members": members, "num_classes": 10},
                                         "calibration": {"temperature": 0.5}})
    return tmp_path / "ens"


def max_difference(model: str, images: np.ndarray) -> float:
    reference = digitscope.load(model, backend="torch").predict_proba(images)
    return float(np.abs(digitscope.load(model, backend="onnxruntime").predict_proba(images) - reference).max())


def test_onnxruntime_gives_the_probabilities_and_answers_of_pytorch_for_the_default_model():
    images, names = digits(), [str(i) for i in range(len(digits()))]
    fast, reference = digitscope.load("default", backend="onnxruntime"), digitscope.load("default", backend="torch")
    assert np.abs(fast.predict_proba(images) - reference.predict_proba(images)).max() <= PARITY_TOLERANCE
    decisions = [[(p.digit, p.rejected, p.reason) for p in c.classify(images, names)] for c in (fast, reference)]
    assert decisions[0] == decisions[1]
    assert list(fast.predict(images[:5])) == [0, 1, 2, 4, 7]


def test_onnxruntime_gives_the_probabilities_of_pytorch_for_an_ensemble(ensemble_path):
    assert max_difference(str(ensemble_path), digits()) <= PARITY_TOLERANCE


def test_exported_file_takes_any_batch_of_uint8_digits_and_carries_the_calibration(ensemble_path, tmp_path):
    out = tmp_path / "ens.onnx"
    result = CliRunner().invoke(app, ["export", "--model", str(ensemble_path), "--format", "onnx", "--out", str(out),
                                      "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["arch"] == "ensemble" and report["parity_max_probability_difference"] <= PARITY_TOLERANCE
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    (graph_input,) = session.get_inputs()
    assert graph_input.name == "images" and graph_input.type == "tensor(uint8)"
    images = digits()
    expected = digitscope.load(str(ensemble_path), backend="torch").logits(images)
    for n in (1, 7, len(images)):  # the batch dimension is free
        (logits,) = session.run(None, {"images": images[:n, None]})
        assert logits.shape == (n, 10)
        np.testing.assert_allclose(logits, expected[:n], atol=1e-4)
    card = json.loads({p.key: p.value for p in onnx.load(str(out)).metadata_props}["digitscope_card"])
    assert card["calibration"]["temperature"] == 0.5 and card["arch"] == "ensemble"


def test_float_input_export_takes_pixels_in_0_1(tmp_path):
    out = tmp_path / "default-float.onnx"
    result = CliRunner().invoke(app, ["export", "--out", str(out), "--input", "float32", "--json"])
    assert result.exit_code == 0, result.output
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    images = digits()
    (logits,) = session.run(None, {"images": images[:, None].astype(np.float32) / 255})
    np.testing.assert_allclose(logits, digitscope.load("default", backend="torch").logits(images), atol=1e-3)


def test_export_refuses_an_unknown_format_or_input_type(tmp_path):
    result = CliRunner().invoke(app, ["export", "--format", "tflite", "--out", str(tmp_path / "m")])
    assert result.exit_code == 2 and "onnx" in result.output
    result = CliRunner().invoke(app, ["export", "--input", "int16", "--out", str(tmp_path / "m.onnx")])
    assert result.exit_code == 2 and "uint8" in result.output
    assert not (tmp_path / "m.onnx").exists()


def test_auto_picks_onnxruntime_on_cpu_and_torch_for_mc_dropout():
    assert digitscope.load("default").backend.name == "onnxruntime"
    mc = digitscope.load("default", mc_samples=3)
    assert mc.backend.name == "torch"
    assert mc.predict_proba(digits()[:4]).shape == (4, 11)  # MC dropout still runs, on torch
    with pytest.raises(ValueError, match="torch backend only"):
        digitscope.load("default", mc_samples=3, backend="onnxruntime")


def test_without_onnxruntime_auto_falls_back_to_torch(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import fails, as when it is not installed
    assert digitscope.load("default").backend.name == "torch"
    with pytest.raises(ValueError, match="pip install onnxruntime"):
        digitscope.load("default", backend="onnxruntime")


def test_a_variant_head_exports_for_any_batch_size():
    kwargs = {"num_classes": 10, "width": 8, "variants": 3}
    model, card = create_model("digitnet", **kwargs), {"arch": "digitnet", "arch_kwargs": kwargs}
    reference = digitscope.DigitClassifier(model, card, backend="torch").predict_proba(digits())
    fast = digitscope.DigitClassifier(model, card, backend="onnxruntime")
    assert np.abs(fast.predict_proba(digits()) - reference).max() <= PARITY_TOLERANCE


class BatchSizeBakedIn(torch.nn.Module):
    """Reshapes by len(x), which the tracer freezes at its example's batch size: an export not to be trusted."""

    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(28 * 28, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x.reshape(len(x), -1))


def test_a_model_the_exporter_cannot_trace_faithfully_stays_on_torch():
    card = {"arch": "custom", "arch_kwargs": {"num_classes": 10}}
    with pytest.warns(UserWarning, match="using torch"):
        assert digitscope.DigitClassifier(BatchSizeBakedIn(), card).backend.name == "torch"
    with pytest.raises(Exception, match="ONNXRuntimeError|disagrees with PyTorch"):
        digitscope.DigitClassifier(BatchSizeBakedIn(), card, backend="onnxruntime").logits(digits())


def drawn_dataset(n: int, seed: int):
    """MNIST-style digits (white ink on black, 28 x 28) of the drawn shapes, at random sizes and places."""
    from PIL import Image, ImageDraw

    from digitscope import data

    rng = np.random.default_rng(seed)
    shapes = list(SHAPES)
    labels = rng.integers(0, len(shapes), n)
    images = np.zeros((n, 28, 28), np.uint8)
    for i, k in enumerate(labels):
        scale, dx, dy = rng.uniform(0.075, 0.095), rng.uniform(5, 9), rng.uniform(3, 6)
        canvas = Image.new("L", (28, 28), 0)
        pen = ImageDraw.Draw(canvas)
        for stroke in SHAPES[shapes[k]]:
            pen.line([(dx + x * scale, dy + y * scale) for x, y in stroke], fill=255, width=int(rng.integers(2, 4)))
        images[i] = np.asarray(canvas)
    return data.Arrays(images, np.array([int(shapes[k]) for k in labels], np.int64))


def test_int8_export_is_calibrated_on_training_digits_and_checked_against_pytorch(data_home, ten_class_model,
                                                                                    tmp_path):
    from digitscope import data

    data.register(data.DatasetInfo(name="drawn", description="drawn digits for tests", splits=("train",),
                                   fetch=lambda: {"train": drawn_dataset(1300, 0)}))
    out = tmp_path / "int8.onnx"
    # The digit network alone: drawn stick figures sit near the gate's line between a digit and "not a digit", where
    # int8 rounding may well flip an answer and the export rightly refuses.
    result = CliRunner().invoke(app, ["export", "--model", str(ten_class_model), "--quantize", "int8",
                                      "--calibration", "drawn:train", "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["calibration"] == "1000 of drawn:train at random (seed 0)"
    assert report["agreement_with_pytorch"] >= 0.995
    float32_bytes = len(export_onnx(digitscope.load(ten_class_model, backend="torch").model))
    assert report["bytes"] < 0.4 * float32_bytes  # int8 weights: about a quarter of the float32 graph
    ops = {node.op_type for node in onnx.load(str(out)).graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    held_out = drawn_dataset(300, 1)  # drawn apart from the calibration digits
    (logits,) = session.run(None, {"images": held_out.images[:, None]})
    assert (logits.argmax(1) == held_out.labels).mean() > 0.9


RUN_COMPILED = """
import io, json, sys
import numpy as np
from PIL import Image
from fastapi.testclient import TestClient
import digitscope
from digitscope.serve import create_app
images = np.load(sys.argv[2])
model = digitscope.load(sys.argv[1])
answers = model.classify(images, [str(i) for i in range(len(images))])
client = TestClient(create_app(sys.argv[1], read_model=sys.argv[1]))
canvas = np.zeros((40, 80), np.uint8)
canvas[6:34, 6:34], canvas[6:34, 40:68] = images[1], images[2]
for path, image in (("/v1/classify", images[0]), ("/v1/read", canvas)):
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, "PNG")
    assert client.post(path, files={"file": ("d.png", buffer.getvalue(), "image/png")}).status_code == 200
print(json.dumps({"proba": model.predict_proba(images).tolist(), "backend": model.backend.name,
                  "digits": [a.digit for a in answers], "torch": "torch" in sys.modules}))
"""


def run_compiled(model, images_file) -> dict:
    import subprocess

    done = subprocess.run([sys.executable, "-c", RUN_COMPILED, str(model), str(images_file)], capture_output=True,
                          text=True, timeout=300, check=True)
    return json.loads(done.stdout.splitlines()[-1])


def test_a_saved_model_and_its_server_run_without_pytorch_after_its_first_load(data_home, ten_class_model, tmp_path):
    """The first load compiles the graph (with PyTorch, checked against it); later loads, and the server's
    classifying and reading, run it from the cache on onnxruntime alone, and answer as PyTorch does."""
    images = digits()
    np.save(tmp_path / "digits.npy", images)
    first, second = (run_compiled(ten_class_model, tmp_path / "digits.npy") for _ in range(2))
    assert first["torch"] and not second["torch"]
    assert first["backend"] == second["backend"] == "onnxruntime"
    assert second["digits"][:5] == [0, 1, 2, 4, 7]
    reference = digitscope.load(ten_class_model, backend="torch").predict_proba(images)
    assert np.abs(np.array(second["proba"]) - reference).max() <= PARITY_TOLERANCE
    assert len(list((data_home / "compiled").glob("*.onnx"))) == 1


def test_a_compiled_graph_is_made_again_when_the_weights_change(data_home, ten_class_model):
    from digitscope.models.persist import load_model

    images = digits()
    before = digitscope.load(ten_class_model).predict_proba(images)
    network, card = load_model(ten_class_model)
    with torch.no_grad():
        network[-1].bias.add_(torch.arange(10.0))  # favours the higher digits
    save_model(ten_class_model, network, card)
    after = digitscope.load(ten_class_model)
    assert np.abs(after.predict_proba(images) - after.proba_from_logits(
        digitscope.load(ten_class_model, backend="torch").logits(images))).max() <= PARITY_TOLERANCE
    assert np.abs(after.predict_proba(images) - before).max() > 0.01
    assert len(list((data_home / "compiled").glob("*.onnx"))) == 2


def test_the_int8_backend_runs_the_graph_kept_beside_the_model_and_only_while_its_weights_stay(data_home,
                                                                                                ten_class_model):
    """`--backend int8` runs the model's int8 graph (made by `digitscope export --quantize int8 --out`
    NAME.int8.onnx), and so does `auto` once there is one; without one, or once the weights beside it changed,
    loading says what to run instead of reading digits with a graph that is not the model's, and `auto` warns and
    runs the weights' own float graph."""
    from digitscope import data
    from digitscope.models.persist import load_model
    from digitscope.store.saved import int8_path

    data.register(data.DatasetInfo(name="drawn", description="drawn digits for tests", splits=("train",),
                                   fetch=lambda: {"train": drawn_dataset(1300, 0)}))
    with pytest.raises(ValueError, match="no int8 graph.*--quantize int8"):
        digitscope.load(ten_class_model, backend="int8")
    result = CliRunner().invoke(app, ["export", "--model", str(ten_class_model), "--quantize", "int8",
                                      "--calibration", "drawn:train", "--out", str(int8_path(ten_class_model))])
    assert result.exit_code == 0, result.output
    some = data.load("drawn:train").images[1000:]
    int8 = digitscope.load(ten_class_model, backend="int8").predict_proba(some)
    plain = digitscope.load(ten_class_model, backend="torch").predict_proba(some)
    assert (int8.argmax(1) == plain.argmax(1)).mean() >= 0.98
    assert 0 < np.abs(int8 - plain).max() < 0.5  # its own graph's answers: close to the model's, not the same
    chosen = digitscope.load(ten_class_model)
    assert chosen.backend.name == "int8" and np.array_equal(chosen.predict_proba(some), int8)
    network, card = load_model(ten_class_model)
    with torch.no_grad():
        network[-1].bias.add_(1.0)
    save_model(ten_class_model, network, card)
    with pytest.raises(ValueError, match="not made from the weights"):
        digitscope.load(ten_class_model, backend="int8")
    with pytest.warns(UserWarning, match="not made from the weights.*float graph"):
        assert digitscope.load(ten_class_model).backend.name == "onnxruntime"
    with pytest.raises(ValueError, match="int8 backend runs on the CPU"):
        resolve_backend("int8", "cuda")


def test_the_bundled_reading_model_has_a_current_int8_graph_that_answers_like_it():
    images = digits()[:6]  # drawn digits and a blank
    int8 = digitscope.load("reading")  # auto: the graph is there, so it runs
    assert int8.backend.name == "int8"
    plain = digitscope.load("reading", backend="onnxruntime").predict_proba(images)
    assert list(int8.predict_proba(images).argmax(1)) == list(plain.argmax(1))
