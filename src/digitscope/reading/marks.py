"""Ink that is no digit, told by where it lies on the line: separators, dashes and underlines.

A written amount carries more than its digits: thousands separators (``1.990``, ``25,000``), a dash or an ``=``
after the number so that nothing can be added to it, an underline. None of them is a digit, and none of them may
make a number refused: read as a digit it adds one, joined to a neighbour it spoils the neighbour's reading, and
left unread it looks like a dropped digit. Their shape alone is not enough (a 1 is a short stroke too, the bar of a
5 is a dash), but their shape *on the line* is:

- an **underline** is a long thin horizontal stroke, wider than a digit is, far flatter than any digit;
- a **separator** is a small blob, much smaller than the digits, low on the line (near or below the digits' base),
  and in the paper between digits, not over one;
- a **dash** is a short flat stroke before the first digit or after the last (a leading or trailing mark, or half
  of an ``=``), not at the top of the line. Between digits a flat stroke stays a candidate: there it is more often
  a part of a digit (a 5's lifted bar, a 2's detached base) than a mark.

Sizes are in line heights (``segment``), positions against the band the digits fill (the median top and bottom of
the tall components), so the rules hold at any size and for a line written uphill only as far as a median does.
Everything is decided per connected component, before any component is cut: a mark is never cut, never part of a
candidate digit, and read as nothing at no cost. Once a number is read, short ink wholly beside it is a leading or
trailing mark too, whatever its shape (``beside_the_number``): it is not counted as a digit left unread.
"""

from __future__ import annotations

import numpy as np

NONE, DOT, COMMA, DASH, UNDERLINE = 0, 1, 2, 3, 4
SEPARATORS = {DOT: ".", COMMA: ","}

FLAT = 3.0  # width / height at least this: a horizontal stroke (a flat 2 alone is 1.7)
UNDERLINE_WIDTH = 1.2  # line heights: an underline is wider than a digit (a digit is at most segment.max_width 1.4
UNDERLINE_HEIGHT = 0.35  # wide, but then it is tall as well) and at most this thick
SEPARATOR_SIZE = 0.4  # line heights: a separator's box is at most this wide, and shorter than the shortest digit
# the Reader reads (``SegmentConfig.min_height``): a short 1 is no separator
SEPARATOR_LOW = 0.55  # its centre is below this share of the digits' band, from the top
DASH_HEIGHT = 0.3  # line heights: a dash is at most this thick...
DASH_RATIO = 2.0  # ...at least this much wider than thick...
DASH_HIGH = 0.3  # ...and its centre below this share of the band (the top holds the bars of 5s and 7s)
OVER_A_DIGIT = 0.5  # a mark is over a digit when this share of its width lies within a tall component's columns
TALL = 0.5  # line heights: a component this tall is (part of) a digit


def line_height(boxes: np.ndarray, mass: np.ndarray, heavy: float) -> float:
    """The line height: the height of the tallest component with at least `heavy` of the heaviest one's ink mass,
    flat strokes aside (a heavy underline would otherwise set the line height to its own thickness)."""
    width, height = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    upright = width < FLAT * height
    pool = upright if upright.any() else np.ones(len(boxes), bool)
    chosen = pool & (mass >= heavy * mass[pool].max())
    return float(height[chosen].max())


def find_marks(boxes: np.ndarray, line: float, min_height: float) -> np.ndarray:
    """(n,) code of each component of boxes (n, 4) x0, y0, x1, y1: NONE (maybe a digit), DOT, COMMA, DASH or
    UNDERLINE, on a line `line` pixels high where a digit is at least `min_height` line heights tall."""
    x0, y0, x1, y1 = boxes.T.astype(np.float64)
    width, height = x1 - x0, y1 - y0
    marks = np.full(len(boxes), NONE, np.int8)
    flat = width >= FLAT * height
    marks[flat & (width >= UNDERLINE_WIDTH * line) & (height <= UNDERLINE_HEIGHT * line)] = UNDERLINE
    tall = (height >= TALL * line) & (marks == NONE)
    if not tall.any():
        return marks
    top, bottom = float(np.median(y0[tall])), float(np.median(y1[tall]))
    band = max(bottom - top, 1.0)
    centre = ((y0 + y1) / 2 - top) / band  # 0 at the band's top, 1 at its base
    # The share of each component's width that lies within some tall component's columns: (n, T) overlaps.
    overlap = np.clip(np.minimum(x1[:, None], x1[tall][None, :]) - np.maximum(x0[:, None], x0[tall][None, :]), 0, None)
    over_a_digit = overlap.max(axis=1) > OVER_A_DIGIT * np.maximum(width, 1.0)
    free = (marks == NONE) & ~tall & ~over_a_digit
    small = (width <= SEPARATOR_SIZE * line) & (height < min(SEPARATOR_SIZE, min_height) * line)
    separator = free & small & (centre >= SEPARATOR_LOW)
    # A comma is taller than wide or hangs below the digits' base; a dot is neither.
    comma = (height >= 1.5 * width) | (y1 > bottom + 0.1 * line)
    marks[separator] = np.where(comma[separator], COMMA, DOT)
    middle = (x0 + x1) / 2
    outside = (middle >= x1[tall].max()) | (middle <= x0[tall].min())  # beyond the last digit or before the first
    dash = (free & ~separator & outside & (height <= DASH_HEIGHT * line) & (width >= DASH_RATIO * height)
            & (centre >= DASH_HIGH))
    marks[dash] = DASH
    return marks


def beside_the_number(boxes: np.ndarray, digits: np.ndarray, line: float) -> np.ndarray:
    """(n,) whether each piece of ink, boxes (n, 4), is a leading or trailing mark of the number read in the digit
    boxes ``digits`` (L, 4): its middle before the first digit or beyond the last, and shorter than a digit
    (``TALL`` line heights). Told once the number is read, where ``find_marks`` must tell before: a trailing stroke
    drawn rising, an ``=`` joined to stubs of the paper's hatching or a dash the scan broke in pieces has none of
    the shapes ``find_marks`` knows, but short and beside the digits read it is no digit of the number left unread."""
    middle = (boxes[:, 0] + boxes[:, 2]) / 2
    short = boxes[:, 3] - boxes[:, 1] < TALL * line
    return short & ((middle >= digits[:, 2].max()) | (middle <= digits[:, 0].min()))
