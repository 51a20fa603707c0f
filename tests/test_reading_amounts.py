"""The Reader on written amounts: separators, dashes, underlines and paper pattern are no digits, and never make a
number refused. Fixtures are MNIST test digits written as an amount, with the marks drawn beside them."""

import numpy as np
import pytest
from PIL import Image, ImageDraw
from test_reading import assert_reads, digit, write

from digitscope.reading import Reader, segment
from digitscope.reading.marks import COMMA, DASH, DOT, NONE, UNDERLINE, find_marks
from digitscope.reading.paper import drop_texture


@pytest.fixture(scope="module")
def reader():
    return Reader()


@pytest.fixture(scope="module")
def digits():
    from test_reading import SAMPLE

    with np.load(SAMPLE) as f:
        return f["images"], f["labels"]


def amount(digits, text: str, separator_after: int | None, separator: str = ".", underline: bool = True,
           trailing: str = "-") -> tuple[np.ndarray, np.ndarray]:
    """`text` in MNIST test digits, dark ink on white like a cheque, with a separator after digit
    `separator_after`, an underline below and a trailing mark after: a dash "-", "=", a rising stroke "/", a dash
    at the top "^" or none "": (H, W) uint8 and the digits' boxes."""
    gaps = [18 if k == separator_after else 6 for k in range(len(text) - 1)]
    canvas, boxes = write([digit(digits, int(c)) for c in text], gaps)
    canvas = np.pad(canvas, ((0, 16), (0, 44)))  # room below for the underline and right for the dash
    picture = Image.fromarray(canvas)
    pen = ImageDraw.Draw(picture)
    base, top = int(boxes[:, 3].max()), int(boxes[:, 1].min())
    if separator_after is not None:
        x = (boxes[separator_after, 2] + boxes[separator_after + 1, 0]) // 2
        pen.ellipse((x - 3, base - 6, x + 3, base), fill=255)
        if separator == ",":
            pen.line((x + 2, base - 2, x - 3, base + 5), fill=255, width=3)
    if underline:
        pen.rectangle((int(boxes[0, 0]) - 4, base + 9, int(boxes[-1, 2]) + 10, base + 11), fill=255)
    middle, end = (top + base) // 2, int(boxes[-1, 2])
    for dy in {"=": (-5, 4), "-": (0,), "/": (), "^": (), "": ()}[trailing]:
        pen.rectangle((end + 12, middle + dy, end + 32, middle + dy + 2), fill=255)
    if trailing == "/":  # a short heavy stroke rising to the right, as many cheque writers end an amount
        pen.line((end + 6, middle + 6, end + 28, middle - 6), fill=255, width=7)
    if trailing == "^":  # a heavy dash drawn level with the digits' tops
        pen.rectangle((end + 12, top, end + 36, top + 6), fill=255)
    return 255 - np.asarray(picture), boxes


@pytest.mark.parametrize("which", ["reader", "amounts_reader"])  # the cuts alone; with the line reader beside them
@pytest.mark.parametrize("text, after, separator, trailing", [
    ("1990", 0, ".", "-"), ("25000", 1, ",", "-"), ("4217", 0, ".", "="), ("380", None, ".", "-")])
def test_separators_underlines_and_trailing_marks_are_never_digits(request, which, digits, text, after, separator,
                                                                   trailing):
    image, boxes = amount(digits, text, after, separator, trailing=trailing)
    result = request.getfixturevalue(which).read(image)
    assert_reads(result, text, boxes)  # the digits alone, a box on each, none on a mark
    assert not result.rejected, result
    expected = text if after is None else text[:after + 1] + separator + text[after + 1:]
    assert result.text_with_separators == expected
    assert result.to_dict()["text_with_separators"] == expected


@pytest.mark.parametrize("text, after, trailing", [("1990", 0, "/"), ("380", None, "^")])
def test_a_heavy_trailing_mark_of_any_shape_is_no_digit_left_unread(amounts_reader, digits, text, after, trailing):
    # Neither a dash's shape nor a dash's place on the line, but short and beyond the last digit read: beside the
    # line reader, which reads the amount without it, it is left unread and the amount answered.
    image, boxes = amount(digits, text, after, trailing=trailing)
    result = amounts_reader.read(image)
    assert_reads(result, text, boxes)
    assert not result.rejected, result


def test_marks_never_make_a_number_refused_that_reads_without_them(reader, digits):
    plain, _ = amount(digits, "1990", None, underline=False, trailing="")
    marked, _ = amount(digits, "1990", 0)
    clean, dirty = reader.read(plain), reader.read(marked)
    assert not clean.rejected and not dirty.rejected
    assert dirty.text == clean.text == "1990"
    # Left unread at no cost: the number is as confident as without its marks.
    assert dirty.confidence == pytest.approx(clean.confidence, rel=0.05)


def test_faint_paper_pattern_is_no_ink(reader, digits):
    image, boxes = amount(digits, "1990", 0)
    textured = image.astype(np.int16)
    rows = np.arange(image.shape[0])[:, None] + np.arange(image.shape[1])[None, :] // 3
    textured[(rows % 7 == 0) & (image > 128)] -= 60  # hairline diagonals, faint against the pen's 255 grey levels
    result = reader.read(np.clip(textured, 0, 255).astype(np.uint8))
    assert_reads(result, "1990", boxes)
    assert not result.rejected


def test_drop_texture_leaves_ink_without_pattern_as_it_is(digits):
    canvas, _ = write([digit(digits, 5), digit(digits, 2)], [6])
    ink = canvas.astype(np.float32)
    assert np.array_equal(drop_texture(ink), ink)


def test_marks_by_their_place_on_the_line():
    # A row of digits 40 px high (y 10-50) and, around them, one of each mark; boxes x0, y0, x1, y1.
    digits_ = [[10, 10, 35, 50], [50, 10, 75, 50], [90, 10, 115, 50]]
    boxes = np.array(digits_ + [
        [40, 44, 45, 49],  # a dot low between two digits
        [80, 42, 84, 54],  # a comma hanging below the base
        [125, 28, 145, 31],  # a dash after the last digit
        [5, 54, 150, 57],  # an underline
        [55, 10, 70, 14],  # a flat stroke at the top, over a digit: a 5's bar, not a mark
        [38, 28, 46, 31],  # a flat stroke between two digits: may be part of one, not a mark
        [95, 30, 100, 35],  # a speck over a digit, not between two
    ])
    marks = find_marks(boxes, line=40.0, min_height=segment.SegmentConfig().min_height)
    assert marks.tolist() == [NONE] * 3 + [DOT, COMMA, DASH, UNDERLINE, NONE, NONE, NONE]


def test_a_mark_is_never_part_of_a_candidate_digit(digits):
    image, _ = amount(digits, "1990", 0)
    from digitscope.reading.reader import candidates

    atoms, spans, _, _ = candidates(image)
    marked = np.flatnonzero(atoms.mark != NONE)
    assert len(marked) >= 3  # the dot, the underline and the dash
    for i, j in spans.index:
        assert not np.isin(marked, np.arange(i, j)).any()


def test_amounts_are_scored_by_their_digits_and_boxes(reader, digits):
    from digitscope.reading.amounts import match_boxes, score_amounts

    right, right_boxes = amount(digits, "1990", 0)
    other, other_boxes = amount(digits, "380", None)
    wrong_ones = []
    score = score_amounts(reader, [right, other], ["1990", "381"], [right_boxes, other_boxes],
                          on_wrong=lambda k, reading: wrong_ones.append((k, reading.text)))
    assert wrong_ones == [(1, "380")]  # the second amount's truth was given wrong on purpose
    assert score["n"] == 2 and score["exact"] == 0.5 and score["refused"] == 0.0
    assert score["exact_answered"] == 0.5 and score["boxes_matched"] == 1.0 and score["box_iou"] > 0.7
    # One to one, best first: the second found box may not take the true box the first one matched.
    found = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [50, 0, 60, 10]], float)
    true = np.array([[0, 0, 10, 10], [100, 0, 110, 10]], float)
    assert match_boxes(found, true).tolist() == [1.0]
    with pytest.raises(ValueError, match="no amounts"):
        score_amounts(reader, [], [], [])
