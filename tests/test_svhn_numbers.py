"""SVHN full numbers (format 1) on a tiny archive written in the published layout: a tar.gz of PNGs and a
MATLAB v7.3 digitStruct.mat (HDF5 with object references, single values stored inline)."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import h5py
import numpy as np
import pytest
from PIL import Image

from digitscope.data import svhn_numbers
from digitscope.data.cache import DataUnavailableError

# (file, labels as SVHN writes them (10 = digit 0), boxes as left, top, width, height)
NUMBERS = [
    ("1.png", [5], [(10, 6, 8, 14)]),
    ("2.png", [1, 10, 7], [(4, 5, 6, 12), (12, 5, 7, 12), (21, 6, 7, 12)]),
    ("3.png", [1, 2, 3, 4, 5, 6], [(2 + 5 * k, 4, 4, 10) for k in range(6)]),  # too long: left out
]
COLOURS = [(255, 0, 0), (0, 255, 0), (0, 0, 255)]


def _write_digit_struct(path: Path) -> None:
    with h5py.File(path, "w", userblock_size=512) as f:  # MATLAB v7.3 files carry a 512-byte header
        refs = f.create_group("#refs#")
        name_refs, bbox_refs = [], []
        for i, (name, labels, boxes) in enumerate(NUMBERS):
            name_refs.append(refs.create_dataset(f"n{i}", data=np.array([[ord(c)] for c in name], np.uint16)).ref)
            group = refs.create_group(f"b{i}")
            fields = {"label": labels, "left": [b[0] for b in boxes], "top": [b[1] for b in boxes],
                      "width": [b[2] for b in boxes], "height": [b[3] for b in boxes]}
            for key, values in fields.items():
                if len(values) == 1:  # one digit: the value inline
                    group.create_dataset(key, data=np.array([[values[0]]], np.float64))
                else:  # several: a reference per digit
                    value_refs = [refs.create_dataset(f"v{i}{key}{j}", data=np.array([[v]], np.float64)).ref
                                  for j, v in enumerate(values)]
                    group.create_dataset(key, data=np.array(value_refs, dtype=h5py.ref_dtype)[:, None])
            bbox_refs.append(group.ref)
        f.create_dataset("digitStruct/name", data=np.array(name_refs, dtype=h5py.ref_dtype)[:, None])
        f.create_dataset("digitStruct/bbox", data=np.array(bbox_refs, dtype=h5py.ref_dtype)[:, None])


def _write_archive(path: Path) -> Path:
    """test.tar.gz with test/N.png (grey photos, each digit box filled with its own colour) + digitStruct.mat."""
    path.parent.mkdir(parents=True, exist_ok=True)
    mat = path.with_name("digitStruct.mat")
    _write_digit_struct(mat)
    with tarfile.open(path, "w:gz") as tar:
        tar.add(mat, arcname="test/digitStruct.mat")
        for name, _, boxes in NUMBERS:
            photo = np.full((30, 40, 3), 128, np.uint8)
            for (x, y, w, h), colour in zip(boxes, COLOURS * 2, strict=False):
                photo[y:y + h, x:x + w] = colour
            data = io.BytesIO()
            Image.fromarray(photo).save(data, format="PNG")
            info = tarfile.TarInfo(f"test/{name}")
            info.size = len(data.getvalue())
            tar.addfile(info, io.BytesIO(data.getvalue()))
    mat.unlink()
    return path


def test_digit_struct_reads_inline_and_referenced_values(tmp_path: Path) -> None:
    _write_digit_struct(tmp_path / "digitStruct.mat")
    annotations = svhn_numbers.read_digit_struct(tmp_path / "digitStruct.mat")
    assert [a.name for a in annotations] == ["1.png", "2.png", "3.png"]
    assert annotations[0].digits == [5] and annotations[0].boxes == [[10, 6, 18, 20]]
    assert annotations[1].digits == [1, 0, 7]  # the label 10 is the digit 0
    assert annotations[1].boxes[2] == [21, 6, 28, 18]


def test_archive_crops_to_the_enlarged_union_and_moves_the_boxes(tmp_path: Path) -> None:
    numbers = svhn_numbers.read_split_archive(_write_archive(tmp_path / "test.tar.gz"), size=54)
    assert numbers.images.shape == (2, 54, 54, 3)  # the six-digit number is left out
    np.testing.assert_array_equal(numbers.lengths(), [1, 3])
    np.testing.assert_array_equal(numbers.digits[1], [1, 0, 7, -1, -1])
    # The union box, enlarged by 30%, fills the crop: the digit box sits about 15% in from each edge.
    box = numbers.boxes[0, 0]
    margins = np.array([box[0], box[1], 54 - box[2], 54 - box[3]]) / 54  # 15%, give or take whole-pixel rounding
    assert np.all((margins > 0.10) & (margins < 0.20)), margins
    # Each rescaled box still covers its own colour in the crop.
    for k, colour in enumerate(COLOURS):
        x0, y0, x1, y1 = numbers.boxes[1, k]
        centre = numbers.images[1, int((y0 + y1) / 2), int((x0 + x1) / 2)]
        np.testing.assert_array_equal(centre, colour)


def test_archive_placed_by_hand_is_read_and_cached(tmp_path: Path, data_home: Path) -> None:
    _write_archive(data_home / "raw" / "svhn" / "test.tar.gz")
    first = svhn_numbers.load("test", size=32)
    assert svhn_numbers.cache_file("test", 32).exists()
    (data_home / "raw" / "svhn" / "test.tar.gz").unlink()  # the cache alone answers now
    np.testing.assert_array_equal(svhn_numbers.load("test", size=32).images, first.images)


def test_unreachable_source_says_where_to_put_the_archive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          data_home: Path) -> None:
    monkeypatch.setattr(svhn_numbers, "BASE_URL", (tmp_path / "unreachable").as_uri() + "/")
    with pytest.raises(DataUnavailableError, match=r"Download .*test\.tar\.gz into .*raw/svhn/test\.tar\.gz"):
        svhn_numbers.load("test")
    assert not list((data_home / "raw" / "svhn").glob("*"))  # no half file left behind


def test_unknown_split_and_foreign_archive_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="choose one of: train, test, extra"):
        svhn_numbers.load("validation")
    with tarfile.open(tmp_path / "other.tar.gz", "w:gz"):
        pass
    with pytest.raises(ValueError, match="no digitStruct.mat"):
        svhn_numbers.read_split_archive(tmp_path / "other.tar.gz")


def test_a_number_at_the_photo_edge_is_padded_not_refused() -> None:
    photo = np.full((20, 20, 3), 200, np.uint8)
    crop, boxes = svhn_numbers.crop_number(photo, np.array([[0, 0, 10, 20]], np.float32), size=32)
    assert crop.shape == (32, 32, 3) and crop[16, 0].max() == 0  # black beyond the left edge
    assert 0 < boxes[0, 0] < boxes[0, 2] < 32
