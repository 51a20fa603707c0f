"""Turn any image of one digit into an MNIST-style 28x28 digit: the one preprocessing path (and a whole line of
digits into the fixed size a line reader takes: ``ink_to_line``).

MNIST was made by scaling each digit so its bounding box fits 20x20 (aspect ratio kept, anti-aliased),
then pasting it into a 28x28 field so its centre of mass sits at the centre, white ink on black.
Models trained on MNIST only work on inputs that went through the same steps, so `to_mnist` redoes
them on real images: photos, scans, canvas drawings, dark-on-light or light-on-dark, any size.
An input that is already an MNIST digit comes back essentially unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np
from PIL import Image
from scipy import ndimage

SIZE = 28  # the MNIST field
LINE_SIZE = (32, 160)  # (H, W) of a whole line for a line reader (``models.linenet``): an amount letterboxed in it
BOX = 20  # the longest side of the digit inside it
# ITU-R 601 luma, what Pillow's convert("L") uses, so arrays and files give the same grey.
LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)
# The border strip, as a fraction of the shorter side, that samples the paper.
BORDER_FRACTION = 0.04
# A piece of ink must reach this many noise sigmas above the paper (paper grain, JPEG noise) and at
# least MIN_CONTRAST grey levels, so a blank page with faint noise stays blank...
NOISE_SIGMAS = 4.0
MIN_CONTRAST = 12.0
# ...but once found, a piece keeps its faint anti-aliased fringe down to the noise level (hysteresis):
# cutting the fringe would shrink the bounding box and rescale the digit. On clean digital images
# (no noise) any deviation that survives rounding to uint8 is ink.
FRINGE_SIGMAS = 2.0
MIN_FRINGE = 0.5
# Pieces of ink with less mass than this fraction of the largest piece are specks (dust, sensor
# noise), not strokes: kept, one of them would stretch the bounding box and shrink the digit.
MIN_PIECE_FRACTION = 0.05
# Less ink than four fully lit pixels is nothing a classifier could read.
MIN_INK_MASS = 4 * 255


def _grey(image: np.ndarray) -> np.ndarray:
    """(H, W) or (H, W, 3) uint8 -> (H, W) float32 luminance in 0..255."""
    if image.dtype != np.uint8:
        raise TypeError(f"expected a uint8 image, got {image.dtype}")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[..., 0]
    if image.ndim == 2:
        return image.astype(np.float32)
    if image.ndim == 3 and image.shape[2] == 3:
        return image.astype(np.float32) @ LUMA
    raise ValueError(f"expected an (H, W) or (H, W, 3) image, got shape {image.shape}")


def _border(grey: np.ndarray) -> np.ndarray:
    """The pixels of a strip along all four edges: mostly paper, whatever the digit does."""
    width = max(1, round(BORDER_FRACTION * min(grey.shape)))
    return np.concatenate([grey[:width].ravel(), grey[-width:].ravel(),
                           grey[:, :width].ravel(), grey[:, -width:].ravel()])


def ink_map(image: np.ndarray) -> np.ndarray:
    """(H, W) float32 ink strength, 0 on paper and 255 at the strongest ink, bright ink on black.

    Works out the paper from the border so it does not matter whether the ink is darker or lighter
    than the paper, nor how faint it is.
    """
    grey = _grey(image)
    border = _border(grey)
    # Median and MAD: robust when strokes run into the border strip.
    paper = float(np.median(border))
    sigma = 1.4826 * float(np.median(np.abs(border - paper)))
    threshold = max(NOISE_SIGMAS * sigma, MIN_CONTRAST)
    fringe = max(FRINGE_SIGMAS * sigma, MIN_FRINGE)

    # Polarity: the ink is on whichever side of the paper level holds more contrast beyond the noise.
    # Summed mass, not min/max, so one stray bright or dark pixel cannot flip the decision.
    darker = np.clip(paper - grey, 0, None)
    lighter = np.clip(grey - paper, 0, None)
    dark_mass = float(np.clip(darker - threshold, 0, None).sum())
    light_mass = float(np.clip(lighter - threshold, 0, None).sum())
    ink = darker if dark_mass > light_mass else lighter
    del darker, lighter, grey  # huge canvases: free what is no longer needed
    return _clean(ink, threshold, fringe)


def _clean(ink: np.ndarray, threshold: float, fringe: float) -> np.ndarray:
    """Ink strengths above the paper -> the pieces that count, stretched to 255 at the strongest."""
    ink = _keep_pieces(ink, threshold, fringe, np.zeros(ink.shape[1], np.int64), 1)
    # Contrast stretch: faint pencil on grey paper gets the same full-strength strokes as MNIST.
    return _stretch(ink)


def _stretch(ink: np.ndarray) -> np.ndarray:
    strongest = ink.max()
    return ink * np.float32(255.0 / strongest) if strongest > 0 else ink


def _keep_pieces(ink: np.ndarray, threshold: float, fringe: float, group: np.ndarray, groups: int) -> np.ndarray:
    """The pieces of ink that count, the rest zeroed; each of the `groups` images side by side in `ink` (with paper
    between them) on its own: `group` (W,) says which image each column belongs to."""
    # Paper grain and compression noise are zeroed, not just dimmed: left in, they would widen the
    # bounding box of the ink. A piece survives if it holds a pixel above the threshold and enough mass.
    pieces, count = ndimage.label(ink > fringe, structure=np.ones((3, 3)))
    # Per-piece statistics by bincount over the labels: one pass, no per-piece loop.
    mass = np.bincount(pieces.ravel(), weights=ink.ravel(), minlength=count + 1)
    strong = np.bincount(pieces[ink > threshold], minlength=count + 1) > 0
    strong[0] = False  # label 0 is the paper
    owner = group[[0] + [box[1].start for box in ndimage.find_objects(pieces, count)]]  # the image of each piece
    heaviest = np.zeros(groups)  # the mass of each image's heaviest strong piece
    np.maximum.at(heaviest, owner[strong], mass[strong])
    keep = strong & (mass >= MIN_PIECE_FRACTION * heaviest[owner])
    return np.where(keep[pieces], ink, np.float32(0))


def _fit_box(ink: np.ndarray) -> np.ndarray:
    """Crop to the ink and scale so the longest side is BOX pixels, aspect ratio kept."""
    rows = np.flatnonzero(ink.any(axis=1))
    cols = np.flatnonzero(ink.any(axis=0))
    crop = np.ascontiguousarray(ink[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1], dtype=np.float32)
    height, width = crop.shape
    scale = BOX / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    # LANCZOS on float data: a proper low-pass when shrinking a photo (no aliasing of thin strokes),
    # sharp when enlarging a small drawing; same-size input passes through untouched. Raw buffers in and out,
    # not fromarray / asarray: the same pixels without their copies, on the Reader's ~25 candidates an amount.
    resized = Image.frombuffer("F", (width, height), crop, "raw", "F", 0, 1).resize(size, Image.Resampling.LANCZOS)
    digit = np.frombuffer(resized.tobytes(), np.float32).reshape(size[1], size[0])
    return np.minimum(np.maximum(digit, 0), 255)  # LANCZOS overshoots; np.clip costs more on arrays this small


def _centre(digit: np.ndarray) -> np.ndarray:
    """Paste into SIZE x SIZE with the centre of mass at (SIZE/2, SIZE/2), by a whole-pixel shift."""
    height, width = digit.shape
    mass = digit.sum()
    cy = float((digit.sum(axis=1) @ _INDEX[:height]) / mass)
    cx = float((digit.sum(axis=0) @ _INDEX[:width]) / mass)
    # Whole pixels, as MNIST did: a sub-pixel shift would blur the strokes. Rounded so the centre
    # lands in [13.5, 14.5), MNIST's own convention, so MNIST digits keep their place. The clamp keeps
    # a lopsided digit (a "7" with a heavy bar) entirely inside the field. (Python's scalars, not numpy's:
    # a tenth of the cost, on every candidate of every amount.)
    top = min(max(math.ceil(SIZE / 2 - 0.5 - cy), 0), SIZE - height)
    left = min(max(math.ceil(SIZE / 2 - 0.5 - cx), 0), SIZE - width)
    field = np.zeros((SIZE, SIZE), dtype=np.float32)
    field[top:top + height, left:left + width] = digit
    return field


_INDEX = np.arange(BOX)  # row and column numbers of a fitted digit, for its centre of mass


def to_mnist(image: np.ndarray) -> np.ndarray:
    """Any single-digit image, (H, W) or (H, W, 3) uint8 -> (28, 28) uint8, white ink on black.

    A blank image (no ink) gives all zeros; see `is_blank`.
    """
    return _canonical(ink_map(image))


def ink_to_mnist(ink: np.ndarray) -> np.ndarray:
    """``to_mnist`` of an image that is already an ink map on noiseless paper of exactly 0, (H, W) uint8 (the
    Reader's candidate digits), with the same result: the paper level is not estimated again, since it is 0
    with no noise, which leaves the thresholds at their floor."""
    return ink_to_mnist_batch([ink])[0]


def ink_to_mnist_batch(inks: Sequence[np.ndarray]) -> np.ndarray:
    """``ink_to_mnist`` of many ink maps, (N, 28, 28) uint8: their pieces are labelled once for all, side by side
    on one strip with a column of paper between them (a labelling each cost the Reader, with some 25 candidate
    digits an amount, more than all the rest of their preprocessing)."""
    if not inks:
        return np.zeros((0, SIZE, SIZE), np.uint8)
    widths = np.array([ink.shape[1] for ink in inks])
    starts = np.concatenate([[0], np.cumsum(widths + 1)[:-1]])
    strip = np.zeros((max(ink.shape[0] for ink in inks), int(starts[-1] + widths[-1])), np.float32)
    group = np.full(strip.shape[1], -1)  # the paper columns between the images belong to none: never inked
    for k, (ink, x) in enumerate(zip(inks, starts, strict=True)):
        strip[:ink.shape[0], x:x + ink.shape[1]] = ink
        group[x:x + ink.shape[1]] = k
    strip = _keep_pieces(strip, MIN_CONTRAST, MIN_FRINGE, group, len(inks))
    return np.stack([_canonical(_stretch(strip[:ink.shape[0], x:x + ink.shape[1]]))
                     for ink, x in zip(inks, starts, strict=True)])


def _canonical(ink: np.ndarray) -> np.ndarray:
    if float(ink.sum()) < MIN_INK_MASS:
        return np.zeros((SIZE, SIZE), dtype=np.uint8)
    digit = _centre(_fit_box(ink))
    return np.round(digit).astype(np.uint8)


def to_mnist_batch(images: Iterable[np.ndarray]) -> np.ndarray:
    """Many images of any sizes (or an (N, H, W[, 3]) array) -> (N, 28, 28) uint8."""
    digits = [to_mnist(image) for image in images]
    if not digits:
        return np.zeros((0, SIZE, SIZE), dtype=np.uint8)
    return np.stack(digits)


def is_blank(images: np.ndarray) -> np.bool_ | np.ndarray:
    """True when a 28x28 MNIST-style digit holds too little ink to be read as anything; for a batch
    (N, 28, 28), one answer per digit."""
    return np.asarray(images).sum(axis=(-2, -1), dtype=np.float64) < MIN_INK_MASS


def letterbox(ink: np.ndarray, boxes: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Scale an (H, W) ink map to fit ``size`` (aspect ratio kept), centred on black; boxes (L, 4) follow.

    Returns the (size) uint8 image and the boxes in its pixels."""
    h, w = ink.shape
    out_h, out_w = size
    scale = min(out_h / h, out_w / w)
    new_h, new_w = max(1, round(h * scale)), max(1, round(w * scale))
    resized = np.asarray(Image.fromarray(ink.astype(np.float32)).resize((new_w, new_h), Image.BILINEAR))
    top, left = (out_h - new_h) // 2, (out_w - new_w) // 2
    canvas = np.zeros(size, np.uint8)
    canvas[top:top + new_h, left:left + new_w] = np.clip(np.round(resized), 0, 255).astype(np.uint8)
    placed = np.asarray(boxes, np.float64) * [new_w / w, new_h / h, new_w / w, new_h / h] + [left, top, left, top]
    return canvas, placed


def ink_to_line(ink: np.ndarray) -> np.ndarray:
    """An (H, W) ink map of a whole line (bright ink on black, as ``ink_map`` makes it) letterboxed into
    LINE_SIZE, uint8."""
    return letterbox(np.asarray(ink, np.float32), np.zeros((0, 4)), LINE_SIZE)[0]
