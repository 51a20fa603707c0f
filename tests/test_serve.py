"""The HTTP API: every endpoint, both ways of sending images, and every error a client can cause."""

from __future__ import annotations

import base64
import io
import json
import re
import struct
import time
import urllib.request
import zlib
from pathlib import Path

import numpy as np
import pytest
from drawn_digits import drawing
from fastapi.testclient import TestClient
from live_server import descendants, running_server
from PIL import Image
from typer.testing import CliRunner

import digitscope
from digitscope import imageio
from digitscope.cli import app as cli_app
from digitscope.reading import Reader
from digitscope.serve import create_app
from digitscope.serve.app import STATIC
from digitscope.serve.limits import MAX_IMAGES, MAX_REQUEST_BYTES


@pytest.fixture(scope="module")
def app():
    return create_app("default")


@pytest.fixture(scope="module")
def client(app):
    return TestClient(app)


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def part(name: str, data: bytes, media_type: str = "image/png") -> tuple[str, tuple[str, bytes, str]]:
    return ("file", (name, data, media_type))


def pixel_bomb() -> bytes:
    """A valid PNG of a few hundred bytes whose header claims 100,000 x 100,000 pixels."""
    data = bytearray(png(Image.new("L", (8, 8), 255)))
    ihdr = 8 + 8  # signature, then the IHDR chunk's length and type
    data[ihdr:ihdr + 8] = struct.pack(">II", 100_000, 100_000)
    data[ihdr + 13:ihdr + 17] = struct.pack(">I", zlib.crc32(bytes(data[ihdr - 4:ihdr + 13])))
    return bytes(data)


SEVEN, FOUR, BLANK = png(drawing("7")), png(drawing("4")), png(Image.new("L", (200, 200), 255))


def assert_error(response, status: int, *words: str) -> dict:
    body = response.json()
    assert response.status_code == status, body
    assert body["status"] == status and body["error"] and body["message"]
    for word in words:
        assert word in body["message"], body["message"]
    assert "Traceback" not in response.text
    return body


# ---- the page and the service endpoints -------------------------------------------------------------

def test_the_page_and_its_files_are_served_and_fetch_nothing_from_elsewhere(client):
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    for name in ("app.js", "style.css"):
        assert f"/static/{name}" in page.text
        assert client.get(f"/static/{name}").status_code == 200
    for path in STATIC.iterdir():  # no CDN, no web font: every URL in the bundle is an XML namespace
        urls = re.findall(r"https?://[^\s\"')]+", path.read_text())
        assert all(u.startswith("http://www.w3.org/") for u in urls), (path.name, urls)


def test_health_and_models_name_the_model_and_its_backend(client):
    health = client.get("/healthz").json()
    assert health["status"] == "ok" and health["model"] == "default"
    assert health["backend"] == "onnxruntime"  # the faster one, installed with the package
    model, reading = client.get("/v1/models").json()["models"]
    assert (model["name"], model["routes"], reading["name"], reading["routes"]) == (
        "default", ["/v1/classify"], "reading", ["/v1/read"])
    for info, backend in ((model, "onnxruntime"), (reading, "int8")):  # reading keeps an int8 graph beside it
        card = digitscope.load(info["name"]).card  # the architecture and calibration the bundled card holds
        assert info["arch"] == card.arch and info["backend"] == backend
        assert info["temperature"] == card.temperature
        assert info["reject_threshold"] == card.reject["threshold"] and 0 < info["reject_threshold"] < 1


def test_api_docs_work_offline_and_document_both_ways_of_sending_images(client):
    docs = client.get("/docs")
    assert docs.status_code == 200 and "/docs-assets/swagger-ui-bundle.js" in docs.text and "cdn" not in docs.text
    assert client.get("/docs-assets/swagger-ui-bundle.js").status_code == 200
    spec = client.get("/openapi.json").json()
    for path in ("/v1/classify", "/v1/read"):
        post = spec["paths"][path]["post"]
        assert set(post["requestBody"]["content"]) == {"multipart/form-data", "application/json"}
        assert {"200", "400", "413", "415", "422"} <= set(post["responses"])


# ---- /v1/classify -----------------------------------------------------------------------------------

def test_classify_one_uploaded_image(client):
    response = client.post("/v1/classify", files=[part("seven.png", SEVEN)])
    assert response.status_code == 200
    (result,) = response.json()["results"]
    assert result["file"] == "seven.png" and result["digit"] == 7 and not result["rejected"]
    assert result["confidence"] > 0.9 and sum(result["probabilities"]) == pytest.approx(1, abs=1e-4)


def test_classify_a_batch_answers_each_image_in_order(client):
    response = client.post("/v1/classify", files=[part("a.png", SEVEN), part("b.png", FOUR), part("c.png", BLANK)])
    results = response.json()["results"]
    assert [r["file"] for r in results] == ["a.png", "b.png", "c.png"]
    assert [r["digit"] for r in results] == [7, 4, None]
    assert results[2]["rejected"] and results[2]["reason"] == "not_a_digit"


def test_classify_base64_json_gives_the_same_answers_as_an_upload(client):
    images = [base64.b64encode(SEVEN).decode(), "data:image/png;base64," + base64.b64encode(FOUR).decode()]
    response = client.post("/v1/classify", json={"images": images, "names": ["x", "y"]})
    assert response.status_code == 200
    via_json = response.json()["results"]
    via_upload = client.post("/v1/classify", files=[part("x", SEVEN), part("y", FOUR)]).json()["results"]
    assert via_json == via_upload
    unnamed = client.post("/v1/classify", json={"images": images[:1]}).json()["results"]
    assert unnamed[0]["file"] == "image0" and unnamed[0]["digit"] == 7


def test_one_bad_image_in_a_batch_does_not_stop_the_others(client):
    response = client.post("/v1/classify", files=[part("good.png", SEVEN), part("bad.png", b"not an image at all")])
    assert response.status_code == 200
    good, bad = response.json()["results"]
    assert good["digit"] == 7
    assert bad["reason"] == "error" and bad["digit"] is None and bad["error"].startswith("bad.png:")


# ---- /v1/read ---------------------------------------------------------------------------------------

def test_read_a_whole_number_with_a_box_and_probabilities_per_digit(client):
    response = client.post("/v1/read", files=[part("year.png", png(drawing("2024")))])
    assert response.status_code == 200
    reading = response.json()
    assert reading["text"] == "2024" and not reading["rejected"] and reading["confidence"] > 0.9
    boxes = [d["box"] for d in reading["digits"]]
    assert all(0 <= x0 < x1 <= 800 and 0 <= y0 < y1 <= 400 for x0, y0, x1, y1 in boxes)
    assert [b[0] for b in boxes] == sorted(b[0] for b in boxes)  # left to right, one box per digit
    for d in reading["digits"]:
        assert int(np.argmax(d["probabilities"])) == d["digit"]


def test_read_base64_json_and_its_parameters(client):
    image = base64.b64encode(png(drawing("47"))).decode()
    assert client.post("/v1/read", json={"image": image}).json()["text"] == "47"
    forced = client.post("/v1/read?length=2&charset=0123456789", json={"image": image}).json()
    assert forced["text"] == "47"
    at_risk = client.post("/v1/read?max_risk=0.02", json={"image": image}).json()
    assert at_risk["text"] == "47" and not at_risk["rejected"]
    assert client.post("/v1/read?max_risk=1.5", json={"image": image}).status_code == 422


def test_read_an_amount_with_the_line_reader(client):
    image = base64.b64encode(png(drawing("1720"))).decode()
    reading = client.post("/v1/read?amount=true", json={"image": image}).json()
    assert reading["text"] == "1720" and len(reading["digits"]) == 4
    assert client.post("/v1/read?amount=true&max_risk=0.05", json={"image": image}).json()["text"] == "1720"


def test_amounts_need_the_reading_model_however_it_is_named():
    """The line reader's rule was fitted beside the bundled reading model: given by its path it reads amounts; with
    another read model the server says why it will not."""
    from digitscope.store.bundled import resolve_model_path

    image = base64.b64encode(png(drawing("1720"))).decode()
    by_path = TestClient(create_app("default", read_model=str(resolve_model_path("reading"))))
    assert by_path.post("/v1/read?amount=true", json={"image": image}).json()["text"] == "1720"
    other = TestClient(create_app("default", read_model="default")).post("/v1/read?amount=true", json={"image": image})
    assert other.status_code == 422 and "reading model" in other.json()["message"]


def test_read_a_blank_page_is_not_a_digit(client):
    reading = client.post("/v1/read", files=[part("blank.png", BLANK)]).json()
    assert reading["rejected"] and reading["reason"] == "not_a_digit"
    assert reading["text"] == "" and reading["digits"] == [] and reading["confidence"] is None


# ---- every error ------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/v1/classify", "/v1/read"])
def test_400_for_bytes_that_are_not_an_image_or_are_damaged(client, path):
    assert_error(client.post(path, files=[part("notes.png", b"just some text")]), 400, "notes.png", "not a supported")
    assert_error(client.post(path, files=[part("cut.png", SEVEN[: len(SEVEN) // 2])]), 400, "cut.png")
    assert_error(client.post(path, files=[part("empty.png", b"")]), 400, "empty")


def test_400_for_base64_that_does_not_decode(client):
    assert_error(client.post("/v1/classify", json={"images": ["%%%"]}), 400, "base64")


def test_413_for_too_many_pixels_too_many_bytes_or_too_many_images(client, monkeypatch):
    assert_error(client.post("/v1/read", files=[part("bomb.png", pixel_bomb())]), 413, "bomb.png", "pixels")
    assert_error(client.post("/v1/classify", files=[part("bomb.png", pixel_bomb())]), 413, "pixels")
    too_many = [part(f"{i}.png", SEVEN) for i in range(MAX_IMAGES + 1)]
    assert_error(client.post("/v1/classify", files=too_many), 413, f"limit of {MAX_IMAGES}")
    monkeypatch.setattr(imageio, "MAX_BYTES", len(SEVEN) - 1)  # the per-image limit, without a 20 MB upload
    assert_error(client.post("/v1/classify", files=[part("big.png", SEVEN)]), 413, "big.png", "bytes")
    body = b"0" * (MAX_REQUEST_BYTES + 1)  # the whole request: refused before it is read
    assert_error(client.post("/v1/read", content=body, headers={"content-type": "application/json"}), 413)


def test_415_for_media_types_the_api_does_not_take(client):
    assert_error(client.post("/v1/classify", files=[part("notes.txt", b"hello", "text/plain")]), 415, "text/plain")
    assert_error(client.post("/v1/read", files=[part("logo.svg", b"<svg/>", "image/svg+xml")]), 415, "image/svg+xml")
    assert_error(client.post("/v1/read", content=SEVEN, headers={"content-type": "image/png"}), 415, "multipart")
    svg = "data:image/svg+xml;base64," + base64.b64encode(b"<svg/>").decode()
    assert_error(client.post("/v1/classify", json={"images": [svg]}), 415, "image/svg+xml")


def test_422_for_requests_that_do_not_fit_the_api(client):
    assert_error(client.post("/v1/classify", json={"pictures": []}), 422, "images")
    assert_error(client.post("/v1/classify", json={"images": []}), 422, "images")
    assert_error(client.post("/v1/classify", json={"images": ["x"], "names": ["a", "b"]}), 422, "names")
    assert_error(client.post("/v1/classify", content=b"{not json", headers={"content-type": "application/json"}), 422)
    assert_error(client.post("/v1/classify", data={"other": "x"}, files=[("photo", ("a.png", SEVEN, "image/png"))]),
                 422, "file")
    assert_error(client.post("/v1/read", files=[part("a.png", SEVEN), part("b.png", FOUR)]), 422, "one image")
    assert_error(client.post("/v1/read?length=0", files=[part("a.png", SEVEN)]), 422, "length")
    assert_error(client.post("/v1/read?charset=abc", files=[part("a.png", SEVEN)]), 422, "charset")


def test_an_internal_fault_is_a_500_without_a_stack_trace_and_the_server_goes_on(app, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(Reader, "read", broken)
    client = TestClient(app, raise_server_exceptions=False)
    response = client.post("/v1/read", files=[part("a.png", SEVEN)])
    assert_error(response, 500)
    assert "secret" not in response.text
    monkeypatch.undo()
    assert client.post("/v1/read", files=[part("a.png", SEVEN)]).json()["text"] == "7"


def test_unknown_paths_and_methods_are_json_errors_too(client):
    assert_error(client.get("/v2/anything"), 404)
    assert_error(client.get("/v1/classify"), 405)


# ---- the server as users start it -----------------------------------------------------------------

def test_digitscope_serve_answers_over_http():
    with running_server() as url:
        with urllib.request.urlopen(url + "healthz", timeout=10) as response:
            assert json.load(response)["status"] == "ok"
        body = json.dumps({"images": [base64.b64encode(SEVEN).decode()]}).encode()
        request = urllib.request.Request(url + "v1/classify", data=body, headers={"content-type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert json.load(response)["results"][0]["digit"] == 7


def test_serve_with_two_workers_answers_from_both_and_stops_them_with_it():
    started = []
    with running_server(workers=2, started=started) as url:
        workers = descendants(started[0].pid)
        pids = set()
        for _ in range(40):  # the kernel hands each connection to whichever worker accepts first
            with urllib.request.urlopen(url + "healthz", timeout=10) as response:
                pids.add(json.load(response)["pid"])
        assert pids <= set(workers) and len(pids) == 2
    deadline = time.monotonic() + 10  # multiprocessing's resource tracker leaves a moment after the others
    while any(Path(f"/proc/{pid}").exists() for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(Path(f"/proc/{pid}").exists() for pid in workers)


def test_serve_runs_both_models_on_the_backend_asked_and_refuses_one_that_does_not_exist():
    torch_app = TestClient(create_app("default", backend="torch"))
    assert torch_app.get("/healthz").json()["backend"] == "torch"
    assert [m["backend"] for m in torch_app.get("/v1/models").json()["models"]] == ["torch", "torch"]
    assert torch_app.post("/v1/classify", json={"images": [base64.b64encode(SEVEN).decode()]}).json()[
        "results"][0]["digit"] == 7
    result = CliRunner().invoke(cli_app, ["serve", "--backend", "gpu"])
    assert result.exit_code == 2 and "choose one of: auto, torch, onnxruntime, int8" in result.output


def test_serve_refuses_a_worker_count_below_one():
    result = CliRunner().invoke(cli_app, ["serve", "--workers", "0"])
    assert result.exit_code == 2 and "--workers must be at least 1" in result.output


def test_serve_refuses_a_model_that_does_not_exist(tmp_path):
    result = CliRunner().invoke(cli_app, ["serve", "--model", str(tmp_path / "nothing")])
    assert result.exit_code == 2 and "no model at" in result.output
