"""to_mnist: real-looking images of one digit -> MNIST-style 28x28, white ink on black, centred."""

import numpy as np
import pytest
from PIL import Image, ImageDraw

from digitscope.preprocess import ink_map, ink_to_mnist, ink_to_mnist_batch, is_blank, to_mnist, to_mnist_batch

INK, PAPER = (20, 20, 20), (245, 245, 245)


def seven(canvas=(400, 300), box=(120, 80, 180, 170), ink=INK, paper=PAPER, width=9) -> np.ndarray:
    """An RGB "7" drawn with thick strokes inside `box` (x0, y0, x1, y1) of a `canvas` (W, H)."""
    image = Image.new("RGB", canvas, paper)
    x0, y0, x1, y1 = box
    draw = ImageDraw.Draw(image)
    draw.line([(x0, y0), (x1, y0), (x0 + (x1 - x0) // 3, y1)], fill=ink, width=width, joint="curve")
    return np.array(image)


def centre_of_mass(digit: np.ndarray) -> tuple[float, float]:
    weights = digit.astype(np.float64)
    rows, cols = np.indices(digit.shape)
    return (weights * rows).sum() / weights.sum(), (weights * cols).sum() / weights.sum()


def ink_extent(digit: np.ndarray, level: int = 64) -> int:
    """Longest side of the bounding box of clearly inked pixels."""
    rows = np.flatnonzero((digit >= level).any(axis=1))
    cols = np.flatnonzero((digit >= level).any(axis=0))
    return max(rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1)


def assert_mnist_like(digit: np.ndarray) -> None:
    assert digit.shape == (28, 28) and digit.dtype == np.uint8
    cy, cx = centre_of_mass(digit)
    assert abs(cy - 14) <= 1 and abs(cx - 14) <= 1
    assert (digit == 0).mean() > 0.6 and digit[:3, :3].max() == 0  # black paper, white ink
    assert digit.max() >= 250
    assert 18 <= ink_extent(digit) <= 21


def test_small_off_centre_dark_on_light_digit_is_inverted_centred_and_scaled():
    image = seven(canvas=(800, 600), box=(560, 40, 590, 90), width=5)  # top-right corner, 50 px tall
    digit = to_mnist(image)
    assert_mnist_like(digit)


def test_light_on_dark_is_not_inverted():
    dark_on_light = seven()
    light_on_dark = 255 - dark_on_light
    expected = to_mnist(dark_on_light)
    digit = to_mnist(light_on_dark)
    assert_mnist_like(digit)
    assert np.abs(digit.astype(int) - expected).mean() < 1.0


def test_grey_input_matches_rgb_input():
    rgb = seven()
    grey = np.array(Image.fromarray(rgb).convert("L"))
    assert np.abs(to_mnist(grey).astype(int) - to_mnist(rgb)).mean() < 1.0


def test_coloured_ink_on_coloured_paper():
    digit = to_mnist(seven(ink=(30, 40, 160), paper=(250, 225, 120)))
    assert_mnist_like(digit)
    assert np.abs(digit.astype(int) - to_mnist(seven())).mean() < 3.0


def test_faint_pencil_on_grey_paper_is_stretched_to_full_strength():
    digit = to_mnist(seven(ink=(150, 150, 150), paper=(185, 185, 185)))
    assert_mnist_like(digit)
    assert np.abs(digit.astype(int) - to_mnist(seven())).mean() < 3.0


def test_noisy_paper_and_stray_specks_do_not_move_the_digit():
    rng = np.random.default_rng(0)
    clean = seven()
    noisy = clean.astype(np.float64) + rng.normal(0, 3, clean.shape)
    noisy[20:23, 20:23] = 0  # a speck of dust far from the digit
    noisy[280:282, 390:392] = 0
    digit = to_mnist(np.clip(noisy, 0, 255).astype(np.uint8))
    assert_mnist_like(digit)  # kept specks would stretch the box and shrink the digit
    # The noise may move stroke edges by a fraction of a pixel, nothing more.
    assert np.corrcoef(digit.ravel(), to_mnist(clean).ravel())[0, 1] > 0.9


def test_huge_canvas():
    image = seven(canvas=(4000, 3000), box=(2500, 1800, 2800, 2300), width=40)
    assert_mnist_like(to_mnist(image))


def test_an_mnist_style_digit_comes_back_essentially_unchanged():
    mnist_style = to_mnist(seven())
    again = to_mnist(mnist_style)
    difference = np.abs(again.astype(int) - mnist_style)
    assert difference.mean() < 0.5
    assert difference.max() <= 16


def test_an_ink_map_gives_the_same_digit_by_the_short_way():
    """The Reader's candidates are ink maps on paper of exactly 0: ink_to_mnist skips the paper estimate and
    must give what to_mnist gives, specks and faint fringes included."""
    ink = np.pad(np.round(ink_map(seven())).astype(np.uint8), 2)
    ink[3, 3] = 40  # a speck, far from the digit
    ink[ink > 0] //= 2  # faint ink: the stretch to 255 still applies
    assert np.array_equal(ink_to_mnist(ink), to_mnist(ink))


def test_ink_maps_read_together_each_give_their_own_digit():
    """The Reader canonicalises all its candidates in one call; each must come out as it would alone. A lone speck
    is the heaviest ink of its own image (kept), but a twentieth of the digit beside it (dropped, were the two
    judged together). And ink on the right border of one image must not join ink on the left border of the next:
    joined, the next one's stroke would count as the first one's, and its own speck (a twentieth of that stroke,
    dropped alone) would be kept."""
    digit = np.round(ink_map(seven())).astype(np.uint8)
    speck = np.zeros((6, 5), np.uint8)
    speck[2:4, 2:4] = 200
    to_the_right = np.zeros((10, 10), np.uint8)
    to_the_right[2:9, 5:] = 255
    from_the_left = np.zeros((10, 20), np.uint8)
    from_the_left[2:9, :4] = 255
    from_the_left[5, 15] = 200
    inks = [digit, speck, to_the_right, from_the_left, np.zeros((9, 9), np.uint8), digit // 3]
    together = ink_to_mnist_batch(inks)
    assert together.shape == (6, 28, 28) and together.dtype == np.uint8
    for alone, ink in zip(together, inks, strict=True):
        assert np.array_equal(alone, to_mnist(np.pad(ink, 2)))
    assert together[1].any() and not together[4].any()
    assert ink_to_mnist_batch([]).shape == (0, 28, 28)


@pytest.mark.parametrize("level", [0, 128, 255])
def test_blank_image_gives_zeros(level):
    digit = to_mnist(np.full((100, 80), level, dtype=np.uint8))
    assert digit.shape == (28, 28) and not digit.any()
    assert is_blank(digit)


def test_blank_paper_with_sensor_noise_gives_zeros():
    noisy = np.random.default_rng(1).normal(230, 2.5, (300, 400))
    assert not to_mnist(np.clip(noisy, 0, 255).astype(np.uint8)).any()


def test_is_blank_is_false_for_a_digit():
    assert not is_blank(to_mnist(seven()))


def test_batch_of_mixed_sizes():
    images = [seven(), seven(canvas=(90, 120), box=(20, 20, 60, 90), width=4), np.zeros((28, 28), np.uint8)]
    batch = to_mnist_batch(images)
    assert batch.shape == (3, 28, 28) and batch.dtype == np.uint8
    assert not batch[2].any()
    assert to_mnist_batch([]).shape == (0, 28, 28)


def test_rejects_arrays_that_are_not_images():
    with pytest.raises(TypeError):
        to_mnist(np.zeros((28, 28), dtype=np.float32))
    with pytest.raises(ValueError):
        to_mnist(np.zeros((28, 28, 4), dtype=np.uint8))
