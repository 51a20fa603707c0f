"""The Reader: whole numbers from images, a box on every digit, and refusals that say why."""

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont
from scipy import ndimage
from typer.testing import CliRunner

import digitscope
from digitscope.cli import app
from digitscope.data import synthetic
from digitscope.imageio import ImageError, ImageTooLargeError
from digitscope.reading import Reader, Reading, SegmentConfig, segment
from digitscope.reading.fitting import fit_rule
from digitscope.reading.path import best_path
from digitscope.reading.prior import SegmentPrior
from digitscope.reading.reader import MAX_PIXELS, candidates
from digitscope.reading.risk import threshold_for

# The first four digits of each class in mnist:test (never trained on), so the tests need no download.
SAMPLE = Path(__file__).parent / "data" / "mnist-test-sample.npz"
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


@pytest.fixture(scope="module")
def reader():
    return Reader()


@pytest.fixture(scope="module")
def digits():
    with np.load(SAMPLE) as f:
        return f["images"], f["labels"]


def digit(digits, value: int, nth: int = 0) -> np.ndarray:
    images, labels = digits
    return images[np.flatnonzero(labels == value)[nth]]


def write(parts: list[np.ndarray], gaps: list[int], scale: int = 2, margin: int = 12) -> np.ndarray:
    """White-on-black MNIST digits, each cropped to its ink and enlarged, left to right with the given gaps
    (negative: overlapping) between their ink: (H, W) uint8 in MNIST polarity, and their boxes."""
    crops = []
    for part in parts:
        rows, cols = np.flatnonzero(part.any(1)), np.flatnonzero(part.any(0))
        crop = Image.fromarray(part[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1])
        crops.append(np.array(crop.resize((crop.width * scale, crop.height * scale), Image.Resampling.BILINEAR)))
    height = max(c.shape[0] for c in crops)
    width = sum(c.shape[1] for c in crops) + sum(gaps)
    canvas = np.zeros((height + 2 * margin, width + 2 * margin), np.uint8)
    x, boxes = margin, []
    for crop, gap in zip(crops, [0, *gaps], strict=True):
        x += gap
        y = margin + (height - crop.shape[0]) // 2
        region = canvas[y:y + crop.shape[0], x:x + crop.shape[1]]
        np.maximum(region, crop, out=region)
        boxes.append([x, y, x + crop.shape[1], y + crop.shape[0]])
        x += crop.shape[1]
    return canvas, np.array(boxes)


def iou(a, b) -> float:
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - ix * iy
    return ix * iy / union


def assert_reads(result: Reading, text: str, boxes=None, min_iou: float = 0.6) -> None:
    assert result.text == text, result
    assert [d.digit for d in result.digits] == [int(c) for c in text]
    if boxes is not None:
        for found, true in zip(result.digits, boxes, strict=True):
            assert iou(found.box, true) >= min_iou, (found.box, true)


# --- the path search


def test_best_path_on_a_hand_made_score_table():
    # Three atoms. Read one by one: "1", "7", "1" (log-probabilities -0.1, -0.2, -0.1); atoms 0-1 together
    # read as a "4" (-0.05); atoms 1-2 as a "9" (-2.0); atom 1 skipped costs -5.
    starts = np.array([0, 1, 2, 0, 1, 1])
    ends = np.array([1, 2, 3, 2, 3, 2])
    scores = np.array([-0.1, -0.2, -0.1, -0.05, -2.0, -5.0])
    is_digit = np.array([True, True, True, True, True, False])
    # Best overall: the "4" then the last "1" (-0.15), better than three digits (-0.4).
    assert best_path(3, starts, ends, scores, is_digit) == [3, 2]
    # Exactly three digits: the only such path.
    assert best_path(3, starts, ends, scores, is_digit, length=3) == [0, 1, 2]
    # Exactly two: "4"+"1" (-0.15) beats "1"+"9" (-2.1) and "1", skip, "1" has only two digits too (-5.2).
    assert best_path(3, starts, ends, scores, is_digit, length=2) == [3, 2]
    # One digit cannot cover three atoms without skipping atom 0 or 2: no path.
    assert best_path(3, starts, ends, scores, is_digit, length=1) is None


def test_best_path_weighs_every_segmentation_not_a_greedy_one():
    # Greedy left to right would take the confident first atom alone (-0.01) and be left with a poor rest
    # (-3.0); the best segmentation reads atoms 0-1 as one digit (-0.5) and atom 2 alone (-0.1).
    starts, ends = np.array([0, 1, 0, 2]), np.array([1, 3, 2, 3])
    scores = np.array([-0.01, -3.0, -0.5, -0.1])
    assert best_path(3, starts, ends, scores, np.ones(4, bool)) == [2, 3]


def test_best_path_refuses_malformed_edges():
    with pytest.raises(ValueError, match="start < end"):
        best_path(2, np.array([1]), np.array([1]), np.array([0.0]), np.array([True]))


# --- reading


def test_reads_a_handwritten_string_of_mnist_test_digits(reader, digits):
    strings = synthetic.freeform_strings(*digits, 3, seed=0, min_len=4, max_len=4)
    exact = 0
    for image, text, boxes in zip(strings.images, strings.texts, strings.boxes, strict=True):
        result = reader.read(image)
        assert 0 < result.confidence <= 1
        assert result.confidence == pytest.approx(np.prod([d.confidence for d in result.digits]), abs=1e-5)
        if not result.rejected:  # an answer given is right; a doubtful one (an open 0 like a 2) is refused
            assert_reads(result, text, boxes)
        exact += result.text == text
    assert exact >= 2


def test_reads_a_photo_like_house_number(reader, digits):
    scenes = synthetic.house_number_scenes(*digits, 3, seed=0, min_len=4, max_len=4)
    for image, text, boxes in zip(scenes.images, scenes.texts, scenes.boxes, strict=True):
        assert_reads(reader.read(image), text, boxes, min_iou=0.5)  # blur widens the ink a little


def test_splits_two_touching_digits(reader, digits):
    for pair in ("47", "28", "72"):
        image, boxes = write([digit(digits, int(pair[0]), 1), digit(digits, int(pair[1]), 2)], gaps=[-2])
        assert ndimage.label(image > 0, np.ones((3, 3)))[1] == 1  # one piece of ink
        assert_reads(reader.read(255 - image), pair, boxes)


def test_splits_a_touching_pair_narrower_than_a_line_height(reader, digits):
    """A 1 run into a 7: one piece of ink no wider than the digits are tall, which is still two digits."""
    image, boxes = write([digit(digits, 1), digit(digits, 7)], gaps=[-10])
    assert ndimage.label(image > 0)[1] == 1
    rows, cols = np.flatnonzero(image.any(axis=1)), np.flatnonzero(image.any(axis=0))
    assert np.ptp(cols) <= np.ptp(rows)  # the pair is no wider than it is tall
    assert_reads(reader.read(255 - image), "17", boxes, min_iou=0.5)


@pytest.mark.parametrize("pair, nth, gap", [("75", 1, -8), ("40", 3, -8), ("17", 2, -4)])
def test_cuts_overlapping_digits_where_they_meet(reader, digits, pair, nth, gap):
    """Strokes that overlap side by side (a 7's bar over the 5 after it): the cut crosses the ink where the digits
    meet instead of wandering round a stroke and handing it to the neighbour."""
    image, boxes = write([digit(digits, int(pair[0]), nth), digit(digits, int(pair[1]), (nth + 1) % 4)], gaps=[gap])
    assert ndimage.label(image > 0, np.ones((3, 3)))[1] == 1
    assert_reads(reader.read(255 - image), pair, boxes, min_iou=0.5)


def test_merges_the_pieces_of_a_broken_digit(reader, digits):
    image, _ = write([digit(digits, 2), digit(digits, 7), digit(digits, 4)], gaps=[20, 20])
    five = digit(digits, 5)
    # A 5 whose bar is lifted off its body: two pieces of ink, one digit.
    broken = np.zeros((28, 28), np.uint8)
    rows = np.flatnonzero(five.any(1))
    cut = rows[0] + 5
    broken[:cut - 2], broken[cut:] = five[2:cut], five[cut:]
    image, boxes = write([digit(digits, 2), broken, digit(digits, 4)], gaps=[20, 20])
    assert_reads(reader.read(255 - image), "254", boxes)


def test_any_polarity_and_colour(reader, digits):
    ink, boxes = write([digit(digits, d) for d in (6, 0, 9)], gaps=[14, 10])
    alpha = ink[..., None] / 255.0
    paper, pen = np.array([250, 220, 120]), np.array([30, 40, 170])  # blue ink on yellow paper
    colour = np.round(paper * (1 - alpha) + pen * alpha).astype(np.uint8)
    for image in (255 - ink, ink, colour):
        assert_reads(reader.read(image), "609", boxes)


def test_tolerates_a_little_rotation(reader, digits):
    ink, _ = write([digit(digits, d, 1) for d in (4, 2, 1, 7)], gaps=[12, 12, 12], margin=30)
    for angle in (-7, 7):
        rotated = np.array(Image.fromarray(ink).rotate(angle, resample=Image.Resampling.BILINEAR))
        assert reader.read(255 - rotated).text == "4217"


def test_a_row_of_letters_is_no_number(reader):
    font = ImageFont.truetype(FONT, 40)
    for word in ("hello", "xyz", "Main Street"):
        image = Image.new("L", (40 + 28 * len(word), 70), 255)
        ImageDraw.Draw(image).text((15, 10), word, fill=0, font=font)
        result = reader.read(np.array(image))
        assert result.rejected and result.reason in ("not_a_digit", "uncertain"), (word, result)


def test_a_scribble_is_no_number(reader):
    # One tangled stroke, as drawn on the page: kept whole, it is a single candidate the classifier calls "not a
    # digit", and the answer must say so rather than "a doubtful 6".
    reasons = []
    for seed in range(12):
        points = np.cumsum(np.random.default_rng(seed).normal(0, 0.06, (80, 2)), axis=0)
        points = 0.5 + 0.35 * points / np.abs(points).max()
        image = Image.new("L", (400, 200), 255)
        ImageDraw.Draw(image).line([(x * 400, y * 200) for x, y in points], fill=0, width=13, joint="curve")
        result = reader.read(np.array(image))
        assert result.rejected, (seed, result)
        reasons.append(result.reason)
    assert reasons.count("not_a_digit") >= 9, reasons


def test_a_mark_left_unread_between_digits_makes_the_reading_refused(reader, digits):
    # The path skips a letter it cannot read as a digit; "35" from "3 M 5" would be a confident wrong number.
    font = ImageFont.truetype(FONT, 22)
    for letter in "MK":
        glyph = Image.new("L", (28, 28), 0)
        ImageDraw.Draw(glyph).text((3, 0), letter, fill=255, font=font)
        canvas, _ = write([digit(digits, 3), np.array(glyph), digit(digits, 5)], [10, 10])
        result = reader.read(canvas)
        assert result.rejected and result.reason == "uncertain", (letter, result)
    canvas, _ = write([digit(digits, 3), digit(digits, 5)], [10])
    assert not reader.read(canvas).rejected


def test_a_blank_page_is_no_number(reader):
    for image in (np.full((60, 200), 255, np.uint8), np.zeros((30, 30, 3), np.uint8), np.full((8, 10), 9, np.uint8)):
        assert reader.read(image).to_dict() == {"text": "", "confidence": None, "rejected": True,
                                                "reason": "not_a_digit", "digits": [],
                                                    "text_with_separators": ""}


def test_hints_expected_length_and_charset(reader, digits):
    image, _ = write([digit(digits, 4, 1), digit(digits, 7, 2)], gaps=[-2])
    two = reader.read(255 - image, expect_length=2)
    assert two.text == "47" and len(two.digits) == 2 and not two.rejected
    # Six digits cannot be made of this ink: the best reading, refused.
    six = reader.read(255 - image, expect_length=6)
    assert six.rejected and six.text == "47"
    # A charset without 7: the 7 must be read as something else, and that reading is not to be trusted.
    limited = reader.read(255 - image, charset="012345")
    assert limited.rejected and "7" not in limited.text
    with pytest.raises(ValueError, match="charset"):
        reader.read(255 - image, charset="0a")


def test_bad_input_gets_a_clear_error(reader):
    with pytest.raises(ImageError, match="too small"):
        reader.read(np.zeros((0, 0), np.uint8))
    with pytest.raises(ImageError, match="too small"):
        reader.read(np.zeros((1, 1), np.uint8))
    huge = np.broadcast_to(np.uint8(255), (50_000, 50_000))  # no memory behind it: the shape is checked first
    with pytest.raises(ImageTooLargeError, match=f"{MAX_PIXELS:,}"):
        reader.read(huge)
    with pytest.raises(ImageError, match="uint8"):
        reader.read(np.zeros((40, 40), np.float32))
    with pytest.raises(ImageError, match=r"\(H, W, 3\)"):
        reader.read(np.zeros((40, 40, 4), np.uint8))
    rng = np.random.default_rng(0)
    for shape in ((8, 8), (9, 13, 3), (10, 300)):  # small, odd sizes: an answer, never a crash
        assert reader.read(rng.integers(0, 256, shape, dtype=np.uint8)).rejected in (True, False)


def test_a_large_photo_is_read_at_working_resolution_with_boxes_in_its_pixels(reader, digits):
    ink, boxes = write([digit(digits, d) for d in (8, 1)], gaps=[60], scale=45, margin=300)
    assert ink.size > 2_000_000
    result = reader.read(255 - ink)
    assert_reads(result, "81", boxes)


def test_exported_at_the_top_level():
    assert digitscope.Reader is Reader


def test_cli_read_json_and_a_bad_file(tmp_path, digits):
    image, _ = write([digit(digits, 7), digit(digits, 3)], gaps=[16])
    good, bad = tmp_path / "73.png", tmp_path / "broken.png"
    Image.fromarray(255 - image).save(good)
    bad.write_bytes(b"not an image")
    out = CliRunner().invoke(app, ["read", str(good), str(bad), "--expect-length", "2", "--json"])
    assert out.exit_code == 1
    first, second = (json.loads(line) for line in out.stdout.strip().splitlines())
    assert first["file"] == str(good) and first["text"] == "73" and len(first["digits"]) == 2
    assert set(first["digits"][0]) >= {"digit", "box", "confidence"}
    assert second["file"] == str(bad) and second["rejected"] and second["reason"] == "error"
    assert "not a supported image" in second["error"]
    human = CliRunner().invoke(app, ["read", str(good)])
    assert human.exit_code == 0 and "73" in human.stdout
    int8 = CliRunner().invoke(app, ["read", str(good), "--backend", "int8", "--json"])  # the bundled int8 graph
    assert int8.exit_code == 0 and json.loads(int8.stdout)["text"] == "73"
    wrong = CliRunner().invoke(app, ["read", str(good), "--backend", "int4"])
    assert wrong.exit_code != 0 and "auto, torch, onnxruntime, int8" in wrong.output


# --- the number's reject rule at a chosen risk


def test_number_threshold_is_the_most_answering_point_within_the_risk():
    rule = {"curve": [[0.99, 0.30, 0.0], [0.95, 0.60, 0.004], [0.80, 0.90, 0.009], [0.20, 0.98, 0.03]]}
    assert threshold_for(rule, 0.005) == 0.95
    assert threshold_for(rule, 0.01) == 0.80
    assert threshold_for(rule, 0.0) == 0.99
    assert threshold_for({"curve": [[0.9, 0.5, 0.02]]}, 0.01) == float("inf")  # nothing that safe: refuse all
    with pytest.raises(ValueError, match="max_risk"):
        threshold_for(rule, 1.5)


def test_number_rule_curve_says_what_each_threshold_answers(reader, digits):
    images, labels = digits
    sets = {"a": synthetic.mnist_sequences(images, labels, 12, seed=0),
            "b": synthetic.freeform_strings(images, labels, 12, seed=1, max_len=4)}
    rule = fit_rule(reader, sets)
    assert reader.number_threshold is None  # the reader passed in is left as it was
    everything = Reader(reader.classifier)
    everything.number_threshold = 0.0  # refuses only what no threshold answers, as the fit reads
    results = [everything.read(np.asarray(image)) for s in sets.values() for image in s.images]
    texts = [t for s in sets.values() for t in s.texts]
    thresholds = [t for t, _, _ in rule["curve"]]
    assert rule["readings"] == 24 and thresholds and thresholds == sorted(thresholds, reverse=True)
    for threshold, coverage, risk in rule["curve"]:
        answered = [r.text == t for r, t in zip(results, texts, strict=True)
                    if not r.rejected and r.confidence >= threshold]
        assert len(answered) / 24 == pytest.approx(coverage, abs=1e-4)
        assert 1 - np.mean(answered) == pytest.approx(risk, abs=1e-4)


def test_reader_at_a_chosen_risk_refuses_numbers_below_its_threshold(digits):
    classifier = digitscope.load("reading")
    temperature = classifier.card.temperature
    canvas, _ = write([digit(digits, 3), digit(digits, 5)], [10])
    classifier.card = replace(classifier.card, reading={"number_reject": {
        "temperature": temperature, "curve": [[0.999999, 0.2, 0.0], [0.5, 0.9, 0.01]]}})
    strict, lenient = Reader(classifier, max_risk=0.001), Reader(classifier, max_risk=0.02)
    assert strict.read(canvas).rejected and strict.read(canvas).reason == "uncertain"
    assert_reads(lenient.read(canvas), "35")
    assert not lenient.read(canvas).rejected

    classifier.card = replace(classifier.card, reading={})
    with pytest.raises(ValueError, match="no reject rule for whole numbers"):
        Reader(classifier, max_risk=0.01)
    classifier.card = replace(classifier.card, reading={"number_reject": {"temperature": 1.0, "curve": []}})
    with pytest.raises(ValueError, match="fit it again"):
        Reader(classifier, max_risk=0.01)


def test_bundled_reading_model_carries_a_number_rule(tmp_path, digits):
    image, _ = write([digit(digits, 4), digit(digits, 2)], gaps=[14])
    path = tmp_path / "42.png"
    Image.fromarray(255 - image).save(path)
    out = CliRunner().invoke(app, ["read", str(path), "--max-risk", "0.02", "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["text"] == "42"
    wrong = CliRunner().invoke(app, ["read", str(path), "--max-risk", "2"])
    assert wrong.exit_code != 0 and "--max-risk" in wrong.output


# --- the segmentation prior


@pytest.mark.parametrize("value, nth", [(2, 0), (2, 1), (5, 0), (7, 2)])
def test_a_flat_digit_alone_is_one_digit_however_wide(reader, digits, value, nth):
    """A digit written wide and low, alone on its row: the row's line height is its own height, so it is wider than
    a digit of the row may be, and its seams cut it into pieces; the uncut digit must still be a candidate."""
    image, boxes = write([digit(digits, value, nth)], gaps=[])
    flat = np.array(Image.fromarray(image).resize((image.shape[1] * 2, image.shape[0] * 2 // 3),
                                                  Image.Resampling.BILINEAR))
    rows, cols = np.flatnonzero(flat.max(axis=1) > 40), np.flatnonzero(flat.max(axis=0) > 40)
    assert np.ptp(cols) > SegmentConfig().max_width * np.ptp(rows)
    result = reader.read(255 - flat)
    assert_reads(result, str(value))


def test_candidates_measure_width_upright_as_well_as_along_the_slant():
    """A 2's base, sheared along a strong slant, is wider than the digit stands: a span is too wide only when it
    is too wide both ways."""
    ink = np.zeros((40, 90), np.float32)
    for x in (5, 70):  # two strokes leaning right, "/", half a pixel a row: the row's slant
        for y in range(5, 35):
            ink[y, x + (35 - y) // 2:x + (35 - y) // 2 + 4] = 255
    ink[6:10, 30:50], ink[30:34, 42:62] = 255, 255  # bars, top-left and bottom-right: 32 px upright
    atoms = segment.find_atoms(ink)
    assert atoms.slant == pytest.approx(0.5)
    bars = [int(np.flatnonzero((atoms.boxes[:, 0] == x0) & (atoms.boxes[:, 1] == y0))[0])
            for x0, y0 in ((30, 6), (42, 30))]
    upright = 62 - 30
    along = atoms.extent[bars, 1].max() - atoms.extent[bars, 0].min()
    assert upright <= SegmentConfig().max_width * atoms.line_height < along
    assert [min(bars), max(bars) + 1] in segment.candidate_spans(atoms).index.tolist()


def test_prior_prefers_a_whole_digit_to_a_sliver_or_a_pair(reader):
    # width, height (line heights), gap, atoms, ink crossed by the left / right cut
    whole = [0.7, 1.0, 0.0, 1, 0.0, 0.0]
    sliver = [0.15, 0.9, 0.0, 1, 0.3, 0.3]  # a thin piece cut out of the middle of a component
    pair = [1.4, 1.0, 0.0, 3, 0.0, 0.0]  # two digits' worth of width
    odds = reader.prior.log_odds(np.array([whole, sliver, pair]))[:, 0]  # read as a 0
    assert odds[0] > 0 > odds[1] and odds[0] > odds[2]


def test_prior_from_another_segmentation_is_refused(tmp_path, reader):
    card = {**reader.prior.card, "shape": ["width", "height"], "coef": [0.0], "intercept": 0.0}
    path = tmp_path / "prior.json"
    path.write_text(json.dumps(card))
    with pytest.raises(ValueError, match="refit"):
        SegmentPrior.load(path)


def test_a_reading_as_json_has_the_shape_the_command_and_the_api_give(reader, digits):
    image, _ = write([digit(digits, 4), digit(digits, 7)], gaps=[8])
    reading = reader.read(255 - image)
    assert isinstance(reading, Reading)
    as_json = json.loads(json.dumps(reading.to_dict()))
    assert list(as_json) == ["text", "confidence", "rejected", "reason", "digits", "text_with_separators"]
    assert as_json["text"] == reading.text and len(as_json["digits"]) == len(reading.digits)
    for d, box in zip(as_json["digits"], reading.digits, strict=True):
        assert list(d) == ["digit", "box", "confidence", "probabilities"]
        assert d["box"] == box.box and all(isinstance(v, int) for v in d["box"]) and len(d["probabilities"]) == 10


def test_segment_config_comes_from_the_reader_or_the_card_else_the_defaults(reader, digits):
    card = reader.classifier.card
    assert reader.config == SegmentConfig() == SegmentConfig.from_card(replace(card, reading={}))
    with_segment = replace(card, reading={**card.reading, "segment": {"max_atoms": 2}})
    assert SegmentConfig.from_card(with_segment) == replace(SegmentConfig(), max_atoms=2)
    assert SegmentConfig.from_card(replace(card, reading={"segment": SegmentConfig().to_dict()})) == SegmentConfig()
    # A setting reaches the segmentation: with no cuts into components, a touching pair is one candidate.
    image, _ = write([digit(digits, 1), digit(digits, 7)], gaps=[-10])
    uncut = Reader(reader.classifier, reader.prior, config=replace(reader.config, cut_width=100.0))
    assert uncut.config.cut_width == 100.0 and reader.config.cut_width == 0.75
    assert len(candidates(255 - image, uncut.config)[1]) < len(candidates(255 - image, reader.config)[1])
