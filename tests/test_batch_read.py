"""Batch reading: a folder of PNGs to one JSON line per file, bad files as error lines, resumable, on Ray too."""

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from digitscope.cli import app
from digitscope.reading import Reader
from digitscope.reading.batch import read_to_jsonl

SAMPLE = Path(__file__).parent / "data" / "mnist-test-sample.npz"


@pytest.fixture(scope="module")
def reader():
    return Reader()


@pytest.fixture(scope="module")
def expected(reader) -> dict[str, str]:
    """File name -> what `Reader.read` reads in that digit, one image at a time (the batched reading must agree),
    for the first 24 digits of the mnist:test sample."""
    sample = np.load(SAMPLE)
    readings = {f"digit{i:02d}.png": reader.read(image).text for i, image in enumerate(sample["images"][:24])}
    right = sum(text == str(label) for text, label in zip(readings.values(), sample["labels"], strict=False))
    assert right >= 22, "the Reader reads single MNIST digits as one-character strings, nearly always right"
    return readings


@pytest.fixture
def digit_folder(tmp_path, expected) -> tuple[Path, dict[str, str]]:
    """24 single-digit PNGs of mnist:test, some in a subfolder; returns the folder and file name -> reading."""
    sample = np.load(SAMPLE)
    folder = tmp_path / "scans"
    (folder / "more").mkdir(parents=True)
    for i, image in enumerate(sample["images"][:24]):
        Image.fromarray(image).save(folder / ("more" if i % 3 == 0 else "") / f"digit{i:02d}.png")
    truth = dict(expected)
    (folder / "notes.txt").write_text("not an image: a directory is read for its image files only")
    return folder, truth


def lines_of(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def texts(lines: list[dict]) -> dict[str, str]:
    return {Path(line["file"]).name: line["text"] for line in lines}


def test_every_file_gets_one_line_with_its_digit(digit_folder, reader, tmp_path):
    folder, truth = digit_folder
    out = tmp_path / "results.jsonl"
    summary = read_to_jsonl([folder], out, reader, workers=0, batch_size=5)
    lines = lines_of(out)
    assert summary["read"] == len(lines) == len(truth) and summary["errors"] == 0
    assert texts(lines) == truth
    assert {"file", "text", "confidence", "rejected", "digits"} <= set(lines[0])


def test_a_corrupt_file_is_an_error_line_and_the_others_are_read(digit_folder, reader, tmp_path):
    folder, truth = digit_folder
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n half a header")
    (folder / "more" / "empty.png").write_bytes(b"")
    out = tmp_path / "results.jsonl"
    summary = read_to_jsonl([folder], out, reader, workers=2, batch_size=4)  # decoding in worker processes
    lines = lines_of(out)
    errors = [line for line in lines if "error" in line]
    assert summary["errors"] == 2 and {Path(e["file"]).name for e in errors} == {"broken.png", "empty.png"}
    assert all(e["rejected"] and e["reason"] == "error" and e["error"] for e in errors)
    assert texts([line for line in lines if "error" not in line]) == truth


def test_an_interrupted_read_resumes_without_duplicate_or_missing_lines(digit_folder, reader, tmp_path):
    folder, truth = digit_folder
    out = tmp_path / "results.jsonl"
    first = read_to_jsonl([folder], out, reader, workers=0, batch_size=4, limit=10)  # stopped after 10 images
    assert first["read"] == len(lines_of(out)) == 10
    with open(out, "a") as f:
        f.write('{"file": "' + str(folder / "digit05.png"))  # torn last line: killed in the middle of a write

    with pytest.raises(FileExistsError, match="--resume"):
        read_to_jsonl([folder], out, reader, workers=0)
    second = read_to_jsonl([folder], out, reader, workers=0, batch_size=4, resume=True)
    lines = lines_of(out)
    assert second["skipped"] == 10 and second["read"] == len(truth) - 10
    assert len(lines) == len({line["file"] for line in lines}) == len(truth)
    assert texts(lines) == truth


def test_the_command_writes_lines_and_a_summary(digit_folder, tmp_path, data_home):
    folder, truth = digit_folder
    out = tmp_path / "results.jsonl"
    result = CliRunner().invoke(app, ["read", str(folder / "**" / "*.png"), "--out", str(out), "--workers", "0",
                                      "--batch-size", "8", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.strip().splitlines()[-1])["read"] == len(truth)
    assert texts(lines_of(out)) == truth
    again = CliRunner().invoke(app, ["read", str(folder), "--out", str(out), "--resume", "--json"])
    assert again.exit_code == 0 and json.loads(again.stdout.strip().splitlines()[-1])["read"] == 0
    assert "--out" in CliRunner().invoke(app, ["read", str(folder)]).output  # a directory needs a batch job


@pytest.fixture(scope="module")
def local_ray():
    ray = pytest.importorskip("ray", reason='Ray is not installed: pip install "digitscope[ray]"')
    pytest.importorskip("ray.data", reason='Ray Data is not installed: pip install "digitscope[ray]"')
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def test_the_ray_engine_reads_what_the_local_one_reads(local_ray, digit_folder, reader, tmp_path):
    from digitscope.reading.ray_engine import read_to_jsonl_ray

    folder, truth = digit_folder
    (folder / "broken.png").write_bytes(b"not an image")
    local, on_ray = tmp_path / "local.jsonl", tmp_path / "ray.jsonl"
    read_to_jsonl([folder], local, reader, workers=0)
    summary = read_to_jsonl_ray([folder], on_ray, batch_size=8)
    assert summary["read"] == len(truth) + 1 and summary["errors"] == 1
    assert texts(lines_of(on_ray)) == texts(lines_of(local)) == {**truth, "broken.png": ""}


def test_a_batch_job_with_a_line_reader_reads_as_one_image_at_a_time(digit_folder, tmp_path):
    # The line image travels with each prepared image from the decoding processes to the models.
    folder, _ = digit_folder
    amounts = Reader(line_model="amounts")
    one_by_one = {path.name: amounts.read(np.asarray(Image.open(path))).text for path in folder.rglob("*.png")}
    out = tmp_path / "results.jsonl"
    summary = read_to_jsonl([folder], out, amounts, workers=2, batch_size=5)
    assert summary["errors"] == 0 and texts(lines_of(out)) == one_by_one
