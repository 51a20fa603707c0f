"""read_image / read_images: every supported format decodes; every bad file fails with the right error."""

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from digitscope import imageio
from digitscope.imageio import ImageError, ImageTooLargeError, UnsupportedImageError, read_image, read_images


def gradient(width: int = 40, height: int = 30) -> np.ndarray:
    """A grey ramp with a dark bar: easy to check after lossy formats."""
    ramp = np.tile(np.linspace(0, 255, width, dtype=np.uint8), (height, 1))
    ramp[10:20, 5:15] = 0
    return ramp


def encode(image: Image.Image, fmt: str, **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("fmt, ext, lossy", [
    ("PNG", "png", False), ("BMP", "bmp", False), ("TIFF", "tif", False), ("GIF", "gif", False),
    ("JPEG", "jpg", True), ("WEBP", "webp", True),
])
def test_grey_images_in_every_format(tmp_path, fmt, ext, lossy):
    expected = gradient()
    path = write(tmp_path / f"ramp.{ext}", encode(Image.fromarray(expected), fmt))
    image = read_image(path)
    assert image.dtype == np.uint8 and image.shape[:2] == expected.shape
    grey = image if image.ndim == 2 else image.mean(axis=2)
    assert np.abs(grey - expected.astype(float)).mean() < (4 if lossy else 0.01)


def test_rgb_stays_rgb(tmp_path):
    rgb = np.zeros((20, 30, 3), dtype=np.uint8)
    rgb[..., 0], rgb[..., 2] = 200, 50
    image = read_image(write(tmp_path / "red.png", encode(Image.fromarray(rgb), "PNG")))
    assert image.shape == (20, 30, 3) and (image == rgb).all()


def test_palette_image_becomes_rgb(tmp_path):
    palette = Image.fromarray(gradient()).convert("RGB").convert("P", palette=Image.Palette.ADAPTIVE)
    image = read_image(write(tmp_path / "palette.png", encode(palette, "PNG")))
    assert image.shape == (30, 40, 3)


def test_black_on_transparent_canvas_becomes_dark_on_white(tmp_path):
    rgba = np.zeros((20, 20, 4), dtype=np.uint8)  # transparent black, as drawing pads export
    rgba[5:15, 8:12, 3] = 255  # an opaque black stroke
    image = read_image(write(tmp_path / "canvas.png", encode(Image.fromarray(rgba), "PNG")))
    assert image.shape == (20, 20, 3)
    assert (image[0, 0] == 255).all() and (image[10, 10] == 0).all()


def test_grey_with_alpha_stays_grey(tmp_path):
    la = Image.fromarray(np.zeros((10, 10), np.uint8)).convert("LA")
    la.putalpha(Image.fromarray(np.where(np.eye(10, dtype=bool), 255, 0).astype(np.uint8)))
    image = read_image(write(tmp_path / "la.png", encode(la, "PNG")))
    assert image.shape == (10, 10) and image[0, 0] == 0 and image[0, 1] == 255


def test_transparent_gif_is_composited_onto_white(tmp_path):
    frame = Image.new("P", (10, 10), 0)
    frame.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    frame.paste(1, (2, 2, 5, 5))
    image = read_image(write(tmp_path / "t.gif", encode(frame, "GIF", transparency=0)))
    assert (image[0, 0] == 255).all() and tuple(image[3, 3]) == (255, 0, 0)


def test_sixteen_bit_grey_is_scaled_not_clipped(tmp_path):
    wide = np.array([[0, 257 * 128, 65535]], dtype=np.uint16)
    image = read_image(write(tmp_path / "deep.png", encode(Image.fromarray(wide), "PNG")))
    assert image.dtype == np.uint8 and image.tolist() == [[0, 128, 255]]


def test_animated_gif_gives_its_first_frame(tmp_path):
    frames = [Image.new("L", (8, 8), level) for level in (10, 200)]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:])
    image = read_image(write(tmp_path / "anim.gif", data))
    assert image.shape[:2] == (8, 8) and image.max() == 10


def test_exif_rotation_is_applied(tmp_path):
    photo = Image.new("RGB", (40, 20), "white")
    exif = photo.getexif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    image = read_image(write(tmp_path / "phone.jpg", encode(photo, "JPEG", exif=exif)))
    assert image.shape[:2] == (40, 20)


def test_bytes_input():
    image = read_image(encode(Image.fromarray(gradient()), "PNG"), name="upload.png")
    assert (image == gradient()).all()


def png_with_size(width: int, height: int) -> bytes:
    """A small valid PNG whose IHDR is rewritten (with a correct CRC) to claim width x height."""
    data = bytearray(encode(Image.new("L", (4, 4)), "PNG"))
    ihdr = 8  # chunk length (4), type (4), then width, height: big-endian
    data[ihdr + 8:ihdr + 16] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(data[ihdr + 4:ihdr + 8 + 13]))
    data[ihdr + 8 + 13:ihdr + 8 + 17] = struct.pack(">I", crc)
    return bytes(data)


def assert_fails(source, error: type[ImageError], name: str, *words: str) -> None:
    """read_image raises exactly `error`, in one line that starts with `name` and holds `words`."""
    with pytest.raises(error) as caught:
        read_image(source)
    message = str(caught.value)
    assert type(caught.value) is error
    assert message.startswith(name) and "\n" not in message
    for word in words:
        assert word in message


def test_empty_file(tmp_path):
    path = write(tmp_path / "empty.png", b"")
    assert_fails(path, ImageError, str(path), "empty")


def test_random_bytes_named_png(tmp_path):
    noise = np.random.default_rng(0).integers(0, 256, 2000, dtype=np.uint8).tobytes()
    path = write(tmp_path / "noise.png", noise)
    assert_fails(path, UnsupportedImageError, str(path), "PNG", "JPEG", "WEBP")


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_truncated_file(tmp_path, fmt):
    data = encode(Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64), np.uint8)), fmt)
    path = write(tmp_path / f"cut.{fmt.lower()}", data[: len(data) // 2])
    assert_fails(path, ImageError, str(path), "truncated or corrupt")


def test_decompression_bomb_header(tmp_path):
    path = write(tmp_path / "bomb.png", png_with_size(100_000, 100_000))
    assert_fails(path, ImageTooLargeError, str(path), "too large")


def test_pixel_limit_is_checked_before_pillows_own(tmp_path):
    # 49 megapixels: over MAX_PIXELS, under Pillow's warning threshold, refused from the header alone.
    path = write(tmp_path / "big.png", png_with_size(7_000, 7_000))
    assert_fails(path, ImageTooLargeError, str(path), "7000x7000")


def test_byte_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(imageio, "MAX_BYTES", 100)
    path = write(tmp_path / "heavy.bmp", encode(Image.new("L", (50, 50)), "BMP"))
    assert_fails(path, ImageTooLargeError, str(path), "bytes")
    assert_fails(path.read_bytes(), ImageTooLargeError, "<bytes>")


def test_missing_file(tmp_path):
    path = tmp_path / "nowhere.png"
    assert_fails(path, ImageError, str(path), "cannot read")


def test_read_images_keeps_going_past_a_bad_file(tmp_path):
    good = [write(tmp_path / f"{i}.png", encode(Image.fromarray(gradient()), "PNG")) for i in range(2)]
    bad = write(tmp_path / "bad.png", b"not an image at all")
    results = read_images([good[0], bad, good[1]])
    assert [path for path, _, _ in results] == [good[0], bad, good[1]]
    (_, first, no_error), (_, nothing, error), (_, last, _) = results
    assert first.shape == (30, 40) and last.shape == (30, 40) and no_error is None
    assert nothing is None and isinstance(error, UnsupportedImageError)


def test_header_size_reads_the_header_only():
    # A header claiming 7000 x 7000 whose pixel data is missing: the size is known without decoding a pixel.
    assert imageio.header_size(png_with_size(7_000, 7_000)) == (7_000, 7_000)
    assert imageio.header_size(encode(Image.fromarray(gradient()), "PNG")) == (40, 30)
    assert imageio.header_size(b"not an image") is None
