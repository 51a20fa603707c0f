"""Images out of a request: multipart field ``file`` (repeatable) or base64 in JSON, decoded by the one reader.

A media type the client declares (the request's, a part's, a data: URL's) is checked before any byte is
decoded: text, PDF or SVG gets 415. The bytes themselves then go through ``imageio.read_image``, whose
limits (bytes, pixels before decoding) and messages are the same as everywhere else.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

import numpy as np
from fastapi import Request
from pydantic import BaseModel, ValidationError
from starlette.datastructures import UploadFile

from ..imageio import SUPPORTED_FORMATS, ImageError, read_image
from .errors import ApiError, image_error, validation_message
from .limits import MAX_IMAGES

# What browsers and HTTP clients call the formats imageio decodes; octet-stream means "not said".
IMAGE_MEDIA_TYPES = {"image/png", "image/jpeg", "image/pjpeg", "image/jpg", "image/bmp", "image/x-bmp",
                     "image/x-ms-bmp", "image/gif", "image/tiff", "image/webp", "application/octet-stream"}
FORMATS = ", ".join(SUPPORTED_FORMATS)
HOW_TO_SEND = ("send multipart/form-data with the image in field `file`, or application/json with the image "
               "in base64")


@dataclass
class Upload:
    name: str
    data: bytes
    media_type: str | None  # as declared by the client; None when it said nothing
    problem: ApiError | None = None  # found while unpacking it (bad base64): raised by decode, like a bad image

    def decode(self) -> np.ndarray:
        """uint8 (H, W) or (H, W, 3); raises ApiError 415 / 413 / 400."""
        if self.problem is not None:
            raise self.problem
        if self.media_type and self.media_type not in IMAGE_MEDIA_TYPES:
            raise ApiError(415, f"{self.name}: unsupported type {self.media_type}; send an image ({FORMATS})")
        try:
            return read_image(self.data, self.name)
        except ImageError as exc:
            raise image_error(exc) from exc


def _media_type(content_type: str | None) -> str | None:
    """'image/PNG; charset=x' -> 'image/png'; None when nothing was declared."""
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    return media_type or None


async def read_uploads(request: Request, schema: type[BaseModel], field: str) -> list[Upload]:
    """The images of a multipart or JSON request (``schema`` validates JSON; ``field`` holds its base64 images)."""
    kind = _media_type(request.headers.get("content-type"))
    if kind == "multipart/form-data":
        uploads = await _multipart(request)
    elif kind == "application/json":
        uploads = _json(await request.body(), schema, field)
    else:
        raise ApiError(415, f"unsupported request type {kind or '(none)'}: {HOW_TO_SEND}")
    if len(uploads) > MAX_IMAGES:
        raise ApiError(413, f"{len(uploads)} images in one request, over the limit of {MAX_IMAGES}")
    return uploads


def _json(raw: bytes, schema: type[BaseModel], field: str) -> list[Upload]:
    try:
        body = schema.model_validate_json(raw)
    except ValidationError as exc:
        raise ApiError(422, validation_message(exc.errors())) from exc
    images = getattr(body, field)
    images = images if isinstance(images, list) else [images]
    names = getattr(body, "names", None) or [f"image{i}" for i in range(len(images))]
    if len(names) != len(images):
        raise ApiError(422, f"names: {len(names)} names for {len(images)} images")
    return [_from_base64(name, text) for name, text in zip(names, images, strict=True)]


async def _multipart(request: Request) -> list[Upload]:
    form = await request.form()
    parts = form.getlist("file")
    if not parts:
        raise ApiError(422, f"no field `file` in the form: {HOW_TO_SEND}")
    uploads = []
    for i, part in enumerate(parts):
        if not isinstance(part, UploadFile):
            raise ApiError(422, "field `file` must carry a file (multipart filename=...), not a text value")
        uploads.append(Upload(part.filename or f"image{i}", await part.read(), _media_type(part.content_type)))
    return uploads


def _from_base64(name: str, text: str) -> Upload:
    """Plain base64, or a data: URL (``data:image/png;base64,...``) whose media type is checked like a part's."""
    media_type = None
    if text.startswith("data:"):
        header, _, text = text.partition(",")
        media_type = _media_type(header[5:].removesuffix(";base64"))
    try:
        return Upload(name, base64.b64decode("".join(text.split()), validate=True), media_type)
    except (binascii.Error, ValueError) as exc:
        return Upload(name, b"", media_type, ApiError(400, f"{name}: not valid base64 ({exc})"))
