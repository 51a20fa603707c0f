"""The extra dataset loaders, on tiny files written in each source's exact format; no network.

Downloads are exercised for real through ``file://`` URLs: a folder of fixtures stands in for the
publisher, and a missing folder for a source that cannot be reached.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
from scipy.io import savemat

from digitscope.data import catalog as registry
from digitscope.data import emnist, fashion, get_dataset, kannada, svhn
from digitscope.data.cache import Arrays, DataUnavailableError
from digitscope.data.idx import write_idx

Pair = tuple[np.ndarray, np.ndarray]  # (images uint8, labels int64)


@pytest.fixture(autouse=True)
def data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "cache"
    monkeypatch.setenv("DIGITSCOPE_DATA", str(home))
    return home


@pytest.fixture
def offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every source points at a folder that does not exist, so each fails at once."""
    unreachable = (tmp_path / "unreachable").as_uri() + "/"
    monkeypatch.setattr(fashion, "DEBIAN_DIR", tmp_path / "no-debian-package")
    monkeypatch.setattr(fashion, "BASE_URL", unreachable)
    monkeypatch.setattr(kannada, "MIRRORS", [unreachable])
    monkeypatch.setattr(svhn, "BASE_URL", unreachable)
    monkeypatch.setattr(emnist, "URLS", [unreachable + emnist.ARCHIVE])


def _digits(rng: np.random.Generator, n: int, high: int = 10, low: int = 0) -> Pair:
    return rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), rng.integers(low, high, n).astype(np.int64)


def _write_pair(folder: Path, images_file: str, labels_file: str, pair: Pair) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    write_idx(folder / images_file, pair[0])
    write_idx(folder / labels_file, pair[1].astype(np.uint8))


def _assert_equal(arrays: Arrays, pair: Pair) -> None:
    assert arrays.images.dtype == np.uint8 and arrays.labels.dtype == np.int64
    np.testing.assert_array_equal(arrays.images, pair[0])
    np.testing.assert_array_equal(arrays.labels, pair[1])


@pytest.fixture
def debian_fashion(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Pair]:
    """A fake /usr/share/datasets/fashion-mnist, whose checksums stand in for the known ones."""
    rng = np.random.default_rng(1)
    expected = {"test": _digits(rng, 5), "train": _digits(rng, 7)}
    for split, (images_file, _, labels_file, _) in fashion.IDX_FILES.items():
        _write_pair(tmp_path / "debian", images_file, labels_file, expected[split])
        monkeypatch.setitem(get_dataset("fashion").checksums, split, Arrays(*expected[split]).checksum)
    monkeypatch.setattr(fashion, "DEBIAN_DIR", tmp_path / "debian")
    return expected


# --- one test per loader --------------------------------------------------------------------------------


def test_fashion_reads_the_debian_package_folder(debian_fashion: dict[str, Pair]) -> None:
    splits = fashion.fetch()
    assert tuple(splits) == fashion.SPLITS == ("test", "train")
    for split, pair in debian_fashion.items():
        _assert_equal(splits[split], pair)
    assert get_dataset("fashion").trainable is False


def test_kannada_downloads_all_three_splits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            data_home: Path) -> None:
    rng = np.random.default_rng(2)
    expected = {"train": _digits(rng, 6), "test": _digits(rng, 4), "dig": _digits(rng, 5)}
    for split, (images_file, labels_file) in kannada.IDX_FILES.items():
        _write_pair(tmp_path / "github", images_file, labels_file, expected[split])
    monkeypatch.setattr(kannada, "MIRRORS", [(tmp_path / "missing").as_uri() + "/",
                                             (tmp_path / "github").as_uri() + "/"])
    splits = kannada.fetch()
    assert tuple(splits) == ("train", "test", "dig")
    for split, pair in expected.items():
        _assert_equal(splits[split], pair)
        assert splits[split].images.shape[1:] == (28, 28) and splits[split].labels.max() <= 9
    assert sorted(p.name for p in (data_home / "raw" / "kannada").iterdir()) == sorted(
        name for pair in kannada.IDX_FILES.values() for name in pair
    )


def _write_svhn_mat(path: Path, rng: np.random.Generator, n: int) -> Pair:
    """A .mat in the official layout: X (32, 32, 3, N) uint8, y (N, 1) with 10 for the digit 0."""
    images = rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
    digits = np.arange(n, dtype=np.int64) % 10
    path.parent.mkdir(parents=True, exist_ok=True)
    savemat(path, {"X": np.transpose(images, (1, 2, 3, 0)),
                   "y": np.where(digits == 0, 10, digits).astype(np.uint8).reshape(n, 1)})
    return images, digits


def test_svhn_reads_the_official_mat_layout(tmp_path: Path) -> None:
    images, digits = _write_svhn_mat(tmp_path / "test_32x32.mat", np.random.default_rng(3), 12)
    arrays = svhn.read_mat(tmp_path / "test_32x32.mat")
    assert arrays.images.shape == (12, 32, 32, 3) and arrays.images.flags.c_contiguous
    _assert_equal(arrays, (images, digits))
    assert arrays.labels[0] == 0 and set(arrays.labels) == set(range(10))


def test_svhn_load_fetches_only_the_split_asked_for(offline: None, data_home: Path) -> None:
    _write_svhn_mat(data_home / "raw" / "svhn" / "test_32x32.mat", np.random.default_rng(4), 10)  # by hand
    arrays = registry.load("svhn:test")
    assert arrays.images.shape == (10, 32, 32, 3)
    assert sorted(p.name for p in data_home.glob("*.npz")) == ["svhn-test.npz"]
    (row,) = registry.describe_cache()
    assert (row["dataset"], row["split"], row["verified"]) == ("svhn", "test", None)


def test_emnist_extracts_the_letters_and_turns_them_upright(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           data_home: Path) -> None:
    rng = np.random.default_rng(5)
    upright = {"train": _digits(rng, 9, low=1, high=27), "test": _digits(rng, 4, low=1, high=27)}
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        for split, (images_file, labels_file) in emnist.IDX_FILES.items():
            _write_pair(tmp_path / "members", images_file, labels_file,
                        (upright[split][0].transpose(0, 2, 1).copy(), upright[split][1]))  # stored transposed
            for name in (images_file, labels_file):
                z.write(tmp_path / "members" / name, emnist.MEMBER_DIR + name)
        other_set = emnist.MEMBER_DIR + "emnist-digits-train-images-idx3-ubyte.gz"
        z.writestr(other_set, gzip.compress(b"another EMNIST set, not to be extracted"))
    (tmp_path / "nist").mkdir()
    (tmp_path / "nist" / emnist.ARCHIVE).write_bytes(archive.getvalue())
    monkeypatch.setattr(emnist, "URLS", [(tmp_path / "nist").as_uri() + "/" + emnist.ARCHIVE])
    monkeypatch.setattr(emnist, "ARCHIVE_MD5", hashlib.md5(archive.getvalue()).hexdigest())

    splits = emnist.fetch()
    for split, pair in upright.items():
        _assert_equal(splits[split], pair)
        assert 1 <= splits[split].labels.min() and splits[split].labels.max() <= len(emnist.LETTERS) == 26
    extracted = {p.name for p in (data_home / "raw" / "emnist").iterdir()} - {emnist.ARCHIVE}
    assert extracted == {name for pair in emnist.IDX_FILES.values() for name in pair}


@pytest.mark.parametrize("module, folder, file", [
    (fashion, "fashion", "t10k-images-idx3-ubyte.gz"),
    (kannada, "kannada", "X_dig_MNIST-idx3-ubyte.gz"),
    (svhn, "svhn", "test_32x32.mat"),
    (emnist, "emnist", "gzip.zip"),
])
def test_unreachable_sources_say_where_to_place_the_files(module, folder: str, file: str, offline: None,
                                                          data_home: Path) -> None:
    with pytest.raises(DataUnavailableError) as excinfo:
        module.fetch()
    message = str(excinfo.value)
    assert "\n" not in message
    assert str(data_home / "raw" / folder) in message and file in message
    assert not [p for p in data_home.rglob("*") if p.is_file()]  # no half-downloaded file left behind


# --- the registry's cache -------------------------------------------------------------------------------


def test_load_caches_then_reads_the_cache(debian_fashion: dict[str, Pair], monkeypatch: pytest.MonkeyPatch,
                                          tmp_path: Path, data_home: Path) -> None:
    first = registry.load("fashion:test")
    _assert_equal(first, debian_fashion["test"])
    cached = data_home / "fashion-test.npz"
    assert cached.exists()

    shutil.rmtree(tmp_path / "debian")  # every source gone: the second load can only come from the cache
    monkeypatch.setattr(fashion, "BASE_URL", (tmp_path / "unreachable").as_uri() + "/")
    _assert_equal(registry.load("fashion:test"), debian_fashion["test"])

    rows = {(row["dataset"], row["split"]): row for row in registry.describe_cache()}
    assert set(rows) == {("fashion", "test"), ("fashion", "train")}
    assert rows["fashion", "test"] == {
        "dataset": "fashion", "split": "test", "shape": [5, 28, 28], "bytes": cached.stat().st_size,
        "checksum": first.checksum, "verified": True,
    }


def test_a_split_that_differs_from_its_known_checksum_is_not_cached(debian_fashion: dict[str, Pair],
                                                                    monkeypatch: pytest.MonkeyPatch,
                                                                    data_home: Path) -> None:
    monkeypatch.setitem(get_dataset("fashion").checksums, "test", "0" * 64)
    with pytest.raises(ValueError, match="differs from the known"):
        registry.load("fashion:test")
    assert not list(data_home.glob("fashion-test*"))


def test_an_interrupted_cache_write_leaves_no_file(debian_fashion: dict[str, Pair],
                                                   monkeypatch: pytest.MonkeyPatch, data_home: Path) -> None:
    def savez_then_fail(file, **arrays) -> None:
        file.write(b"PK\x03\x04 half an archive")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", savez_then_fail)
    with pytest.raises(OSError, match="disk full"):
        registry.load("fashion:test")
    assert not [p for p in data_home.rglob("*") if p.is_file()]
    assert registry.describe_cache() == []


def test_a_split_made_of_others_is_read_from_theirs_and_never_cached_twice(monkeypatch: pytest.MonkeyPatch,
                                                                         data_home: Path) -> None:
    def make() -> dict[str, Arrays]:
        a = Arrays(np.full((2, 28, 28), 1, np.uint8), np.zeros(2, np.int64))
        b = Arrays(np.full((3, 28, 28), 2, np.uint8), np.ones(3, np.int64))
        return {"a": a, "b": b, "both": Arrays(np.concatenate([a.images, b.images]),
                                               np.concatenate([a.labels, b.labels]))}

    monkeypatch.setitem(registry._DATASETS, "in-parts", registry.DatasetInfo(
        "in-parts", "a split made of two others", ("a", "b", "both"), make,
        parts={"both": ("in-parts:a", "in-parts:b")}))
    fetched = registry.fetch("in-parts")
    assert len(fetched["both"]) == 5
    assert sorted(p.name for p in data_home.rglob("*.npz")) == ["in-parts-a.npz", "in-parts-b.npz"]
    both = registry.load("in-parts:both")
    assert both.images[:, 0, 0].tolist() == [1, 1, 2, 2, 2] and both.labels.tolist() == [0, 0, 1, 1, 1]
    assert registry.fetch("in-parts")["both"].checksum == both.checksum  # from the cache, without making it again


def test_data_the_package_makes_is_made_again_when_that_code_changes(monkeypatch: pytest.MonkeyPatch,
                                                                     data_home: Path) -> None:
    made = []

    def make() -> dict[str, Arrays]:
        made.append(True)
        return {"train": Arrays(np.full((2, 28, 28), len(made), np.uint8), np.zeros(2, np.int64))}

    monkeypatch.setitem(registry._DATASETS, "made-here", registry.DatasetInfo(
        "made-here", "data this package makes", ("train",), make, made_by=("preprocess.py",)))
    code = {"source": b"the code as it was"}
    monkeypatch.setattr(registry, "source_digest", lambda *sources: hashlib.sha256(code["source"]))
    registry._code_version.cache_clear()
    try:
        assert registry.load("made-here:train").images[0, 0, 0] == 1
        first = registry.cache_path("made-here", "train")
        assert registry.load("made-here:train").images[0, 0, 0] == 1 and len(made) == 1  # read from the cache
        code["source"] = b"the code changed"
        registry._code_version.cache_clear()
        assert registry.load("made-here:train").images[0, 0, 0] == 2 and len(made) == 2
        # Code edited while a program runs: the cache keeps the name of the code the program started with, and
        # what the program makes after the edit is cached under neither name.
        cached = registry.cache_path("made-here", "train")
        code["source"] = b"edited during a run"
        assert registry.cache_path("made-here", "train") == cached
        cached.unlink()
        with pytest.raises(RuntimeError, match="changed while this program ran"):
            registry.load("made-here:train")
        assert [p for p in data_home.rglob("*") if p.is_file()] == [first]
    finally:
        registry._code_version.cache_clear()
    assert registry.cache_path("mnist", "val").name == "mnist-val.npz"  # fetched data keeps its plain name
