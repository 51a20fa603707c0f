"""Digits as pen strokes, the way a person draws them on the page's pad (800 x 400 units), for the API tests
(drawn with PIL) and the browser test (drawn with the mouse)."""

from __future__ import annotations

import math

from PIL import Image, ImageDraw

PAD_WIDTH, PAD_HEIGHT = 800, 400
PEN = 26  # the page's pen width (app.js STROKE)


def _arc(cx: float, cy: float, rx: float, ry: float, start: float, end: float, steps: int = 24) -> list:
    """Points along an ellipse from angle `start` to `end` (degrees, clockwise on screen from 3 o'clock)."""
    return [(cx + rx * math.cos(math.radians(a)), cy + ry * math.sin(math.radians(a)))
            for a in (start + (end - start) * i / steps for i in range(steps + 1))]


# Each digit in a 100 x 200 cell: a list of strokes, each a polyline.
SHAPES = {
    "0": [_arc(50, 100, 45, 95, -90, 270, 36)],
    "1": [[(35, 30), (55, 5), (55, 200)]],
    "2": [_arc(50, 55, 45, 50, 200, 380, 16) + [(5, 200), (100, 200)]],
    "4": [[(70, 0), (0, 130), (100, 130)], [(75, 60), (75, 200)]],
    "7": [[(0, 5), (100, 5), (35, 200)]],
}


def strokes(text: str, top: float = 100, height: float = 200, gap: float = 60) -> list[list[tuple[float, float]]]:
    """The strokes of `text` written left to right, centred on the pad, in pad units."""
    scale = height / 200
    width = len(text) * 100 * scale + (len(text) - 1) * gap
    left = (PAD_WIDTH - width) / 2
    out = []
    for i, char in enumerate(text):
        x0 = left + i * (100 * scale + gap)
        out += [[(x0 + x * scale, top + y * scale) for x, y in stroke] for stroke in SHAPES[char]]
    return out


def drawing(text: str, **placement) -> Image.Image:
    """The pad as the page sends it: black ink on white, 800 x 400."""
    image = Image.new("L", (PAD_WIDTH, PAD_HEIGHT), 255)
    pen = ImageDraw.Draw(image)
    for stroke in strokes(text, **placement):
        pen.line(stroke, fill=0, width=PEN, joint="curve")
        for x, y in (stroke[0], stroke[-1]):  # round caps, as the canvas draws them
            pen.ellipse((x - PEN / 2, y - PEN / 2, x + PEN / 2, y + PEN / 2), fill=0)
    return image
