"""Before the ink map: what a photo adds to a page of digits and ``preprocess.ink_map`` does not expect.

ink_map takes the paper to be one level, read off the border, and the ink to be whatever departs from it
on one side. Uneven lighting breaks the first assumption (a gradient passes for ink), and a strong straight
line (the frame of a sign, a door's edge, a ruled line) can outweigh the digits and win the choice of
polarity. ``clean_scene`` fits the paper (a smooth surface), paints the rules over with it and levels
the lighting; evenly lit images without rules come back untouched.
"""

from __future__ import annotations

from functools import reduce

import numpy as np
from PIL import Image
from scipy import ndimage

from ..preprocess import _border, ink_map
from .paper import drop_texture

# Lighting is levelled when the paper varies across the image by more than this many grey levels; below
# it, ink_map's single paper level is exact enough.
LIGHTING_TOLERANCE = 12.0
PAPER_SAMPLES = 20_000  # pixels, on a regular grid, that the paper surface is fitted to
PAPER_ROUNDS = 10

# A rule is a straight horizontal or vertical line across the image: a row (column) where at least
# RULE_COVERAGE of the pixels stand out from the pixels RULE_REACH away on both sides of it by more than
# RULE_CONTRAST grey levels (in some colour channel). Comparing with near neighbours makes the test blind
# to lighting; asking for nearly the whole row makes it blind to digits, which never cross a whole image.
RULE_COVERAGE = 0.9
RULE_REACH = 6  # pixels: rules up to about this thick
RULE_CONTRAST = 15.0
RULE_MARGIN = 2  # rows (columns) beside a rule that go with it: its soft edges after blur and JPEG


def _channel_max(x: np.ndarray) -> np.ndarray:
    """x.max(axis=-1) over a few colour channels, thirty times as fast: numpy reduces a short last axis pixel by
    pixel, but takes the maximum of whole channels at once."""
    return reduce(np.maximum, (x[..., c] for c in range(x.shape[-1])))


def _rules(pixels: np.ndarray, axis: int) -> np.ndarray:
    """(n,) True for the rows (axis 0) or columns (axis 1) of `pixels` (H, W, C) that a rule runs along."""
    n = pixels.shape[axis]
    reach = min(RULE_REACH, n - 1)
    index = np.arange(n)
    # Each pixel against both neighbours `reach` away (just the one at the image's edges; on an image too
    # small for either, the farthest pixel there is).
    before = np.take(pixels, np.where(index >= reach, index - reach, np.minimum(index + reach, n - 1)), axis=axis)
    after = np.take(pixels, np.where(index + reach < n, index + reach, np.maximum(index - reach, 0)), axis=axis)
    contrast = np.minimum(_channel_max(np.abs(pixels - before)), _channel_max(np.abs(pixels - after)))  # (H, W)
    lines = (contrast > RULE_CONTRAST).mean(axis=1 - axis) >= RULE_COVERAGE
    return ndimage.binary_dilation(lines, np.ones(2 * RULE_MARGIN + 1, bool)) if lines.any() else lines


def _quadratic(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """The terms of a quadratic surface at (u, v): shape (6, ...)."""
    return np.stack([np.ones_like(u), u, v, u * u, u * v, v * v])


def _paper_surface(pixels: np.ndarray, usable: np.ndarray) -> np.ndarray:
    """(H, W, C) paper colour: a quadratic surface per channel, fitted to the `usable` pixels, of which the
    paper is the majority."""
    h, w = usable.shape
    step = max(1, int(np.sqrt(h * w / PAPER_SAMPLES)))
    ys, xs = np.mgrid[0:h:step, 0:w:step].reshape(2, -1)
    keep = usable[ys, xs]
    ys, xs = ys[keep], xs[keep]
    # Samples along the last axis, (6, S) terms and (C, S) values: every step of the fit below runs over long
    # contiguous rows (with the surface evaluated term by term, 2.0 -> 1.5 ms on an ORAND amount).
    values = pixels[ys, xs].T.astype(np.float64)  # (C, S)
    terms = _quadratic(xs / w - 0.5, ys / h - 0.5)  # (6, S)
    # Least absolute deviations (iteratively reweighted least squares): the ink and any other outlier pull
    # on the fit with a bounded force, however far from the paper they are.
    weights = np.ones(len(ys))
    ridge = 1e-6 * np.eye(6)
    for _ in range(PAPER_ROUNDS):
        weighted = terms * weights
        coef = np.linalg.solve(weighted @ terms.T + ridge, weighted @ values.T)  # (6, C)
        residual = np.abs(values - coef.T @ terms).max(axis=0)  # (S,)
        weights = 1 / np.maximum(residual, 1.0)
    u, v = np.arange(w) / w - 0.5, np.arange(h) / h - 0.5
    # The surface term by term: a (6, H, W) stack of the terms would cost more than the fit.
    along_u = np.stack([np.ones_like(u), u, u * u], 1) @ coef[[0, 1, 3]]  # (W, C)
    along_v = np.stack([v, v * v], 1) @ coef[[2, 5]]  # (H, C)
    across = v[:, None, None] * (u[:, None] * coef[4])  # (H, W, C)
    return (across + along_u + along_v[:, None]).astype(np.float32)


def clean_scene(image: np.ndarray) -> np.ndarray:
    """(H, W) or (H, W, 3) uint8 -> the same, rules painted over with the paper and the lighting levelled."""
    h, w = image.shape[:2]
    pixels = image.reshape(h, w, -1).astype(np.float32)  # (H, W, C)
    rules = _rules(pixels, 0)[:, None] | _rules(pixels, 1)[None, :]  # (H, W)
    border = np.stack([_border(pixels[..., c]) for c in range(pixels.shape[2])], axis=1)
    low, high = np.percentile(border, [10, 90], axis=0)
    even = (high - low).max() < LIGHTING_TOLERANCE  # noise and a few strokes aside
    if (even and not rules.any()) or rules.all():
        return image
    paper = _paper_surface(pixels, ~rules)
    pixels[rules] = paper[rules]
    if (paper.max(axis=(0, 1)) - paper.min(axis=(0, 1))).max() >= LIGHTING_TOLERANCE:
        pixels += paper.mean(axis=(0, 1)) - paper
    return np.clip(np.round(pixels), 0, 255).astype(np.uint8).reshape(image.shape)


def _working_resolution(image: np.ndarray, work_pixels: int) -> tuple[np.ndarray, int]:
    """Shrink an image of more than `work_pixels` by a whole factor (box filter); returns the image and the factor."""
    h, w = image.shape[:2]
    factor = int(np.ceil(np.sqrt(h * w / work_pixels)))
    if factor <= 1:
        return image, 1
    return np.asarray(Image.fromarray(image).reduce(factor)), factor


def page_ink(image: np.ndarray, work_pixels: int) -> tuple[np.ndarray, int]:
    """The ink map the Reader reads a checked image on (rules painted over, lighting levelled, paper texture
    dropped), shrunk to at most about `work_pixels`, and the factor from that resolution to the image's pixels."""
    image, factor = _working_resolution(image, work_pixels)
    return drop_texture(ink_map(clean_scene(image))), factor
