"""ORAND-CAR-A on tiny sets written by the test in both published formats: a COCO labelling (annotations.json,
JPEGs named as the export names them) and ORAND's official ``a_*_gt.txt`` with its images folder."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from digitscope.data import orand
from digitscope.data.cache import DataUnavailableError
from digitscope.io import file_sha256

# file name as the COCO export writes it -> digit boxes [x, y, w, h] with their digit, deliberately NOT left to
# right, as annotators draw them in any order
AMOUNTS = {
    "a_car_000101_png.rf.0a1b.jpg": [([30, 4, 8, 16], "9"), ([4, 5, 8, 16], "1"), ([17, 4, 8, 16], "9"),
                                     ([43, 6, 8, 15], "0")],
    "a_car_000102_png.rf.2c3d.jpg": [([20, 3, 9, 17], "5")],
    "a_car_000103_png.rf.4e5f.jpg": [([24, 4, 8, 16], "0"), ([5, 4, 9, 16], "7")],
}
SIZE = (60, 24)  # width, height
CATEGORY_ID = {str(d): 10 + (7 * d) % 10 for d in range(10)}  # ids unlike the digits: the name is the label


def _image(boxes: list[tuple[list[int], str]], fmt: str) -> bytes:
    """Light paper with a dark rectangle per digit."""
    pixels = np.full((SIZE[1], SIZE[0], 3), 230, np.uint8)
    for (x, y, w, h), _ in boxes:
        pixels[y:y + h, x:x + w] = 40
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format=fmt)
    return out.getvalue()


def write_coco(folder: Path, amounts: dict = AMOUNTS) -> Path:
    (folder / "images").mkdir(parents=True)
    images, annotations = [], []
    for i, (name, boxes) in enumerate(amounts.items()):
        (folder / "images" / name).write_bytes(_image(boxes, "JPEG"))
        images.append({"id": i, "license": 1, "file_name": name, "width": SIZE[0], "height": SIZE[1]})
        for box, digit in boxes:
            annotations.append({"id": len(annotations), "image_id": i, "category_id": CATEGORY_ID[digit],
                                "bbox": box, "area": box[2] * box[3], "segmentation": [], "iscrowd": 0})
    categories = [{"id": CATEGORY_ID[str(d)], "name": str(d), "supercategory": "Numbers"} for d in range(10)]
    (folder / "annotations.json").write_text(json.dumps(
        {"info": {}, "licenses": [], "categories": categories, "images": images, "annotations": annotations}))
    return folder


def write_gt(folder: Path) -> Path:
    """The release's layout: a_test_gt.txt (FILE DIGITS, tab-separated) and a_test_images/ of PNGs."""
    (folder / "a_test_images").mkdir(parents=True)
    lines = []
    for name, boxes in AMOUNTS.items():
        official = orand.amount_id(name) + ".png"
        (folder / "a_test_images" / official).write_bytes(_image(boxes, "PNG"))
        digits = "".join(d for _, d in sorted(boxes, key=lambda b: b[0][0]))
        lines.append(f"{official}\t{digits}")
    (folder / "a_test_gt.txt").write_text("\n".join(lines) + "\n")
    return folder


def test_coco_reads_texts_and_boxes_left_to_right(tmp_path):
    amounts = orand.read(write_coco(tmp_path))
    assert amounts.names == list(AMOUNTS)
    assert amounts.texts == ["1990", "5", "70"]
    assert amounts.errors == []
    assert amounts.ids == ["a_car_000101", "a_car_000102", "a_car_000103"]
    np.testing.assert_array_equal(amounts.boxes[0], [[4, 5, 12, 21], [17, 4, 25, 20], [30, 4, 38, 20],
                                                     [43, 6, 51, 21]])
    assert all(b.dtype == np.float32 and b.shape == (len(t), 4) for b, t in zip(amounts.boxes, amounts.texts,
                                                                                   strict=True))
    assert all(im.dtype == np.uint8 and im.shape == (SIZE[1], SIZE[0], 3) for im in amounts.images)
    # the boxes lie on the ink drawn there
    x0, y0, x1, y1 = amounts.boxes[1][0].astype(int)
    assert amounts.images[1][y0:y1, x0:x1].mean() < 80 < amounts.images[1][:, :x0].mean()


def test_official_gt_reads_texts_without_boxes(tmp_path):
    amounts = orand.read(write_gt(tmp_path))  # the folder: finds a_test_gt.txt and a_test_images/
    assert amounts.names == ["a_car_000101.png", "a_car_000102.png", "a_car_000103.png"]
    assert amounts.texts == ["1990", "5", "70"]
    assert amounts.boxes is None and amounts.errors == []
    assert orand.read(tmp_path / "a_test_gt.txt").texts == amounts.texts
    # an amount is the same amount in either format
    assert amounts.ids == orand.read(write_coco(tmp_path / "coco")).ids


def test_a_corrupt_or_missing_image_is_named_and_the_others_are_read(tmp_path):
    write_coco(tmp_path)
    corrupt = tmp_path / "images" / "a_car_000102_png.rf.2c3d.jpg"
    corrupt.write_bytes(corrupt.read_bytes()[:200])  # truncated mid-scan
    (tmp_path / "images" / "a_car_000103_png.rf.4e5f.jpg").unlink()
    amounts = orand.read(tmp_path)
    assert amounts.names == ["a_car_000101_png.rf.0a1b.jpg"] and amounts.texts == ["1990"]
    assert len(amounts.errors) == 2
    assert amounts.errors[0].startswith("a_car_000102_png.rf.2c3d.jpg: ")
    assert amounts.errors[1].startswith("a_car_000103_png.rf.4e5f.jpg: ")

    write_gt(tmp_path / "gt")
    (tmp_path / "gt" / "a_test_images" / "a_car_000101.png").write_bytes(b"not an image")
    amounts = orand.read(tmp_path / "gt")
    assert amounts.texts == ["5", "70"] and amounts.errors[0].startswith("a_car_000101.png: ")


def test_an_image_whose_size_disagrees_with_its_annotations_is_left_out(tmp_path):
    write_coco(tmp_path)
    Image.new("RGB", (30, 24), "white").save(tmp_path / "images" / "a_car_000102_png.rf.2c3d.jpg", format="JPEG")
    amounts = orand.read(tmp_path)
    assert amounts.texts == ["1990", "70"]
    assert amounts.errors[0].startswith("a_car_000102_png.rf.2c3d.jpg: decoded 30x24")


@pytest.mark.parametrize(("change", "message"), [
    (lambda c: c["annotations"].__setitem__(slice(None), [a for a in c["annotations"] if a["image_id"] != 1]),
     "a_car_000102_png.rf.2c3d.jpg: no digit box"),
    (lambda c: c["categories"].append({"id": 99, "name": ",", "supercategory": "Numbers"}),
     "categories must be the digits 0-9"),
    (lambda c: c["annotations"][0].__setitem__("bbox", [50, 4, 20, 16]), "outside its 60x24 image"),
])
def test_annotations_not_of_the_expected_form_are_refused(tmp_path, change, message):
    write_coco(tmp_path)
    coco = json.loads((tmp_path / "annotations.json").read_text())
    change(coco)
    (tmp_path / "annotations.json").write_text(json.dumps(coco))
    with pytest.raises(ValueError, match=message):
        orand.read(tmp_path)


def test_malformed_gt_lines_are_refused(tmp_path):
    write_gt(tmp_path)
    (tmp_path / "a_test_gt.txt").write_text("a_car_000101.png 1.990\n")
    with pytest.raises(ValueError, match=r"a_test_gt.txt:1: expected 'FILE DIGITS'"):
        orand.read(tmp_path)


def test_missing_source_says_what_to_place_where(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no ../shared/data/orand-car-a from here
    for call in (lambda: orand.load(), lambda: orand.load(tmp_path / "nowhere"), lambda: orand.read(tmp_path)):
        with pytest.raises(DataUnavailableError) as caught:
            call()
        message = str(caught.value)
        assert "ICFHR 2014" in message and "ORAND" in message
        assert "a_train_gt.txt" in message and "a_test_images/" in message and "annotations.json" in message


def test_the_shared_copy_is_read_only_when_its_checksum_matches(tmp_path, monkeypatch):
    shared = write_coco(tmp_path / "shared" / "data" / "orand-car-a")
    (tmp_path / "project").mkdir()
    monkeypatch.chdir(tmp_path / "project")
    with pytest.raises(DataUnavailableError, match="SHA-256"):
        orand.load()
    monkeypatch.setattr(orand, "SHARED_ANNOTATIONS_SHA256", file_sha256(shared / "annotations.json"))
    assert orand.load().texts == ["1990", "5", "70"]
    assert orand.load(tmp_path / "shared" / "data" / "orand-car-a").texts == ["1990", "5", "70"]  # a path given


def test_split_is_fixed_disjoint_and_covers_all():
    names = [f"a_car_{i:06d}_png.rf.{i * 7919:x}.jpg" for i in range(2000)]
    sides = orand.split_names(names)
    train, test = set(sides["train"]), set(sides["test"])
    assert not train & test and train | test == set(names)
    assert 0.22 < len(test) / len(names) < 0.28
    assert orand.split_names(list(reversed(names)))["test"] == list(reversed(sides["test"]))
    # an amount's side is its own: not moved by the others present, nor by the format naming it
    assert orand.split_names(names[:300])["test"] == [n for n in sides["test"] if n in names[:300]]
    official = [orand.amount_id(n) + ".png" for n in sides["test"]]
    assert orand.split_names(official)["test"] == official


def test_split_parts_of_amounts(tmp_path):
    amounts = orand.read(write_coco(tmp_path))
    sides = orand.split_names(amounts.names)
    train, test = amounts.split("train"), amounts.split("test")
    assert train.names == sides["train"] and test.names == sides["test"]
    assert sorted(train.texts + test.texts) == sorted(amounts.texts)
    picked = amounts.subset(["a_car_000103", "a_car_000101_png.rf.0a1b.jpg"])  # by ORAND id or file name
    assert picked.texts == ["70", "1990"] and picked.boxes[1].shape == (4, 4)
    with pytest.raises(ValueError, match="unknown ORAND-CAR-A split"):
        orand.load(tmp_path, split="val")
