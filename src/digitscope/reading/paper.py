"""After the ink map: what textured paper leaves in it, taken out.

``preprocess.ink_map`` calls ink whatever departs from the paper by more than the noise of the border strip.
Security paper (cheques: guilloche lines, fine print, a ruled pattern) is grey with faint strokes of its own, and
where the border happens to be plain those faint strokes pass for ink. Joined to the writing, they turn a row of
digits into one component and the line height into nonsense.

Two things tell the pattern from the writing. Contrast: a pen stroke is written dark at its core, a pattern printed
to be written over is faint everywhere. And reach: the faint ink a stroke has of its own is its anti-aliased edge
and the odd light stretch where the pen lifted (a digit's faint join, short: MNIST has many), while the pattern runs
on across the paper, hairline. So ``drop_texture`` keeps the ink at least ``STRONG`` of the writing's stroke level,
and fainter ink within a stroke's edge of it. Fainter hairline ink beyond that edge is pattern once the paper is
seen to have one: at least ``PATTERN_RUNS`` such runs reaching ``TEXTURE_REACH`` line heights or more. On ink with no
pattern nothing changes.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

# The writing's stroke level: this percentile of the ink's strengths. High, so that a page mostly covered by faint
# pattern still takes its level from the pen; not the maximum, which one dark speck would set.
STROKE_PERCENTILE = 95.0
# Ink at least this share of the stroke level is writing. The pattern of the ORAND-CAR-A train cheques mostly stays
# below 0.3 of it, a pen's core above 0.5 (chosen among 0.25-0.55 on those train amounts, benchmarks/read_amounts.py).
STRONG = 0.5
# Fainter ink is a stroke's edge when it lies within this many pixels of writing (the width of an anti-aliased
# edge), or within this share of the strokes' width, whichever is more: an image enlarged or blurred has edges as
# wide as its strokes are thick.
FRINGE = 2
FRINGE_OF_WIDTH = 0.5
# Faint ink beyond the edge is pattern when a connected run of it is at least this long (line heights: the height
# of the tallest heavy piece of writing). A digit's own faint stretch joins two strokes of one digit, far shorter.
TEXTURE_REACH = 0.45
# ...and hairline: at most this share of the writing's stroke width.
TEXTURE_WIDTH = 0.7
# The paper has a pattern when at least this many such runs are found; one could be a stroke's own faint stretch.
PATTERN_RUNS = 2
HEAVY = 0.5  # a piece of writing with this share of the heaviest one's mass sets the line height


def drop_texture(ink: np.ndarray) -> np.ndarray:
    """(H, W) float ink map (0 paper) -> the same with faint pattern set to 0."""
    inked = ink > 0
    if not inked.any():
        return ink
    level = float(np.percentile(ink[inked], STROKE_PERCENTILE))
    writing = ink >= STRONG * level
    # The strokes' width: twice their area over their outline (a stroke w wide and L long: w L / (2 L / 2)).
    outline = writing & ~ndimage.binary_erosion(writing)
    width = 2 * writing.sum() / max(1, outline.sum())
    reach = max(FRINGE, round(FRINGE_OF_WIDTH * width))
    far = inked & ~ndimage.binary_dilation(writing, np.ones((2 * reach + 1, 2 * reach + 1), bool))
    if not far.any():  # no texture: leave the ink map as it is, to the bit
        return ink
    pieces, count = ndimage.label(writing, structure=np.ones((3, 3), bool))
    mass = np.bincount(pieces.ravel(), weights=ink.ravel(), minlength=count + 1)[1:]
    heights = np.array([s[0].stop - s[0].start for s in ndimage.find_objects(pieces)])
    line = float(heights[mass >= HEAVY * mass.max()].max())
    runs, count = ndimage.label(far, structure=np.ones((3, 3), bool))
    extent = np.array([max(s[0].stop - s[0].start, s[1].stop - s[1].start) for s in ndimage.find_objects(runs)])
    # Each run's own width, the same way: printed pattern is hairline, a faint stretch of a stroke is as wide as
    # the stroke.
    # (its area over its length, the longer side of its box: exact for a straight line, more for a curl).
    area = np.bincount(runs.ravel(), minlength=count + 1)[1:]
    thin = area / extent <= TEXTURE_WIDTH * width
    long_runs = (extent >= TEXTURE_REACH * line) & thin
    if long_runs.sum() < PATTERN_RUNS:
        return ink
    # Paper with a pattern: every hairline run of faint ink beyond the strokes' edges is part of it, however short
    # the strokes cut it (between two digits, a line of the pattern is shorter than a digit is wide).
    pattern = np.concatenate([[False], thin])[runs]
    # A pattern line runs on into the stroke's edge where it meets the writing: its stub there goes too (the faint
    # ink within the edge's reach of the pattern), or it would join an underline to the digits or stay a speck.
    stub = ~writing & ndimage.binary_dilation(pattern, np.ones((2 * reach + 1, 2 * reach + 1), bool))
    return np.where(pattern | stub, np.float32(0), ink).astype(ink.dtype, copy=False)
