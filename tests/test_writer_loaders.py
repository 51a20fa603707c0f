"""Real handwriting beyond MNIST: QMNIST's writer ids and the writer-disjoint MNIST split, CVL Single Digits,
and the rule that a choosing-only split is never trained on. Fixtures are written in each source's exact format."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from digitscope.cli import app
from digitscope.data import catalog, cvl, get_dataset, mnist_writers, qmnist
from digitscope.data.cache import Arrays, DataUnavailableError
from digitscope.data.idx import write_idx
from digitscope.io import file_sha256
from digitscope.training.config import make_config
from digitscope.training.splits import training_data

N_TRAIN, N_TEST = 60_000, 10_000  # QMNIST's files cover all of MNIST, so the fixtures do too (at 2 x 2 pixels)


@pytest.fixture(autouse=True)
def data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "cache"
    monkeypatch.setenv("DIGITSCOPE_DATA", str(home))
    qmnist.extended_labels.cache_clear()
    yield home
    qmnist.extended_labels.cache_clear()


def _extended(labels: np.ndarray, writers: np.ndarray, series: np.ndarray, extra_rows: int = 0) -> np.ndarray:
    table = np.zeros((len(labels) + extra_rows, 8), dtype=np.int32)
    table[:len(labels), qmnist.CLASS] = labels
    table[:len(labels), qmnist.SERIES] = series
    table[:len(labels), qmnist.WRITER] = writers
    return table


@pytest.fixture
def qmnist_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    """QMNIST's two label files (gzip IDX, int32, N x 8) for a fake MNIST of 100 writers, 600 digits each."""
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, N_TRAIN).astype(np.int64)
    writers = np.repeat(np.arange(100), N_TRAIN // 100)
    series = np.where(writers < 50, 0, 4)  # 50 Census employees, 50 students
    test_labels = rng.integers(0, 10, N_TEST).astype(np.int64)
    folder = tmp_path / "qmnist"
    folder.mkdir()
    files = {"train-full": _extended(labels, writers, series),
             "test": _extended(test_labels, 1000 + np.arange(N_TEST) % 30, np.full(N_TEST, 4), extra_rows=50)}
    for split, table in files.items():
        name, _, rows = qmnist.FILES[split]
        write_idx(folder / name, table)
        monkeypatch.setitem(qmnist.FILES, split, (name, file_sha256(folder / name), rows))
    monkeypatch.setattr(mnist_writers, "VALIDATION_DIGITS", 6_000)  # ten writers' worth
    images = rng.integers(0, 256, (N_TRAIN, 2, 2), dtype=np.uint8)
    return {"folder": folder, "train-full": Arrays(images, labels), "writers": writers,
            "test": Arrays(rng.integers(0, 256, (N_TEST, 2, 2), dtype=np.uint8), test_labels)}


def test_the_qmnist_label_file_is_read_in_its_official_format(qmnist_folder: dict) -> None:
    table = qmnist.extended_labels("test", qmnist_folder["folder"])
    assert table.shape == (N_TEST, 8)  # the test file's first 10,000 rows only: MNIST's test set
    np.testing.assert_array_equal(table[:, qmnist.CLASS], qmnist_folder["test"].labels)


def test_the_writer_split_puts_no_writer_on_both_sides(qmnist_folder: dict) -> None:
    folder = qmnist_folder["folder"]
    splits = mnist_writers.split(qmnist_folder["train-full"], qmnist_folder["test"], folder)
    val_writers = set(mnist_writers.writer_ids("val", folder))
    train_writers = set(mnist_writers.writer_ids("train", folder))
    assert val_writers and train_writers and not val_writers & train_writers
    assert len(splits["val"]) + len(splits["train"]) == N_TRAIN
    assert len(splits["val"]) == 600 * len(val_writers) >= 6_000
    series = {0 if w < 50 else 4 for w in val_writers}
    assert series == {0, 4}  # both NIST series are represented
    # the same digits in MNIST's order, selected by writer
    is_val = np.isin(qmnist_folder["writers"], sorted(val_writers))
    np.testing.assert_array_equal(splits["val"].images, qmnist_folder["train-full"].images[is_val])
    assert splits["test"] is qmnist_folder["test"]


def test_writer_ids_attached_to_other_digits_are_refused(qmnist_folder: dict) -> None:
    shuffled = qmnist_folder["train-full"]
    wrong = Arrays(shuffled.images, np.roll(shuffled.labels, 1))
    with pytest.raises(ValueError, match="not MNIST's in order"):
        mnist_writers.split(wrong, qmnist_folder["test"], qmnist_folder["folder"])


def test_a_damaged_qmnist_file_is_named_and_refused(qmnist_folder: dict) -> None:
    path = qmnist_folder["folder"] / qmnist.FILES["test"][0]
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(DataUnavailableError, match="damaged copy") as excinfo:
        qmnist.extended_labels("test", qmnist_folder["folder"])
    assert str(path) in str(excinfo.value)


def test_unreachable_qmnist_says_where_to_place_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                   data_home: Path) -> None:
    monkeypatch.setattr(qmnist, "OFFICIAL", (tmp_path / "unreachable").as_uri() + "/")
    monkeypatch.setattr(qmnist, "shared_copy", lambda folder: [])
    with pytest.raises(DataUnavailableError) as excinfo:
        qmnist.extended_labels("train-full")
    assert str(data_home / "raw" / "qmnist") in str(excinfo.value) and "--from" in str(excinfo.value)
    assert not [p for p in data_home.rglob("*") if p.is_file()]  # no half file left


# --- CVL ------------------------------------------------------------------------------------------------

def _digit_png(digit: int, size: tuple[int, int], rgb: bool) -> bytes:
    """A dark stroke on light paper, as CVL's scans are: a bar for 1, a box outline for the others."""
    w, h = size
    ink = np.full((h, w), 235, np.uint8)
    if digit == 1:
        ink[h // 8: -h // 8, w // 2 - max(1, w // 14): w // 2 + max(1, w // 14)] = 20
    else:
        ink[h // 6: -h // 6, w // 4: -w // 4] = 20
        ink[h // 6 + h // 8: -h // 6 - h // 8, w // 4 + w // 8: -w // 4 - w // 8] = 235
    image = Image.fromarray(np.stack([ink] * 3, -1) if rgb else ink)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _cvl_files(size: tuple[int, int] = (28, 28), rgb: bool = False, splits=("train", "valid")) -> dict[str, bytes]:
    files = {}
    for split, writer in zip(splits, (169, 168, 300), strict=False):
        for digit in (0, 1, 7):
            files[f"{split}/{digit}-{writer:04d}-01-0{digit}.png"] = _digit_png(digit, size, rgb)
    files["train/2-0227-08-01-01.png"] = _digit_png(2, size, rgb)  # a name with a further index, as CVL has
    files["README.txt"] = b"not a digit"
    return files


def test_cvl_reads_its_zip_into_mnist_form(tmp_path: Path) -> None:
    archive = tmp_path / "cvl.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for name, data in _cvl_files().items():
            z.writestr(name, data)
    splits = cvl.fetch(archive)
    assert set(splits) == {"train", "valid"}
    assert splits["train"].labels.tolist() == [0, 1, 2, 7]  # file-name order; the label is the name's digit
    train = splits["train"].images
    assert train.shape == (4, 28, 28)
    assert train[:, 0, 0].max() == 0 and train.max() > 200  # white ink on black, as MNIST
    assert cvl.writer_ids("valid", archive).tolist() == [168, 168, 168]


def test_cvl_reads_the_official_rgb_scans_at_any_size(tmp_path: Path) -> None:
    folder = tmp_path / "official"
    for name, data in _cvl_files(size=(61, 97), rgb=True, splits=("train", "valid", "eval")).items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    splits = cvl.fetch(folder)
    assert set(splits) == {"train", "valid", "eval"}
    small = cvl.fetch(_as_zip(tmp_path, _cvl_files()))
    one_big, one_small = splits["valid"].images[1], small["valid"].images[1]  # the 1s: scaled to the same box
    assert np.ptp(np.nonzero(one_big.sum(1))[0]) == np.ptp(np.nonzero(one_small.sum(1))[0]) == 19


def _as_zip(tmp_path: Path, files: dict[str, bytes]) -> Path:
    archive = tmp_path / "small.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    return archive


def test_a_corrupt_cvl_image_is_named(tmp_path: Path) -> None:
    files = _cvl_files()
    files["valid/7-0168-01-07.png"] = b"\x89PNG broken"
    with pytest.raises(ValueError, match=r"valid/7-0168-01-07\.png"):
        cvl.fetch(_as_zip(tmp_path, files))


def _fixture_checksums(monkeypatch: pytest.MonkeyPatch) -> None:
    for split in ("train", "valid"):  # the fixture is not the published set
        monkeypatch.setitem(get_dataset("cvl").checksums, split, "")


def test_data_fetch_from_a_path_caches_the_splits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  data_home: Path) -> None:
    archive = _as_zip(tmp_path, _cvl_files())
    _fixture_checksums(monkeypatch)
    result = CliRunner().invoke(app, ["data", "fetch", "cvl", "--from", str(archive), "--json"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in data_home.glob("cvl-*.npz")) == ["cvl-train.npz", "cvl-valid.npz"]
    assert len(catalog.load("cvl:valid")) == 3
    with pytest.raises(DataUnavailableError, match="no eval split"):
        catalog.load("cvl:eval")
    refused = CliRunner().invoke(app, ["data", "fetch", "mnist", "--from", str(archive)])
    assert refused.exit_code != 0 and "takes no --from" in refused.output


def test_cvl_valid_is_never_trained_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fixture_checksums(monkeypatch)
    catalog.fetch("cvl", _as_zip(tmp_path, _cvl_files()))
    with pytest.raises(ValueError, match="choosing and tuning only"):
        training_data(make_config("fast", data="cvl", train_split="valid", val_split="train"))
    allowed = training_data(make_config("fast", data="cvl", train_split="train", val_split="valid"))
    assert len(allowed.x_train) == 4 and allowed.card["terms"] == cvl.TERMS
    # Nor as a part of other data: a mixture that holds it is refused too.
    parts = {"train": ("cvl:train", "cvl:valid"), "val": ("cvl:valid",)}
    monkeypatch.setitem(catalog._DATASETS, "leaky", catalog.DatasetInfo(
        "leaky", "a mixture holding a choosing split", ("train", "val"), lambda: {}, parts=parts))
    with pytest.raises(ValueError, match="holds cvl:valid, which is for choosing and tuning only"):
        training_data(make_config("fast", data="leaky"))


def test_no_registered_training_split_holds_a_choosing_split() -> None:
    """Every mixture the project registers (the default's, the reading model's, the line reader's) trains on
    training splits only: a choosing split inside one would be learnt by every model trained on it."""
    import digitscope.reading  # noqa: F401  registers the datasets the Reader makes

    for info in catalog.list_datasets():
        for split, specs in info.parts.items():
            if split in info.choose_only:
                continue
            for spec in specs:
                part, part_split = catalog.parse_spec(spec)
                assert part_split not in part.choose_only, f"{info.name}:{split} holds {spec}"


def test_part_weights_draw_a_small_population_more_often(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fixture_checksums(monkeypatch)
    catalog.fetch("cvl", _as_zip(tmp_path, _cvl_files()))
    parts = {"train": ("cvl:train", "cvl:train"), "val": ("cvl:valid",)}
    monkeypatch.setitem(catalog._DATASETS, "two-parts", catalog.DatasetInfo(
        "two-parts", "two populations", ("train", "val"),
        lambda: {split: catalog.concatenate(specs) for split, specs in parts.items()}, parts=parts))
    d = training_data(make_config("fast", data="two-parts", part_weights="1,3"))
    assert d.sample_weights.tolist() == [1.0] * 4 + [3.0] * 4  # the 4 digits of each part
    assert d.card["part_weights"] == "1,3"
    pair = training_data(make_config("fast", data="two-parts", part_weights="1,3", classes="1,7"))  # a specialist's
    assert pair.sample_weights.tolist() == [1.0, 1.0, 3.0, 3.0] and len(pair.x_train) == 4
    with pytest.raises(ValueError, match="2 positive numbers"):
        training_data(make_config("fast", data="two-parts", part_weights="1,0"))
    with pytest.raises(ValueError, match="needs data made of parts"):
        training_data(make_config("fast", data="cvl", val_split="valid", part_weights="1,3"))
