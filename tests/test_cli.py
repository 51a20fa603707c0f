"""The command line as a user runs it: JSON contracts, bad input reported by name, exit codes."""

import json
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw
from typer.testing import CliRunner

from digitscope.cli import app

EXAMPLES = sorted(p for p in (Path(__file__).parent.parent / "examples").iterdir()
                  if p.suffix in {".png", ".jpg", ".bmp", ".gif", ".tif", ".webp"})
runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_default_model_reads_every_bundled_example():
    assert len(EXAMPLES) >= 10
    result = run("predict", *EXAMPLES, "--json")
    assert result.exit_code == 0, result.output
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert [a["file"] for a in answers] == [str(p) for p in EXAMPLES]
    for a in answers:
        assert set(a) == {"file", "digit", "confidence", "probabilities", "rejected", "reason", "not_a_digit"}
        assert a["digit"] == int(Path(a["file"]).name[0]) and not a["rejected"], a
        # the ten digit probabilities and p(not a digit) make one distribution
        assert abs(sum(a["probabilities"]) + a["not_a_digit"] - 1) < 1e-4 and a["confidence"] == max(a["probabilities"])


def test_predict_runs_on_the_backend_asked_and_names_the_allowed_ones():
    # reading keeps an int8 graph beside its weights; on it the bundled examples read as on its float graph.
    answers = {b: [json.loads(line)["digit"] for line in run("predict", *EXAMPLES, "--model", "reading", "--backend",
                                                            b, "--json").stdout.splitlines()]
               for b in ("int8", "onnxruntime")}
    assert answers["int8"] == answers["onnxruntime"] == [int(p.name[0]) for p in EXAMPLES]
    wrong = run("predict", EXAMPLES[0], "--backend", "gpu")
    assert wrong.exit_code != 0 and "auto, torch, onnxruntime, int8" in wrong.output


def test_a_mis_cut_fragment_is_not_a_digit_a_scribble_is_refused_and_a_digit_is_answered(tmp_path):
    from drawn_digits import PAD_HEIGHT, PAD_WIDTH, PEN, strokes

    # Seed 002's case: "42" cut in the wrong place, the right half of the 4 with the left half of the 2.
    pad = Image.new("L", (PAD_WIDTH, PAD_HEIGHT), 255)
    for stroke in strokes("42"):
        ImageDraw.Draw(pad).line(stroke, fill=0, width=PEN, joint="curve")
    ink = np.flatnonzero((np.asarray(pad) < 128).any(axis=0))
    middle, quarter = (ink[0] + ink[-1]) // 2, (ink[-1] - ink[0]) // 4
    pad.crop((middle - quarter, 0, middle + quarter, PAD_HEIGHT)).save(tmp_path / "fragment.png")
    files = [tmp_path / "fragment.png"]
    for seed in range(4):  # tangled pen strokes
        points = np.cumsum(np.random.default_rng(seed).normal(0, 0.06, (80, 2)), axis=0)
        scribble = Image.new("L", (200, 200), 255)
        ImageDraw.Draw(scribble).line([tuple(p) for p in 100 + 70 * points / np.abs(points).max()], fill=0,
                                      width=9, joint="curve")
        files.append(tmp_path / f"scribble{seed}.png")
        scribble.save(files[-1])
    result = run("predict", *files, EXAMPLES[0], "--json")
    assert result.exit_code == 0, result.output
    fragment, *scribbles, digit = (json.loads(line) for line in result.stdout.splitlines())
    assert fragment["rejected"] and fragment["reason"] == "not_a_digit" and fragment["not_a_digit"] > 0.9
    assert all(s["rejected"] for s in scribbles), scribbles
    assert not digit["rejected"] and digit["confidence"] > 0.99


def test_a_european_1_is_read_as_1_and_a_crossed_7_as_7(tmp_path):
    # The 1 with a long up-stroke that an MNIST-only model answers with doubt (its own reject rule refused this one),
    # and the 7 with a bar across its stem, both drawn as a pen would on a 280 x 280 pad.
    shapes = {"1": [[(60, 140), (165, 35), (150, 250)]],
              "7": [[(70, 50), (205, 50), (125, 250)], [(105, 150), (195, 150)]]}
    for digit, strokes in shapes.items():
        pad = Image.new("L", (280, 280), 255)
        for stroke in strokes:
            ImageDraw.Draw(pad).line(stroke, fill=0, width=18, joint="curve")
        pad.save(tmp_path / f"{digit}.png")
    result = run("predict", tmp_path / "1.png", tmp_path / "7.png", "--json")
    assert result.exit_code == 0, result.output
    one, seven = (json.loads(line) for line in result.stdout.splitlines())
    assert (one["digit"], seven["digit"]) == (1, 7) and not one["rejected"] and not seven["rejected"], (one, seven)


def test_slashed_zeros_are_read_as_0(tmp_path):
    # "Ø", as many European hands write a zero: the slash at six slants and lengths. The default before it learnt
    # slashed zeros read all six as 0 too, but answered only three (its reject rule refused the other three).
    ring = [(140 + 55 * math.cos(2 * math.pi * k / 48), 140 + 100 * math.sin(2 * math.pi * k / 48)) for k in range(49)]
    slashes = [[(80, 230), (200, 50)], [(70, 250), (210, 30)], [(95, 255), (185, 25)], [(60, 220), (220, 60)],
               [(100, 270), (180, 10)], [(75, 200), (205, 80)]]
    for k, slash in enumerate(slashes):
        pad = Image.new("L", (280, 280), 255)
        for stroke in (ring, slash):
            ImageDraw.Draw(pad).line(stroke, fill=0, width=18, joint="curve")
        pad.save(tmp_path / f"zero{k}.png")
    result = run("predict", *(tmp_path / f"zero{k}.png" for k in range(len(slashes))), "--json")
    assert result.exit_code == 0, result.output
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert all(a["digit"] in (0, None) for a in answers), answers  # never another digit
    assert sum(a["digit"] == 0 and not a["rejected"] for a in answers) >= 5, answers


def test_a_corrupt_file_is_reported_and_the_rest_are_answered(tmp_path):
    corrupt = tmp_path / "scan-0042.png"
    corrupt.write_bytes(EXAMPLES[0].read_bytes()[:300])  # truncated
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    result = run("predict", EXAMPLES[0], corrupt, EXAMPLES[1], empty, "--json")
    assert result.exit_code == 1
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(answers) == 4
    assert answers[0]["digit"] == int(EXAMPLES[0].name[0]) and answers[2]["digit"] == int(EXAMPLES[1].name[0])
    for bad, name in ((answers[1], "scan-0042.png"), (answers[3], "empty.jpg")):
        assert bad["digit"] is None and bad["rejected"] and name in bad["error"]


def test_blank_image_is_not_a_digit(tmp_path):
    from PIL import Image

    Image.new("L", (200, 120), 255).save(tmp_path / "blank.png")
    answer = json.loads(run("predict", tmp_path / "blank.png", "--json").stdout)
    assert answer["rejected"] and answer["reason"] == "not_a_digit" and answer["digit"] is None


def test_models_lists_the_registry_and_the_bundled_models_with_their_datas_terms():
    out = json.loads(run("models", "--json").stdout)
    assert {"digitnet", "mlp", "cnn", "rnn"} <= {a["name"] for a in out["architectures"]}
    assert out["bundled"][0]["name"] == "default"
    # whoever ships a bundled model must be able to see the terms of the data it learnt from
    assert all(b["trained_on"] and "CC BY-SA" in b["terms"] for b in out["bundled"])


def test_evaluate_prints_the_guide_keys(tiny_dataset, tmp_path):
    from digitscope.training.loop import TrainConfig, train

    train(TrainConfig(data="tiny", arch="quicknet", epochs=2, batch_size=32, lr=2e-2, precision="fp32",
                      rotate=0, scale=0, shift=0, shear=0), tmp_path / "m", progress=False)
    result = run("evaluate", "--model", tmp_path / "m", "--data", "tiny:test", "--figures", tmp_path / "fig", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    for key in ("accuracy", "error_rate", "numeric_error_per_image", "numeric_error_per_misidentified"):
        assert key in report
    assert (tmp_path / "fig" / "confusion.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("args, message", [
    (["evaluate", "--model", "no-such-model"], "bundled name"),
    (["evaluate", "--data", "mnist:nonsense"], "choose one of"),
    (["data", "fetch", "imagenet"], "choose one of"),
])
def test_wrong_options_say_what_is_allowed(args, message, data_home):
    result = run(*args)
    assert result.exit_code == 2
    assert message in result.output


def test_train_forwards_every_option(tiny_dataset, tmp_path):
    result = run("train", "--data", "tiny", "--arch", "quicknet", "--epochs", "1", "--batch-size", "32",
                 "--shift", "0", "--rotate", "0", "--out", tmp_path / "m", "--no-progress")
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "m" / "model.json").read_text())["config"]["epochs"] == 1


def test_every_command_takes_json_and_old_names_still_work():
    import typer

    def leaves(command, path=()):
        for name, sub in getattr(command, "commands", {}).items():
            yield from leaves(sub, (*path, name)) if hasattr(sub, "commands") else [((*path, name), sub)]

    commands = dict(leaves(typer.main.get_command(app)))
    assert {("calibrate",), ("fit", "temperature"), ("fit", "number-risk"), ("fit", "prior")} <= set(commands)
    passed_through = {("train",), ("hard-examples",)}  # the training loop's own options, --help included
    for path, command in commands.items():
        if path not in passed_through:
            assert "--json" in {o for p in command.params for o in p.opts}, path
    assert "--reader" in {o for p in commands[("gate",)].params for o in p.opts}
