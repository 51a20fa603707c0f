"""Write the bundled example images: real MNIST test digits, dressed the way users hand us images.

Each file is one handwritten digit from the MNIST test set (fixed indices, one per class), upscaled and
rendered in a different format and style: dark ink on light paper, chalk on a board, coloured ink on
coloured paper, a small digit off-centre on a big page, a drawing-pad export with transparency, and so
on. File names are `<true digit>_<description>.<ext>`, so the label travels with the file.

    DIGITSCOPE_DATA=/tmp/dsdata python examples/make_examples.py
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from digitscope import data

OUT = Path(__file__).resolve().parent
# The first test image of each class: fixed, so regenerating gives the same digits.
INDICES = {0: 3, 1: 2, 2: 1, 3: 18, 4: 4, 5: 8, 6: 11, 7: 0, 8: 61, 9: 7}
SCALE = 8  # 28 px -> 224 px: the size of a quick phone crop or a drawing pad
MAX_FILE_BYTES = 50_000  # bundled files stay small
rng = np.random.default_rng(0)


def ink(digit: np.ndarray, size: int = 28 * SCALE) -> np.ndarray:
    """(28, 28) uint8 MNIST digit -> (size, size) float ink coverage in 0..1, smoothly upscaled."""
    big = Image.fromarray(digit).resize((size, size), Image.Resampling.BICUBIC)
    return np.asarray(big, dtype=np.float32) / 255


def paint(coverage: np.ndarray, ink_colour, paper_colour, noise: float = 0.0) -> np.ndarray:
    """Blend ink over paper by coverage, plus optional paper grain; (H, W) grey or (H, W, 3) colour."""
    ink_colour, paper_colour = np.float32(ink_colour), np.float32(paper_colour)
    alpha = coverage if ink_colour.ndim == 0 else coverage[..., None]
    image = paper_colour + alpha * (ink_colour - paper_colour)
    image = image + rng.normal(0, noise, image.shape) if noise else image
    return np.clip(np.round(image), 0, 255).astype(np.uint8)


def dark_on_light(digit: np.ndarray) -> Image.Image:
    return Image.fromarray(paint(ink(digit), 20, 250))


def chalk_on_board(digit: np.ndarray) -> Image.Image:
    return Image.fromarray(paint(ink(digit), (235, 235, 225), (40, 60, 50), noise=4))


def blue_ink_on_yellow_paper(digit: np.ndarray) -> Image.Image:
    return Image.fromarray(paint(ink(digit), (30, 50, 150), (245, 225, 140)))


def small_off_centre_on_big_page(digit: np.ndarray) -> Image.Image:
    page = np.zeros((168, 224), dtype=np.float32)
    page[20:60, 150:190] = ink(digit, size=40)  # a 40 px digit in the top-right of the page
    return Image.fromarray(paint(page, 30, 235, noise=2))


def pencil_on_grey_paper(digit: np.ndarray) -> Image.Image:
    return Image.fromarray(paint(ink(digit), 120, 175, noise=2))


def scan_16bit(digit: np.ndarray) -> Image.Image:
    scan = paint(ink(digit), 15, 240).astype(np.uint16) * 257
    return Image.fromarray(scan)


def drawing_pad_export(digit: np.ndarray) -> Image.Image:
    """Black strokes whose only signal is alpha, on a fully transparent canvas."""
    rgba = np.zeros((28 * SCALE, 28 * SCALE, 4), dtype=np.uint8)
    rgba[..., 3] = np.round(ink(digit) * 255).astype(np.uint8)
    return Image.fromarray(rgba)


def faded_photo(digit: np.ndarray) -> Image.Image:
    """Dark ink on white paper under soft uneven light, saved as a phone would."""
    rows = np.linspace(0, 1, 28 * SCALE, dtype=np.float32)[:, None]
    light = 1 - 0.12 * rows  # the lower half of the page is a little darker
    image = paint(ink(digit), (40, 40, 60), (235, 232, 225), noise=3).astype(np.float32)
    return Image.fromarray(np.clip(image * light[..., None], 0, 255).astype(np.uint8))


# (true digit, description, extension, how to render, how to save)
EXAMPLES: list[tuple[int, str, str, Callable[[np.ndarray], Image.Image], dict]] = [
    (7, "dark-on-light", "png", dark_on_light, {"optimize": True}),
    (2, "light-on-dark-chalk", "jpg", chalk_on_board, {"quality": 85}),
    (1, "blue-ink-on-yellow-paper", "png", blue_ink_on_yellow_paper, {"optimize": True}),
    (4, "small-off-centre", "bmp", small_off_centre_on_big_page, {}),
    (0, "pencil-on-grey-paper", "gif", pencil_on_grey_paper, {}),
    (3, "scan-16bit", "tif", scan_16bit, {"compression": "tiff_deflate"}),
    (5, "drawing-pad-transparent", "png", drawing_pad_export, {"optimize": True}),
    (6, "photo", "jpg", faded_photo, {"quality": 80}),
    (8, "light-on-dark", "webp", chalk_on_board, {"quality": 80}),
    (9, "dark-on-light", "tif", dark_on_light, {"compression": "tiff_lzw"}),
]


def numbers(test) -> None:
    """Whole numbers for `digitscope read`: a house-number-like photo of 4217 and a handwritten 4217 with
    touching digits, both made by the Reader's own generators from MNIST test digits of those four classes."""
    from digitscope.data.synthetic import Handwriting, freeform_strings, house_number_scenes

    pool = np.isin(test.labels, [1, 2, 4, 7])
    images, labels = test.images[pool], test.labels[pool]
    scenes = house_number_scenes(images, labels, 600, seed=1, min_len=4, max_len=4, edges=1.0)
    Image.fromarray(scenes.images[scenes.texts.index("4217")]).save(OUT / "numbers" / "4217_house-number.jpg",
                                                                    quality=85)
    strings = freeform_strings(images, labels, 600, seed=2, min_len=4, max_len=4,
                               style=Handwriting(touching=1.0, overlapping=0.0))
    Image.fromarray(strings.images[strings.texts.index("4217")]).save(OUT / "numbers" / "4217_touching.png",
                                                                      optimize=True)


def main() -> None:
    test = data.load("mnist:test")
    (OUT / "numbers").mkdir(exist_ok=True)
    numbers(test)
    for label, description, ext, render, options in EXAMPLES:
        index = INDICES[label]
        assert test.labels[index] == label, f"test image {index} is a {test.labels[index]}, not a {label}"
        path = OUT / f"{label}_{description}.{ext}"
        render(test.images[index]).save(path, **options)
        size = path.stat().st_size
        assert size < MAX_FILE_BYTES, f"{path.name} is {size} bytes"
        print(f"{path.name:40s} {size:7,d} bytes  (MNIST test #{index})")


if __name__ == "__main__":
    main()
