"""HTTP serving on loopback: `digitscope serve` on the default model, measured from outside as a client sees it.

    python benchmarks/serve.py                       # 8 connections for 30 s, as in the targets
    python benchmarks/serve.py --duration 10         # a shorter run

1. Cold start: from launching `digitscope serve` to the first answer of /v1/classify (median of --starts).
2. Load: wrk (Debian's `wrk`), 8 concurrent connections for --duration seconds, each posting a single
   28x28 MNIST test digit as a multipart PNG to /v1/classify: p50 / p99 latency, requests/s, errors.
3. Memory: the server's resident set after the load (VmRSS), and its peak (VmHWM).
4. /v1/read on 5-digit canvas images (MNIST test digits written as free-form strings, on an 800 x 400
   canvas as the page sends them): p50 / p90 latency, one request at a time, and how many were read right.

Targets: p50 <= 10 ms, p99 <= 50 ms, zero errors, RSS <= 400 MB, cold start <= 3 s.
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlparse

import _report
import numpy as np
from PIL import Image

import digitscope
from digitscope.reading.synthetic import freeform_strings

CANVAS = (800, 400)  # the page's pad
BOUNDARY = uuid.uuid4().hex
WRK_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "multipart/form-data; boundary={boundary}"
local f = io.open("{body}", "rb")
wrk.body = f:read("*all")
f:close()
"""


def png(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, "PNG")
    return buffer.getvalue()


def multipart(name: str, data: bytes) -> bytes:
    return (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n"
            f"Content-Type: image/png\r\n\r\n").encode() + data + f"\r\n--{BOUNDARY}--\r\n".encode()


class Server:
    """`digitscope serve --port 0` in a child process; `url` once it listens."""

    def __init__(self, model: str):
        self.log = tempfile.TemporaryFile("w+")
        self.started = time.perf_counter()
        self.process = subprocess.Popen([sys.executable, "-m", "digitscope", "serve", "--model", model, "--port", "0",
                                         "--json"], stdout=subprocess.PIPE, stderr=self.log, text=True)
        line = self.process.stdout.readline()
        if not line:
            self.log.seek(0)
            raise RuntimeError(f"digitscope serve did not start: {self.log.read()[-2000:]}")
        self.url = json.loads(line)["url"]
        address = urlparse(self.url)
        self.host, self.port = address.hostname, address.port

    def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
        connection.request("POST", path, body, {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"})
        response = connection.getresponse()
        answer = response.status, response.read()
        connection.close()
        return answer

    def memory_mb(self) -> dict[str, float]:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return {key: int(re.search(rf"{key}:\s+(\d+) kB", status).group(1)) / 1024 for key in ("VmRSS", "VmHWM")}

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=15)
        self.log.close()


def cold_start(model: str, body: bytes) -> float:
    """Seconds from launching the server to its first /v1/classify answer."""
    server = Server(model)
    try:
        status, _ = server.post("/v1/classify", body)
        if status != 200:
            raise RuntimeError(f"first answer was HTTP {status}")
        return time.perf_counter() - server.started
    finally:
        server.stop()


def wrk_load(server: Server, body: bytes, connections: int, duration: int) -> dict:
    wrk = shutil.which("wrk")
    if wrk is None:
        sys.exit("the load test needs wrk: apt-get install wrk")
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "body").write_bytes(body)
        (Path(tmp) / "post.lua").write_text(WRK_SCRIPT.format(boundary=BOUNDARY, body=Path(tmp) / "body"))
        out = subprocess.run([wrk, "-t2", f"-c{connections}", f"-d{duration}s", "--latency", "-s",
                              str(Path(tmp) / "post.lua"), server.url + "v1/classify"],
                             capture_output=True, text=True, check=True).stdout

    def latency_ms(percentile: str) -> float:
        value, unit = re.search(rf"^\s+{percentile}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()
        return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]

    requests = int(re.search(r"(\d+) requests in", out).group(1))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = (int(non_2xx.group(1)) if non_2xx else 0) + (sum(map(int, socket.groups())) if socket else 0)
    return {"p50": latency_ms("50"), "p99": latency_ms("99"), "requests": requests, "errors": errors,
            "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))}


def canvas_numbers(n: int, seed: int = 0) -> list[tuple[str, bytes]]:
    """5-digit strings of MNIST test digits, dark on white, scaled onto the page's 800 x 400 canvas."""
    test = digitscope.data.load("mnist:test")
    strings = freeform_strings(test.images, test.labels, n, seed=seed, min_len=5, max_len=5)
    out = []
    for image, text in zip(strings.images, strings.texts, strict=True):
        h, w = image.shape
        scale = min(0.9 * CANVAS[0] / w, 0.5 * CANVAS[1] / h)
        string = Image.fromarray(image).resize((round(w * scale), round(h * scale)), Image.Resampling.LANCZOS)
        canvas = Image.new("L", CANVAS, 255)
        canvas.paste(string, ((CANVAS[0] - string.width) // 2, (CANVAS[1] - string.height) // 2))
        out.append((text, png(np.asarray(canvas))))
    return out


def read_latency(server: Server, numbers: list[tuple[str, bytes]]) -> dict:
    times, right = [], 0
    for text, data in numbers:
        t0 = time.perf_counter()
        status, answer = server.post("/v1/read", multipart("number.png", data))
        times.append(1e3 * (time.perf_counter() - t0))
        right += status == 200 and json.loads(answer)["text"] == text
    return {"p50": statistics.median(times), "p90": float(np.percentile(times, 90)), "n": len(numbers), "right": right}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--model", default="default")
    p.add_argument("--duration", type=int, default=30, help="seconds of load")
    p.add_argument("--connections", type=int, default=8)
    p.add_argument("--starts", type=int, default=3, help="cold starts timed")
    p.add_argument("--reads", type=int, default=50, help="/v1/read requests timed")
    args = p.parse_args()

    digit = digitscope.data.load("mnist:test").images[0]  # a 7, 28x28
    body = multipart("digit.png", png(digit))
    load_before = os.getloadavg()[0]
    starts = [cold_start(args.model, body) for _ in range(args.starts)]
    server = Server(args.model)
    try:
        server.post("/v1/classify", body)  # the first request of a process pays for lazy set-up
        load = wrk_load(server, body, args.connections, args.duration)
        memory = server.memory_mb()
        reads = read_latency(server, canvas_numbers(args.reads))
    finally:
        server.stop()

    _report.append(
        f"HTTP serving: `{args.model}` model on loopback",
        f"load average {load_before:.1f} at the start (other work on the machine slows every figure)\n\n"
        f"| measure | figure | target |\n|---|---|---|\n"
        f"| cold start to first answer (median of {args.starts}) | {statistics.median(starts):.2f} s "
        f"(all: {', '.join(f'{s:.2f}' for s in starts)}) | <= 3 s |\n"
        f"| /v1/classify, {args.connections} connections, {args.duration} s (wrk), p50 | {load['p50']:.1f} ms | "
        f"<= 10 ms |\n"
        f"| /v1/classify p99 | {load['p99']:.1f} ms | <= 50 ms |\n"
        f"| /v1/classify throughput | {load['rps']:,.0f} requests/s ({load['requests']:,} requests) | |\n"
        f"| errors | {load['errors']} | 0 |\n"
        f"| server memory after the load: RSS / peak | {memory['VmRSS']:.0f} MB / {memory['VmHWM']:.0f} MB | "
        f"<= 400 MB |\n"
        f"| /v1/read, 5-digit 800 x 400 canvas images, p50 / p90 (one at a time) | {reads['p50']:.0f} ms / "
        f"{reads['p90']:.0f} ms | |\n"
        f"| /v1/read, numbers read right | {reads['right']} of {reads['n']} | |")


if __name__ == "__main__":
    main()
