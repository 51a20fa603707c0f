"""The HTTP API's request and response bodies: typed, so /docs documents every field."""

from __future__ import annotations

from pydantic import BaseModel, Field

from .limits import MAX_IMAGES

BASE64_HELP = "the image file's bytes in base64 (PNG, JPEG, BMP, GIF, TIFF or WebP); a data: URL prefix is accepted"


class ClassifyRequest(BaseModel):
    """JSON alternative to a multipart upload."""

    images: list[str] = Field(min_length=1, description=f"{BASE64_HELP}; up to {MAX_IMAGES} images")
    names: list[str] | None = Field(None, description="a name for each image, echoed back as `file`")


class ReadRequest(BaseModel):
    image: str = Field(description=BASE64_HELP)


class Classification(BaseModel):
    file: str = Field(description="the upload's file name, or the name given in JSON (default imageN)")
    digit: int | None = Field(description="the answer; with rejected=true only a best guess, null for not_a_digit")
    confidence: float | None = Field(description="calibrated probability of `digit`")
    probabilities: list[float] | None = Field(description="calibrated probability of each digit 0-9")
    rejected: bool = Field(description="true when the model refuses to answer (see `reason`)")
    reason: str | None = Field(description="not_a_digit | uncertain | error | null")
    error: str | None = Field(None, description="why this image could not be read (reason=error)")
    not_a_digit: float | None = Field(None, description="probability that the image is no digit at all, from models "
                                                        "trained with that class")


class ClassifyResponse(BaseModel):
    model: str
    results: list[Classification]


class ReadDigit(BaseModel):
    digit: int
    box: list[int] = Field(description="[x0, y0, x1, y1] in the image's pixels")
    confidence: float
    probabilities: list[float] = Field(description="probability of each digit 0-9 for this box (the top-3 bars)")


class ReadResponse(BaseModel):
    text: str = Field(description="the number read, digits only")
    confidence: float | None = Field(description="probability that every digit is right; null when none was found")
    rejected: bool = Field(description="true when the reading is not to be trusted (see `reason`)")
    reason: str | None = Field(None, description="not_a_digit | uncertain | null")
    digits: list[ReadDigit]
    text_with_separators: str = Field("", description="the digits with the thousands separators seen between them, "
                                                      "as written (1.990 for 1990)")


class ModelInfo(BaseModel):
    name: str
    routes: list[str] = Field(description="what it answers: /v1/classify, /v1/read (and the page)")
    arch: str
    parameters: int | None
    backend: str = Field(description="what computes the logits: onnxruntime, int8 (onnxruntime on the model's int8 "
                                     "graph) or torch")
    temperature: float = Field(description="calibration temperature (1.0: uncalibrated)")
    reject_threshold: float | None = Field(description="confidence below which answers are refused")
    val_accuracy: float | None
    code_version: str | None


class ModelsResponse(BaseModel):
    models: list[ModelInfo]


class Health(BaseModel):
    status: str
    model: str
    backend: str
    uptime_s: float
    pid: int = Field(description="the server process that answered: one of several with `digitscope serve --workers`")


class ErrorResponse(BaseModel):
    status: int = Field(description="the HTTP status, repeated")
    error: str = Field(description="bad_image | too_large | unsupported_type | invalid_request | not_found | "
                                   "method_not_allowed | internal")
    message: str = Field(description="what was wrong, and what is allowed")
