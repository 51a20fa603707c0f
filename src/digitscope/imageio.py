"""Decode any image file a user hands us into a plain uint8 array, or fail with one clear line.

Everything that reads user images (CLI, web app, batch scripts) goes through `read_image`, so the
limits against hostile files (size in bytes, a pixel count checked before decoding) and the error
messages are the same everywhere. Errors are `ImageError` (a ValueError) with a one-line message that
starts with the file name; the HTTP layer maps `ImageTooLargeError` to 413 and
`UnsupportedImageError` to 415.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

# Only these decoders are ever run on user data: a small, well-exercised attack surface.
SUPPORTED_FORMATS = ("PNG", "JPEG", "BMP", "GIF", "TIFF", "WEBP")
MAX_BYTES = 20 * 1024 * 1024
# Checked from the header before any pixel is decoded, so a small file that claims a huge canvas (a
# decompression bomb) is refused without allocating it. Far below Pillow's own global limit.
MAX_PIXELS = 40_000_000

# What a decoder may raise on a damaged file: Pillow reports most damage as OSError or SyntaxError,
# a few plugins leak the error of the layer below.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error, zlib.error)


class ImageError(ValueError):
    """An input that cannot be turned into an image; the message is one line starting with its name."""


class ImageTooLargeError(ImageError):
    """The file is over MAX_BYTES, or its header claims more than MAX_PIXELS pixels."""


class UnsupportedImageError(ImageError):
    """The bytes are not an image in one of SUPPORTED_FORMATS."""


def _fail(cls: type[ImageError], name: str, reason: str) -> ImageError:
    # Decoder messages sometimes span lines; callers print one line per file.
    return cls(f"{name}: {' '.join(reason.split())}")


def _bomb(name: str) -> ImageError:
    # Pillow's own guard, which fires before ours for absurd headers (over ~179 megapixels).
    return _fail(ImageTooLargeError, name,
                 f"image dimensions are too large, over the limit of {MAX_PIXELS:,} pixels")


def _check_size(size: int, name: str) -> None:
    # Checked before reading, so an oversized upload or file is never loaded into memory.
    if size > MAX_BYTES:
        raise _fail(ImageTooLargeError, name, f"file is {size:,} bytes, over the limit of {MAX_BYTES:,}")
    if size == 0:
        raise _fail(ImageError, name, "empty file")


def _read_bytes(source: str | Path | bytes, name: str) -> bytes:
    if isinstance(source, bytes):
        _check_size(len(source), name)
        return source
    path = Path(source)
    try:
        _check_size(path.stat().st_size, name)
        return path.read_bytes()
    except OSError as exc:
        raise _fail(ImageError, name, f"cannot read file ({exc.strerror or exc})") from exc


def _open(data: bytes, name: str) -> Image.Image:
    """Identify the format and read the header only: no pixel is decoded yet."""
    supported = ", ".join(SUPPORTED_FORMATS)
    try:
        image = Image.open(io.BytesIO(data), formats=SUPPORTED_FORMATS)
    except UnidentifiedImageError as exc:
        raise _fail(UnsupportedImageError, name, f"not a supported image (supported: {supported})") from exc
    except Image.DecompressionBombError as exc:
        raise _bomb(name) from exc
    except _DECODE_ERRORS as exc:
        raise _fail(ImageError, name, f"corrupt image header ({exc})") from exc
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise _fail(ImageTooLargeError, name,
                    f"image is {width}x{height} pixels, over the limit of {MAX_PIXELS:,} pixels")
    return image


def header_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) as the header states it, without decoding a pixel; None when the header cannot be read
    (``read_image`` then says why)."""
    try:
        with Image.open(io.BytesIO(data), formats=SUPPORTED_FORMATS) as image:
            return image.size
    except (UnidentifiedImageError, Image.DecompressionBombError, *_DECODE_ERRORS):
        return None


def _decode(image: Image.Image, name: str) -> Image.Image:
    """Decode every pixel of the first frame, so truncation is found here and not later."""
    try:
        image.load()  # truncated files raise here: LOAD_TRUNCATED_IMAGES is left off on purpose
        # Phone photos store their rotation in EXIF; without this a portrait "7" arrives on its side.
        return ImageOps.exif_transpose(image)
    except Image.DecompressionBombError as exc:
        raise _bomb(name) from exc
    except _DECODE_ERRORS as exc:
        raise _fail(ImageError, name, f"truncated or corrupt {image.format} image ({exc})") from exc


def _to_array(image: Image.Image) -> np.ndarray:
    """Bring every mode to uint8 grey (H, W) or RGB (H, W, 3)."""
    mode = image.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        # 16-bit grey (PNG, TIFF scans): scale 0..65535 onto 0..255 rather than clip, which would
        # turn any ordinary 16-bit image white.
        wide = np.clip(np.asarray(image, dtype=np.int64), 0, 65535)
        return ((wide * 255 + 32767) // 65535).astype(np.uint8)
    has_alpha = mode in ("RGBA", "RGBa", "LA", "La", "PA") or "transparency" in image.info
    if has_alpha:
        # Composite onto white: a black stroke on a transparent canvas (what browser drawing pads
        # export) must become dark ink on light paper, not black on black.
        paper = Image.new("RGBA", image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(paper, image.convert("RGBA"))
        grey = mode in ("1", "L", "LA", "La")
        return np.array(image.convert("L" if grey else "RGB"))
    if mode in ("1", "L"):
        return np.array(image.convert("L"))
    return np.array(image.convert("RGB"))


def read_image(source: str | Path | bytes, name: str | None = None) -> np.ndarray:
    """Decode a file path or raw bytes into a uint8 array: (H, W) for grey, (H, W, 3) for colour.

    `name` labels error messages (default: the path, or "<bytes>"). Animated GIFs and multi-page
    TIFFs give their first frame. Raises `ImageError` or one of its subclasses.
    """
    if name is None:
        name = "<bytes>" if isinstance(source, bytes) else str(source)
    data = _read_bytes(source, name)
    image = _decode(_open(data, name), name)
    return _to_array(image)


def read_images(
    paths: Iterable[str | Path],
) -> list[tuple[str | Path, np.ndarray | None, ImageError | None]]:
    """Decode many files; one bad file yields its error in place and never stops the others.

    Returns one (path, array, None) or (path, None, error) per input, in order.
    """
    results: list[tuple[str | Path, np.ndarray | None, ImageError | None]] = []
    for path in paths:
        try:
            results.append((path, read_image(path), None))
        except ImageError as exc:
            results.append((path, None, exc))
    return results
