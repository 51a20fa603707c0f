"""Seeded, reproducible digit strings with a ground-truth box around every digit.

Three kinds, each drawn from the digits passed in (``mnist:train`` digits for training strings,
``mnist:test`` digits for test strings; the generators read no dataset themselves):

- ``mnist_sequences``: the capstone report's sequences, 1-5 MNIST digits side by side in 28 x 140, the slots after
  the last digit blank.
- ``freeform_strings``: handwritten strings of 1-10 digits on a larger canvas, dark ink on light paper:
  random spacing including touching and slightly overlapping neighbours, scale and baseline jitter,
  slant, stroke thickness.
- ``house_number_scenes``: strings composited into colour scenes, a stand-in for SVHN: random ink and
  background colours, texture, gradients, blur, noise, JPEG artefacts and distractor edges.

A box is (x0, y0, x1, y1) in pixels with x1, y1 exclusive (``image[y0:y1, x0:x1]`` holds the digit),
tight around the digit's own ink (every pixel of it above zero, before any blur of the scene), listed
left to right. The same seed and digits give the same strings, bit for bit.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from scipy import ndimage

from ..preprocess import LUMA

# Ink that rounds to at least one grey level belongs to a digit: the box is tight around it.
INK_LEVEL = 1


@dataclass
class DigitStrings:
    images: np.ndarray | list[np.ndarray]  # (N, H, W) uint8 for fixed-size sets, else N arrays (H, W[, 3])
    texts: list[str]
    boxes: list[np.ndarray]  # N arrays (L, 4) int64: x0, y0, x1, y1 (exclusive), left to right
    sources: list[np.ndarray]  # N arrays (L,) int64: each digit's index in the images it was drawn from

    def __len__(self) -> int:
        return len(self.texts)


@dataclass(frozen=True)
class Handwriting:
    """How free-form strings are written. Sizes are in pixels of the output; fractions of the digit height."""

    height: tuple[float, float] = (28.0, 44.0)  # ink height of a string's digits, drawn once per string
    scale_jitter: float = 0.12  # each digit's height varies by up to this fraction around the string's
    baseline_jitter: float = 0.08  # vertical offset of each digit, fraction of the height
    slant: float = 0.3  # shear (dx per dy) of a string, drawn in [-slant, slant]
    slant_jitter: float = 0.06  # per-digit deviation from the string's slant
    rotation: float = 5.0  # per-digit rotation in degrees, drawn in [-rotation, rotation]
    thickness: tuple[int, ...] = (-1, 0, 1)  # pixels of erosion (<0) or dilation (>0), one per string
    touching: float = 0.15  # share of neighbours whose ink boxes meet (1-2 px into each other)
    overlapping: float = 0.10  # share that overlap by 10-25% of the narrower digit
    gap: tuple[float, float] = (0.08, 0.6)  # otherwise a gap of this fraction of the height
    margin: tuple[int, int] = (4, 16)  # paper around the string


HOUSE_NUMBER_STYLE = Handwriting(height=(22.0, 36.0), slant=0.2, touching=0.05, overlapping=0.0,
                                 gap=(0.1, 0.5), margin=(6, 18))


def _ink_boxes(digits: np.ndarray) -> np.ndarray:
    """(N, H, W) uint8 -> (N, 4) int64 tight boxes (x0, y0, x1, y1) around pixels >= INK_LEVEL.

    A blank image gets the empty box (0, 0, 0, 0)."""
    ink = digits >= INK_LEVEL
    rows, cols = ink.any(axis=2), ink.any(axis=1)  # (N, H), (N, W)
    blank = ~rows.any(axis=1)
    y0, y1 = rows.argmax(axis=1), rows.shape[1] - rows[:, ::-1].argmax(axis=1)
    x0, x1 = cols.argmax(axis=1), cols.shape[1] - cols[:, ::-1].argmax(axis=1)
    boxes = np.stack([x0, y0, x1, y1], axis=1).astype(np.int64)
    boxes[blank] = 0
    return boxes


def _draw_digits(images: np.ndarray, labels: np.ndarray, lengths: np.ndarray,
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the digits of every string, drawn uniformly from the source, and their labels.

    Returns (M,) indices into ``images`` and (M,) labels, strings one after another (M = lengths.sum())."""
    if len(images) != len(labels) or len(images) == 0:
        raise ValueError(f"need a non-empty digit source with one label per image, got {len(images)} images "
                         f"and {len(labels)} labels")
    picks = rng.integers(0, len(images), int(lengths.sum()))
    return picks, np.asarray(labels)[picks]


def _texts(labels: np.ndarray, lengths: np.ndarray) -> list[str]:
    digits = "".join(str(int(d)) for d in labels)
    ends = np.cumsum(lengths)
    return [digits[end - n:end] for n, end in zip(lengths, ends, strict=True)]


def _per_string(picks: np.ndarray, lengths: np.ndarray) -> list[np.ndarray]:
    return np.split(picks.astype(np.int64), np.cumsum(lengths)[:-1])


def _lengths(n: int, min_len: int, max_len: int, limit: int, rng: np.random.Generator) -> np.ndarray:
    if not 1 <= min_len <= max_len <= limit:
        raise ValueError(f"string lengths must satisfy 1 <= min_len <= max_len <= {limit}, "
                         f"got {min_len}..{max_len}")
    return rng.integers(min_len, max_len + 1, n)


# ---------------------------------------------------------------------------------------------------
# (a) the capstone report's concatenated MNIST sequences


def mnist_sequences(images: np.ndarray, labels: np.ndarray, n: int, seed: int = 0,
                    min_len: int = 1, max_len: int = 5) -> DigitStrings:
    """n sequences of min_len..max_len MNIST digits in (n, 28, 140): digit k fills columns 28k..28k+27,
    the slots after the last digit are blank."""
    rng = np.random.default_rng(seed)
    lengths = _lengths(n, min_len, max_len, 5, rng)
    picks, digit_labels = _draw_digits(images, labels, lengths, rng)
    slots = np.arange(5)[None, :] < lengths[:, None]  # (n, 5) True where a digit sits
    fields = np.zeros((n, 5, 28, 28), np.uint8)
    fields[slots] = images[picks]  # row-major order of `slots` is the strings' digit order
    sequences = fields.transpose(0, 2, 1, 3).reshape(n, 28, 140)  # (n, 28, 5 * 28)

    digit_boxes = _ink_boxes(images[picks])  # (M, 4)
    slot_of_digit = np.nonzero(slots)[1]  # (M,)
    digit_boxes[:, [0, 2]] += 28 * slot_of_digit[:, None]
    boxes = np.split(digit_boxes, np.cumsum(lengths)[:-1])
    return DigitStrings(sequences, _texts(digit_labels, lengths), boxes, _per_string(picks, lengths))


# ---------------------------------------------------------------------------------------------------
# (b) free-form handwritten strings


def _warp_digits(digits: np.ndarray, heights: np.ndarray, shears: np.ndarray, angles: np.ndarray,
                 thickness: np.ndarray, size: int) -> np.ndarray:
    """Scale, slant, rotate and thicken MNIST digits in one batched pass.

    digits (M, 28, 28) uint8; heights (M,) target ink heights in pixels (MNIST's box is 20 pixels);
    shears (M,) dx per dy; angles (M,) radians; thickness (M,) pixels of erosion (<0) or dilation (>0).
    Returns (M, size, size) uint8, each digit's centre of mass at the centre."""
    x = torch.from_numpy(digits).float().div_(255).unsqueeze(1)  # (M, 1, 28, 28)
    scale = torch.from_numpy(heights / 20.0).float()
    shear = torch.from_numpy(shears).float()
    cos, sin = torch.from_numpy(np.cos(angles)).float(), torch.from_numpy(np.sin(angles)).float()
    # Forward map (input pixels -> output pixels, y down): scale * rotate * shear, where the shear moves the
    # top of a digit right for a positive slant. affine_grid wants the inverse, in normalised coordinates:
    # input_norm = (size / 28) * shear^-1 rotate^-1 / scale * output_norm.
    inverse = torch.zeros(len(x), 2, 3)
    k = size / 28.0 / scale
    # rotate^-1 = [[cos, sin], [-sin, cos]]; shear = [[1, -s], [0, 1]], shear^-1 = [[1, s], [0, 1]].
    inverse[:, 0, 0] = k * (cos - shear * sin)
    inverse[:, 0, 1] = k * (sin + shear * cos)
    inverse[:, 1, 0] = k * -sin
    inverse[:, 1, 1] = k * cos
    grid = F.affine_grid(inverse, [len(x), 1, size, size], align_corners=False)
    out = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)  # (M, 1, S, S)

    # Stroke thickness: grey-level erosion / dilation by 3x3 min / max filters, chosen per digit.
    dilated = F.max_pool2d(out, 3, 1, 1)
    twice = F.max_pool2d(dilated, 3, 1, 1)
    eroded = -F.max_pool2d(-out, 3, 1, 1)
    t = torch.from_numpy(thickness).view(-1, 1, 1, 1)
    out = torch.where(t == 1, dilated, torch.where(t == 2, twice, torch.where(t == -1, eroded, out)))
    return out.squeeze(1).mul_(255).round_().clamp_(0, 255).to(torch.uint8).numpy()


def _layout(widths: np.ndarray, heights: np.ndarray, lengths: np.ndarray, style: Handwriting,
            rng: np.random.Generator) -> np.ndarray:
    """Left edge of every digit's ink box, relative to its string's first digit: (M,) int64."""
    m = len(widths)
    kind = rng.random(m)  # the gap before each digit (the first digit's is unused)
    narrower = np.minimum(widths, np.roll(widths, 1))
    gaps = np.where(
        kind < style.touching, -rng.integers(1, 3, m),
        np.where(kind < style.touching + style.overlapping,
                 -np.round(rng.uniform(0.10, 0.25, m) * narrower),
                 np.round(rng.uniform(*style.gap, m) * heights)))
    starts = np.cumsum(lengths) - lengths
    gaps[starts] = 0
    advance = np.roll(widths, 1) + gaps  # from the previous digit's left edge to this one's
    advance[starts] = 0
    lefts = np.cumsum(advance)
    # Make each string start at 0: subtract the running total at its first digit.
    return (lefts - np.repeat(lefts[starts], lengths)).astype(np.int64)


def _render_strings(images: np.ndarray, labels: np.ndarray, n: int, rng: np.random.Generator,
                    min_len: int, max_len: int, style: Handwriting) -> tuple[list[np.ndarray], list[str],
                                                                                list[np.ndarray], list[np.ndarray]]:
    """White-on-black ink canvases (H, W) uint8 of n strings, with their texts, boxes and source digits."""
    lengths = _lengths(n, min_len, max_len, 10, rng)
    picks, digit_labels = _draw_digits(images, labels, lengths, rng)
    m = len(picks)
    per_string = lambda values: np.repeat(values, lengths)  # noqa: E731
    base = per_string(rng.uniform(*style.height, n))
    heights = base * rng.uniform(1 - style.scale_jitter, 1 + style.scale_jitter, m)
    shears = per_string(rng.uniform(-style.slant, style.slant, n)) + rng.uniform(-1, 1, m) * style.slant_jitter
    angles = np.radians(rng.uniform(-style.rotation, style.rotation, m))
    thickness = per_string(rng.choice(np.array(style.thickness), n))
    # Erosion would wipe out the strokes of a small digit: thin only the large ones.
    thickness = np.where((thickness < 0) & (heights < 34), 0, thickness)
    size = int(np.ceil(style.height[1] * (1 + style.scale_jitter) * (1.5 + style.slant + style.slant_jitter)))
    size += size % 2
    warped = _warp_digits(images[picks], heights, shears, angles, thickness, size)  # (M, S, S)
    ink = _ink_boxes(warped)  # (M, 4) within each patch
    widths, ink_heights = ink[:, 2] - ink[:, 0], ink[:, 3] - ink[:, 1]

    lefts = _layout(widths, base, lengths, style, rng)  # ink left edges in string coordinates
    # Each digit's ink is centred on the string's line, off by the baseline jitter.
    centre_y = rng.uniform(-style.baseline_jitter, style.baseline_jitter, m) * base
    tops = np.round(centre_y - ink_heights / 2).astype(np.int64)

    canvases, texts, boxes = [], _texts(digit_labels, lengths), []
    first = 0
    for length in lengths:
        idx = slice(first, first + length)
        first += length
        x0, y0 = lefts[idx], tops[idx]
        x1, y1 = x0 + widths[idx], y0 + ink_heights[idx]
        mx, my = rng.integers(style.margin[0], style.margin[1] + 1, 2)
        ox, oy = mx - x0.min(), my - y0.min()
        canvas = np.zeros((int(y1.max() - y0.min() + 2 * my), int(x1.max() - x0.min() + 2 * mx)), np.uint8)
        for j, k in enumerate(range(idx.start, idx.stop)):
            px0, py0, px1, py1 = ink[k]
            cx, cy = x0[j] + ox, y0[j] + oy
            region = canvas[cy:cy + py1 - py0, cx:cx + px1 - px0]
            np.maximum(region, warped[k, py0:py1, px0:px1], out=region)  # ink adds up like overlapping strokes
        canvases.append(canvas)
        boxes.append(np.stack([x0 + ox, y0 + oy, x1 + ox, y1 + oy], axis=1).astype(np.int64))
    return canvases, texts, boxes, _per_string(picks, lengths)


def freeform_strings(images: np.ndarray, labels: np.ndarray, n: int, seed: int = 0, min_len: int = 1,
                     max_len: int = 10, style: Handwriting = Handwriting()) -> DigitStrings:
    """n handwritten strings of min_len..max_len digits, dark ink on white paper, (H, W) uint8 each."""
    rng = np.random.default_rng(seed)
    canvases, texts, boxes, sources = _render_strings(images, labels, n, rng, min_len, max_len, style)
    return DigitStrings([255 - c for c in canvases], texts, boxes, sources)


# ---------------------------------------------------------------------------------------------------
# (b') written amounts: free-form strings with what real amounts carry besides digits


def _add_marks(canvas: np.ndarray, boxes: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A white-on-black string canvas with, at random, thousands separators between its digit groups, an
    underline and leading or trailing dashes (single or an "="), drawn with a pen of the digits' width. The
    canvas grows where a mark needs room (below for an underline, at the side for a dash); returns it and the
    digits' boxes in it."""
    h, w = canvas.shape
    digit_h = int(np.median(boxes[:, 3] - boxes[:, 1]))
    pen = max(2, round(digit_h * rng.uniform(0.07, 0.14)))
    base = int(np.median(boxes[:, 3]))
    out = canvas.copy()
    if len(boxes) >= 4 and rng.random() < 0.5:  # "1.990", "25,000": a dot or comma every three digits from the right
        for k in range(len(boxes) - 3, 0, -3):
            x = (boxes[k - 1, 2] + boxes[k, 0]) // 2 + int(rng.integers(-2, 3))
            r = max(1, round(pen * rng.uniform(0.6, 1.2)))
            y = base - int(rng.integers(0, max(1, digit_h // 6)))
            tail = 2 * r if rng.random() < 0.4 else 0  # a comma hangs below the line
            out[max(0, y - r):min(h, y + r + tail), max(0, x - r):min(w, x + r)] = 255
    if rng.random() < 0.3:  # an underline, slightly sloped, from near the first digit to near the last
        out = np.concatenate([out, np.zeros((3 * pen, w), np.uint8)])
        x0 = int(rng.integers(0, max(1, boxes[0, 0]) + 1))
        x1 = w - int(rng.integers(0, max(1, w - boxes[-1, 2]) + 1))
        ys = h + np.round(np.linspace(0, rng.uniform(-3, 3), max(0, x1 - x0))).astype(int)
        for x, y in zip(range(x0, x1), np.clip(ys, 0, len(out) - pen), strict=True):
            out[y:y + pen, x] = 255
    middle = int(np.median((boxes[:, 1] + boxes[:, 3]) // 2))
    for leading in (True, False):
        if rng.random() < 0.15:  # "-1990", "1990=": nothing may be written before or after the number
            length = round(digit_h * rng.uniform(0.4, 1.0))
            strokes = 2 if rng.random() < 0.3 else 1
            pad = np.zeros((len(out), length + 4), np.uint8)
            y = middle + int(rng.integers(-digit_h // 6, digit_h // 6 + 1))
            for i in range(strokes):
                row = y + (2 * i - (strokes - 1)) * 2 * pen
                pad[max(0, row):max(0, row + pen), 1:1 + length] = 255
            out = np.concatenate([pad, out] if leading else [out, pad], axis=1)
            if leading:
                boxes = boxes + np.array([pad.shape[1], 0, pad.shape[1], 0])
    return out, boxes


def amount_strings(images: np.ndarray, labels: np.ndarray, n: int, seed: int = 0, min_len: int = 1,
                   max_len: int = 8, style: Handwriting = Handwriting()) -> DigitStrings:
    """n written amounts of min_len..max_len digits, dark ink on white paper: free-form strings with thousands
    separators, underlines and leading or trailing dashes drawn at random (``_add_marks``). Drawn 2,000 at a time,
    so that the warped digits of one draw stay small in memory."""
    rng = np.random.default_rng(seed)
    pages, texts, boxes, sources = [], [], [], []
    for first in range(0, n, 2000):
        canvases, t, b, src = _render_strings(images, labels, min(2000, n - first), rng, min_len, max_len, style)
        for canvas, digit_boxes in zip(canvases, b, strict=True):
            marked, moved = _add_marks(canvas, digit_boxes, rng)
            pages.append(255 - marked)
            boxes.append(moved)
        texts += t
        sources += src
    return DigitStrings(pages, texts, boxes, sources)


# ---------------------------------------------------------------------------------------------------
# (c) house-number-like colour scenes


def _contrasting(against: np.ndarray, min_contrast: float, rng: np.random.Generator) -> np.ndarray:
    """A random RGB colour (float) whose luminance differs from `against`'s by at least min_contrast levels."""
    while True:
        colour = rng.uniform(0, 255, 3)
        if abs(float((colour - against) @ LUMA)) >= min_contrast:
            return colour


def _smooth_noise(shape: tuple[int, int], cell: float, rng: np.random.Generator) -> np.ndarray:
    """Zero-mean texture of unit amplitude whose blobs are about `cell` pixels wide (bicubic upsampling)."""
    h, w = shape
    coarse = rng.standard_normal((max(2, int(h / cell) + 2), max(2, int(w / cell) + 2))).astype(np.float32)
    texture = np.asarray(Image.fromarray(coarse, mode="F").resize((w, h), Image.Resampling.BICUBIC))
    return texture / (np.abs(texture).max() + 1e-6)


def _edges(shape: tuple[int, int], boxes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A mask (H, W) of one or two straight edges along the borders (a sign's frame, a door's edge), placed in
    the margin so they never touch the digits."""
    h, w = shape
    mask = np.zeros((h, w), np.float32)
    x0, y0, x1, y1 = boxes[:, 0].min(), boxes[:, 1].min(), boxes[:, 2].max(), boxes[:, 3].max()
    room = {"top": y0, "bottom": h - y1, "left": x0, "right": w - x1}
    for side in rng.permutation(list(room))[:rng.integers(1, 3)]:
        space = int(room[side])
        if space < 4:
            continue
        width = int(rng.integers(1, min(4, space - 2) + 1))
        offset = int(rng.integers(0, space - width - 1))  # from the border, leaving a pixel before the digits
        if side == "top":
            mask[offset:offset + width] = 1
        elif side == "bottom":
            mask[h - offset - width:h - offset] = 1
        elif side == "left":
            mask[:, offset:offset + width] = 1
        else:
            mask[:, w - offset - width:w - offset] = 1
    return mask


def _jpeg(rgb: np.ndarray, quality: int) -> np.ndarray:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="JPEG", quality=quality)
    return np.array(Image.open(buffer))


def house_number_scenes(images: np.ndarray, labels: np.ndarray, n: int, seed: int = 0, min_len: int = 1,
                        max_len: int = 5, style: Handwriting = HOUSE_NUMBER_STYLE,
                        edges: float = 0.5) -> DigitStrings:
    """n colour scenes (H, W, 3) uint8 of min_len..max_len digits; `edges` is the share with distractor edges."""
    rng = np.random.default_rng(seed)
    canvases, texts, boxes, sources = _render_strings(images, labels, n, rng, min_len, max_len, style)
    scenes = []
    for canvas, digit_boxes in zip(canvases, boxes, strict=True):
        h, w = canvas.shape
        paper = rng.uniform(0, 255, 3)
        ink = _contrasting(paper, 80.0, rng)
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        # Lighting: a linear ramp in a random direction plus a weaker texture (stucco, wood, brick grain).
        angle = rng.uniform(0, 2 * np.pi)
        ramp = ((xx - w / 2) * np.cos(angle) + (yy - h / 2) * np.sin(angle)) / max(h, w)
        shade = rng.uniform(0, 60) * ramp + rng.uniform(0, 14) * _smooth_noise((h, w), rng.uniform(2, 8), rng)
        background = paper[None, None, :] + shade[..., None] * rng.uniform(0.7, 1.0, 3)  # (H, W, 3)
        alpha = canvas.astype(np.float32) / 255  # (H, W) ink coverage
        if rng.random() < edges:
            frame = _edges((h, w), digit_boxes, rng)
            edge = _contrasting(paper, 50.0, rng)
            background = background * (1 - frame[..., None]) + edge[None, None, :] * frame[..., None]
        ink_layer = ink[None, None, :] + rng.uniform(0, 10) * _smooth_noise((h, w), 3.0, rng)[..., None]
        scene = background * (1 - alpha[..., None]) + ink_layer * alpha[..., None]
        blur = rng.uniform(0.0, 1.0)
        scene = ndimage.gaussian_filter(scene, sigma=(blur, blur, 0), mode="nearest")
        scene = scene + rng.normal(0, rng.uniform(2, 8), scene.shape)
        scene = np.clip(np.round(scene), 0, 255).astype(np.uint8)
        scenes.append(_jpeg(scene, int(rng.integers(30, 91))))
    return DigitStrings(scenes, texts, boxes, sources)


def reading_sets(images: np.ndarray, labels: np.ndarray, n: int, seed: int = 0) -> dict[str, DigitStrings]:
    """The four sets the Reader is measured on (``benchmarks/read.py``), n strings each, seeds seed..seed+3:
    (a) MNIST sequences, (b) free-form strings of 1-5 and of 6-10 digits, (c) house-number scenes."""
    return {"a": mnist_sequences(images, labels, n, seed),
            "b 1-5": freeform_strings(images, labels, n, seed + 1, max_len=5),
            "b 6-10": freeform_strings(images, labels, n, seed + 2, min_len=6),
            "c": house_number_scenes(images, labels, n, seed + 3)}
