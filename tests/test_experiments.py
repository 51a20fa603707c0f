import json

import numpy as np
import pytest
from typer.testing import CliRunner

from digitscope import data
from digitscope.analysis.experiments import markdown_table, run_figures, summarize
from digitscope.analysis.metrics import classification_report
from digitscope.cli import app
from digitscope.data import kannada
from digitscope.data.idx import write_idx


def _run(model, method, trial, error, per_image, per_wrong, counts, split="test"):
    return {"model": model, "method": method, "trial": trial, "split": split, "error_percent": error,
            "numeric_error_per_image": per_image, "numeric_error_per_misidentified": per_wrong,
            "error_magnitude_counts": counts}


def test_error_magnitudes_and_numeric_errors_of_hand_made_answers():
    labels = np.array([3, 3, 1, 7, 0, 9])
    answers = np.array([3, 8, 7, 1, 0, 9])  # mistakes 5, 6 and 6 away
    probs = np.eye(10)[answers]
    figures = run_figures(classification_report(labels, probs))
    assert figures["error_magnitude_counts"] == [0, 0, 0, 0, 0, 1, 2, 0, 0, 0]
    assert figures["error_percent"] == pytest.approx(50.0)
    assert figures["numeric_error_per_image"] == pytest.approx(17 / 6)
    assert figures["numeric_error_per_misidentified"] == pytest.approx(17 / 3)


def test_summary_and_table_in_the_papers_form():
    runs = [_run("cnn", "baseline", 0, 0.80, 0.030, 3.80, [0, 4, 2, 0, 0, 0, 0, 0, 0, 2]),
            _run("cnn", "baseline", 1, 0.82, 0.034, 4.06, [0, 2, 0, 0, 0, 0, 0, 0, 0, 0]),
            _run("cnn", "proposed", 0, 0.78, 0.028, 3.59, [0, 6, 0, 0, 0, 0, 0, 0, 0, 0]),
            _run("cnn", "proposed", 1, 0.78, 0.028, 3.59, [0, 4, 0, 0, 0, 0, 0, 0, 0, 0])]
    summary = summarize(runs)
    base = next(s for s in summary if s["method"] == "baseline")
    assert base["error_percent"]["mean"] == pytest.approx(0.81)
    assert base["error_percent"]["std"] == pytest.approx(np.std([0.80, 0.82], ddof=1))
    assert base["magnitude_count_per_trial"][1] == 3 and base["magnitude_rate"][9] == pytest.approx(0.2)
    table = markdown_table(summary, "mnist", 2, 10)
    assert "### mnist:test — mean ± std over 2 trials, 10 epochs" in table
    assert "| cnn | cross-entropy | 0.81 ± 0.01 | 0.032 ± 0.003 | 3.93 ± 0.18 |" in table
    assert "| cnn | numerical loss (α 0.05, β 0.9) | 0.78 ± 0.00 | 0.028 ± 0.000 | 3.59 ± 0.00 |" in table
    assert "| cnn | change | -3.7% | -12.5% | -8.7% |" in table


def test_the_experiment_trains_both_losses_and_reuses_finished_runs(data_home, make_digits, tmp_path):
    data.register(data.DatasetInfo(name="wee", description="one batch of bars", splits=("train", "val", "test"),
                                   fetch=lambda: {"train": make_digits(160, 0), "val": make_digits(64, 1),
                                                  "test": make_digits(64, 2)}))
    args = ["experiment", "numerical-loss", "--models", "mlp", "--trials", "2", "--data", "wee", "--epochs", "1",
            "--out", str(tmp_path / "exp"), "--json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    runs = sorted(p.name for p in (tmp_path / "exp" / "runs").iterdir())
    assert runs == ["mlp-baseline-s0", "mlp-baseline-s1", "mlp-proposed-s0", "mlp-proposed-s1"]
    card = json.loads((tmp_path / "exp" / "runs" / "mlp-proposed-s1" / "model.json").read_text())
    assert (card["config"]["loss"], card["config"]["alpha"], card["config"]["beta"], card["seed"]) == \
        ("numerical", 0.05, 0.9, 1)
    assert (tmp_path / "exp" / "table.md").read_text() == report["table"]
    assert "| mlp | cross-entropy |" in report["table"] and "| mlp | change |" in report["table"]
    assert (tmp_path / "exp" / "error-magnitudes-test.png").read_bytes()[:4] == b"\x89PNG"
    assert len(json.loads((tmp_path / "exp" / "results.json").read_text())["runs"]) == 4
    weights = tmp_path / "exp" / "runs" / "mlp-baseline-s0" / "model.safetensors"
    written = weights.stat().st_mtime_ns
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 0, again.output
    assert weights.stat().st_mtime_ns == written and json.loads(again.stdout)["table"] == report["table"]
    changed = CliRunner().invoke(app, [*args[:-5], "--epochs", "2", "--out", str(tmp_path / "exp")])
    assert changed.exit_code == 2 and "holds a finished run with other options (epochs)" in changed.output


def test_kannada_runs_where_its_files_are_and_says_so_where_they_are_not(data_home, make_digits, tmp_path,
                                                                         monkeypatch):
    monkeypatch.setattr(kannada, "MIRRORS", [(tmp_path / "unreachable").as_uri() + "/"])
    result = CliRunner().invoke(app, ["experiment", "numerical-loss", "--data", "kannada",
                                      "--out", str(tmp_path / "x")])
    assert result.exit_code == 2 and "Kannada-MNIST could not be fetched" in result.output
    assert not (tmp_path / "x").exists()
    sizes = {"train": 240, "test": 60, "dig": 60}  # the three splits in the original IDX format
    (data_home / "raw" / "kannada").mkdir(parents=True, exist_ok=True)
    for split, (images_file, labels_file) in kannada.IDX_FILES.items():
        digits = make_digits(sizes[split], len(images_file))
        write_idx(data_home / "raw" / "kannada" / images_file, digits.images)
        write_idx(data_home / "raw" / "kannada" / labels_file, digits.labels.astype(np.uint8))
    result = CliRunner().invoke(app, ["experiment", "numerical-loss", "--models", "mlp", "--trials", "1",
                                      "--data", "kannada", "--epochs", "1", "--out", str(tmp_path / "k"), "--json"])
    assert result.exit_code == 0, result.output
    table = json.loads(result.stdout)["table"]
    assert "### kannada:test" in table and "### kannada:dig" in table
    card = json.loads((tmp_path / "k" / "runs" / "mlp-baseline-s0" / "model.json").read_text())
    assert card["config"]["val_holdout"] == 20 and len(data.load("kannada:train")) == 240
