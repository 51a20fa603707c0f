"""Every failure leaves the server as JSON ``{"status", "error", "message"}``; none leaves a stack trace.

The status says whose fault it was: 400 the bytes are not a readable image, 413 too large (bytes, pixels
or number of images), 415 a media type the API does not take, 422 a request that does not fit the API,
500 a fault of the server (logged here, never described to the client).
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from ..imageio import ImageError, ImageTooLargeError

ERROR_NAMES = {400: "bad_image", 404: "not_found", 405: "method_not_allowed", 413: "too_large",
               415: "unsupported_type", 422: "invalid_request", 500: "internal"}


class ApiError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def image_error(exc: ImageError) -> ApiError:
    """413 when the image is too large in bytes or pixels, else 400: not an image, or a damaged one."""
    return ApiError(413 if isinstance(exc, ImageTooLargeError) else 400, str(exc))


def error_response(status: int, message: str) -> JSONResponse:
    return JSONResponse({"status": status, "error": ERROR_NAMES.get(status, "error"), "message": message},
                        status_code=status)


def validation_message(errors: list[dict]) -> str:
    """pydantic's errors as one line: ``images.0: Input should be a valid string; ...``."""
    parts = []
    for error in errors:
        where = ".".join(str(p) for p in error.get("loc", ()) if p != "body")
        parts.append(f"{where}: {error['msg']}" if where else error["msg"])
    return "; ".join(parts)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.message)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(422, validation_message(exc.errors()))

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        return error_response(exc.status_code, str(exc.detail))

    # Starlette re-raises after this handler answers, so the server's log keeps the traceback.
    @app.exception_handler(Exception)
    async def internal_error(_: Request, exc: Exception) -> JSONResponse:
        return error_response(500, "internal error: the server could not answer this request (it logged why)")
