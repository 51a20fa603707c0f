"""What one request may carry, enforced before the body is read into memory."""

from __future__ import annotations

import json

from ..imageio import MAX_BYTES

MAX_IMAGES = 64  # per /v1/classify request
# One largest image in base64 (4/3 of its bytes) with room for the JSON or multipart framing around it.
MAX_REQUEST_BYTES = MAX_BYTES * 4 // 3 + 1024 * 1024


class BodyLimit:
    """ASGI middleware: 413 for a body over ``max_bytes``, by its declared Content-Length or, when it is sent
    in chunks, as soon as the bytes received pass the limit; nothing past the limit is buffered."""

    def __init__(self, app, max_bytes: int = MAX_REQUEST_BYTES):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            return await self._too_large(send)

        received = 0
        started = False

        async def limited_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _BodyTooLarge
            return message

        async def tracking_send(message):
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _BodyTooLarge:
            if not started:
                await self._too_large(send)

    async def _too_large(self, send):
        body = json.dumps({"status": 413, "error": "too_large",
                           "message": f"request body over the limit of {self.max_bytes:,} bytes"}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


class _BodyTooLarge(Exception):
    pass
