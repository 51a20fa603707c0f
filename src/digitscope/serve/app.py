"""The web app: the page at ``/``, the HTTP API under ``/v1``, OpenAPI at ``/docs`` (served offline).

The model and the reader are loaded once, when the app is made, on the fastest backend available; the
work of each request (decoding, preprocessing, the network) runs in a worker thread, so a slow image
never holds up the others.
"""

from __future__ import annotations

import functools
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from fastapi import FastAPI, Query, Request, Response
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from ..imageio import ImageError, header_size
from ..inference.classifier import DigitClassifier
from ..store.bundled import resolve_model_path
from ..version import __version__
from .errors import ApiError, image_error, install_error_handlers
from .limits import MAX_IMAGES, BodyLimit
from .schemas import (
    Classification,
    ClassifyRequest,
    ClassifyResponse,
    ErrorResponse,
    Health,
    ModelInfo,
    ModelsResponse,
    ReadRequest,
    ReadResponse,
)
from .uploads import Upload, read_uploads

if TYPE_CHECKING:
    from ..reading import Reader

STATIC = Path(__file__).parent / "static"
# The page takes nothing from elsewhere: scripts, styles and requests stay on this server.
PAGE_HEADERS = {"Content-Security-Policy": "default-src 'self'; img-src 'self' blob: data:; "
                                           "style-src 'self'; script-src 'self'; connect-src 'self'",
                "X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"}
INLINE_PIXELS = 128 * 128  # per request: /v1/classify answers up to this many pixels without a worker thread
ERRORS = {status: {"model": ErrorResponse} for status in (400, 413, 415, 422, 500)}


def _body_doc(schema: type, what: str) -> dict:
    """The two ways to send images, for /docs: a multipart upload and JSON (the route parses both itself)."""
    multipart = {"type": "object", "required": ["file"],
                 "properties": {"file": {"type": "array", "items": {"type": "string", "format": "binary"},
                                         "description": what}}}
    return {"requestBody": {"required": True, "content": {
        "multipart/form-data": {"schema": multipart},
        "application/json": {"schema": schema.model_json_schema()}}}}


LINE_MODEL = "amounts"  # the bundled line reader for written amounts (/v1/read?amount=true)
READING = "reading"  # the bundled reading model, the one the line reader's reject rule was fitted with


def create_app(model: str = "default", read_model: str = READING, backend: str = "auto") -> FastAPI:
    """The app classifying digits with ``model`` and reading numbers with ``read_model`` (bundled names or saved
    model paths; the same one is loaded once), both run by ``backend`` (``inference.backends.BACKENDS``)."""
    from ..reading import Reader

    # One thread per inference: a server answers many requests at once, and the small batches it sees gain
    # less from splitting each operator over the cores than they lose to the hand-offs (benchmarks/serve.py).
    classifier = DigitClassifier.load(model, threads=1, backend=backend)
    reading = classifier if read_model == model else DigitClassifier.load(read_model, threads=1, backend=backend)
    for c in (classifier,) if reading is classifier else (classifier, reading):
        c.logits(np.zeros((1, 28, 28), np.uint8))  # build the backend now, not on the first request
    reader = Reader(reading)
    # The line reader's reject rule was fitted beside the bundled reading model: amounts are read with that model
    # only, however the server was told of it (its name or its path).
    reads_amounts = resolve_model_path(read_model).resolve() == resolve_model_path(READING).resolve()

    @functools.cache
    def amounts() -> Reader:
        """Written amounts: the bundled line reader beside the cuts, with the reject rule fitted for it and
        `reading`. Made on the first such request: it needs PyTorch, which a server that never reads an amount
        does not load."""
        return Reader(reading, prior=reader.prior, line_model=LINE_MODEL)

    started = time.monotonic()

    app = FastAPI(title="digitscope", version=__version__, docs_url=None, redoc_url=None,
                  description="Read handwritten digits and whole numbers. Send images as multipart field `file` "
                              "or as base64 in JSON; every error is JSON `{status, error, message}`.")
    app.state.classifier = classifier
    app.add_middleware(BodyLimit)
    install_error_handlers(app)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    _mount_docs(app)

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers=PAGE_HEADERS)

    @app.get("/healthz", response_model=Health, summary="Is the server up, and on which model")
    def healthz() -> Health:
        return Health(status="ok", model=model, backend=classifier.backend.name,
                      uptime_s=round(time.monotonic() - started, 1), pid=os.getpid())

    @app.get("/v1/models", response_model=ModelsResponse, summary="The models this server answers with")
    def models() -> ModelsResponse:
        if reading is classifier:
            return ModelsResponse(models=[model_info(model, classifier, ["/v1/classify", "/v1/read"])])
        return ModelsResponse(models=[model_info(model, classifier, ["/v1/classify"]),
                                      model_info(read_model, reading, ["/v1/read"])])

    @app.post("/v1/classify", response_model=ClassifyResponse, responses=ERRORS,
              openapi_extra=_body_doc(ClassifyRequest, f"one image per part, up to {MAX_IMAGES}"),
              summary="One digit per image, for one image or a batch")
    async def classify(request: Request) -> Response:
        """Each image is one digit, in any size or polarity. An image that cannot be read gets `reason: error`
        and the others are still answered; when no image can be read, the request fails with the first
        image's status (400, 413 or 415)."""
        uploads = await read_uploads(request, ClassifyRequest, "images")
        if is_small(uploads):
            results = classify_uploads(classifier, uploads)
        else:
            results = await run_in_threadpool(classify_uploads, classifier, uploads)
        # Built from typed models already, so written out as it is: FastAPI would validate it a second time.
        return Response(ClassifyResponse(model=model, results=results).model_dump_json(), media_type="application/json")

    @app.post("/v1/read", response_model=ReadResponse, responses=ERRORS,
              openapi_extra=_body_doc(ReadRequest, "one image"),
              summary="The whole number written in one image, with a box on each digit")
    async def read(request: Request,
                   length: int | None = Query(None, ge=1, le=100, description="the number has exactly this many "
                                                                             "digits"),
                   charset: str | None = Query(None, pattern="^[0-9]{1,10}$", description="the digits it may "
                                                                                        "contain, e.g. 01"),
                   max_risk: float | None = Query(None, ge=0, lt=1, description="refuse by the number's own reject "
                                                  "rule, answering as many numbers as keeps this share of them wrong "
                                                  "(e.g. 0.01); without it, a number is refused when a digit is"),
                   amount: bool = Query(False, description="a written amount (a cheque's): the line reader "
                                        f"`{LINE_MODEL}` reads the whole line beside the cuts, and its reject rule "
                                        "decides (at max_risk, when given)")
                   ) -> ReadResponse:
        uploads = await read_uploads(request, ReadRequest, "image")
        if len(uploads) != 1:
            raise ApiError(422, f"/v1/read takes one image, not {len(uploads)}; /v1/classify takes many")
        if amount and not reads_amounts:
            raise ApiError(422, f"amount=true reads with the line reader {LINE_MODEL}, whose reject rule was fitted "
                                f"with the reading model; this server reads numbers with {read_model}")
        chosen = amounts() if amount else reader
        if max_risk is not None:  # the same models, another threshold: one such Reader per request
            try:
                chosen = chosen.at_risk(max_risk)
            except ValueError as exc:  # the model has no rule for numbers
                raise ApiError(422, str(exc)) from exc
        return await run_in_threadpool(read_upload, chosen, uploads[0], length, charset)

    return app


def _mount_docs(app: FastAPI) -> None:
    """Swagger UI from the swagger-ui-bundle package instead of a CDN: /docs works offline."""
    import swagger_ui_bundle

    app.mount("/docs-assets", StaticFiles(directory=swagger_ui_bundle.swagger_ui_path), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url=app.openapi_url, title="digitscope API",
                                   swagger_js_url="/docs-assets/swagger-ui-bundle.js",
                                   swagger_css_url="/docs-assets/swagger-ui.css", swagger_favicon_url="")


def model_info(name: str, classifier: DigitClassifier, routes: list[str]) -> ModelInfo:
    card = classifier.card
    return ModelInfo(name=name, routes=routes, arch=card.arch, parameters=card.parameters,
                     backend=classifier.backend.name,
                     temperature=classifier.temperature, reject_threshold=card.reject.get("threshold"),
                     val_accuracy=card.metrics.get("selected", {}).get("val_accuracy"),
                     code_version=card.code_version)


def is_small(uploads: list[Upload]) -> bool:
    """Whether the images are small enough (by their headers) to answer on the event loop itself. A few digit-
    sized images take well under a millisecond, less than the hand-off to a worker thread and back costs: under
    8 concurrent clients that hand-off, and the threads' contention for the interpreter, doubled the median
    latency (benchmarks/serve.py). Anything larger goes to a worker thread, so it never holds up the others."""
    pixels = 0
    for upload in uploads:
        size = header_size(upload.data)
        pixels += size[0] * size[1] if size else 0  # unreadable: fails at once, in classify_uploads
    return pixels <= INLINE_PIXELS


def classify_uploads(classifier: DigitClassifier, uploads: list[Upload]) -> list[Classification]:
    """Decode each upload, and classify the readable ones in one batch as ``predict_files`` does files; per-image
    errors in place. When no upload can be decoded, the first one's error fails the request."""
    decoded = [_decode(upload) for upload in uploads]
    if all(error is not None for _, _, error in decoded):
        raise decoded[0][2]
    return [Classification(**answer.to_dict()) for answer in classifier.predict_images(decoded)]


def _decode(upload: Upload) -> tuple[str, np.ndarray | None, ApiError | None]:
    try:
        return upload.name, upload.decode(), None
    except ApiError as exc:
        return upload.name, None, exc


def read_upload(reader: Reader, upload: Upload, length: int | None, charset: str | None) -> ReadResponse:
    """The reader's result for one upload, each digit with its ten probabilities (the page's top-3 bars)."""
    image = upload.decode()
    try:
        reading = reader.read(image, expect_length=length, charset=charset)
    except ImageError as exc:  # an image the reader cannot use: too small or too large to hold a number
        raise image_error(exc) from exc
    return ReadResponse(**reading.to_dict())
