"""HTTP serving on loopback: `digitscope serve` on the default model, measured from outside as a client sees it.

    python benchmarks/serve.py                       # 8 connections for 30 s, as in the targets
    python benchmarks/serve.py --duration 10         # a shorter run

1. Cold start: from launching `digitscope serve` to the first answer of /v1/classify (median of --starts).
2. Load: wrk (Debian's `wrk`), 8 concurrent connections for --duration seconds, each posting a single
   28x28 MNIST test digit as a multipart PNG to /v1/classify: p50 / p99 latency, requests/s, errors.
3. Memory: the server's resident set after the load (VmRSS), and its peak (VmHWM), summed over its processes.
4. /v1/read on 5-digit canvas images (MNIST test digits written as free-form strings, on an 800 x 400
   canvas as the page sends them): p50 / p90 latency, one request at a time, and how many were read right.

Each is measured on the server as `digitscope serve` starts it (one worker process per core, at most 4) and,
in the same run, on a reference with --reference-workers (default 1).

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
from digitscope.data.synthetic import freeform_strings
from digitscope.serve.server import default_workers

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

    def __init__(self, model: str, workers: int | None = None):
        self.log = tempfile.TemporaryFile("w+")
        self.started = time.perf_counter()
        command = [sys.executable, "-m", "digitscope", "serve", "--model", model, "--port", "0", "--json"]
        self.process = subprocess.Popen(command + (["--workers", str(workers)] if workers else []),
                                        stdout=subprocess.PIPE, stderr=self.log, text=True)
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

    def processes(self) -> list[int]:
        """The server's process and all its descendants (the workers, multiprocessing's helpers)."""
        found, queue = [], [self.process.pid]
        while queue:
            pid = queue.pop()
            found.append(pid)
            for task in Path(f"/proc/{pid}/task").iterdir():
                queue += [int(child) for child in (task / "children").read_text().split()]
        return found

    def memory_mb(self) -> dict[str, float]:
        """Resident memory summed over the server's processes; the peak is the sum of each one's peak."""
        total = {"VmRSS": 0.0, "VmHWM": 0.0}
        for pid in self.processes():
            status = Path(f"/proc/{pid}/status").read_text()
            for key in total:
                total[key] += int(re.search(rf"{key}:\s+(\d+) kB", status).group(1)) / 1024
        total["processes"] = len(self.processes())
        return total

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=15)
        self.log.close()


def cold_start(model: str, body: bytes, workers: int | None) -> float:
    """Seconds from launching the server to its first /v1/classify answer."""
    server = Server(model, workers)
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


def measure(args, workers: int | None, body: bytes, numbers: list[tuple[str, bytes]]) -> dict:
    starts = [cold_start(args.model, body, workers) for _ in range(args.starts)]
    server = Server(args.model, workers)
    try:
        server.post("/v1/classify", body)  # the first request of a process pays for lazy set-up
        load = wrk_load(server, body, args.connections, args.duration)
        memory = server.memory_mb()
        reads = read_latency(server, numbers)
    finally:
        server.stop()
    return {"starts": starts, "load": load, "memory": memory, "reads": reads}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--model", default="default")
    p.add_argument("--duration", type=int, default=30, help="seconds of load")
    p.add_argument("--connections", type=int, default=8)
    p.add_argument("--starts", type=int, default=3, help="cold starts timed")
    p.add_argument("--reads", type=int, default=50, help="/v1/read requests timed")
    p.add_argument("--reference-workers", type=int, default=1,
                   help="also measure a server with this many worker processes, in the same run (0: none)")
    args = p.parse_args()

    digit = digitscope.data.load("mnist:test").images[0]  # a 7, 28x28
    body = multipart("digit.png", png(digit))
    numbers = canvas_numbers(args.reads)
    load_before = os.getloadavg()[0]
    configs = {f"`digitscope serve` ({default_workers()} workers)": None}
    if args.reference_workers:
        configs[f"`--workers {args.reference_workers}`"] = args.reference_workers
    runs = {name: measure(args, workers, body, numbers) for name, workers in configs.items()}

    rows = [
        (f"cold start to first answer (median of {args.starts})",
         lambda r: f"{statistics.median(r['starts']):.2f} s (all: {', '.join(f'{s:.2f}' for s in r['starts'])})",
         "<= 3 s"),
        (f"/v1/classify, {args.connections} connections, {args.duration} s (wrk), p50",
         lambda r: f"{r['load']['p50']:.1f} ms", "<= 10 ms"),
        ("/v1/classify p99", lambda r: f"{r['load']['p99']:.1f} ms", "<= 50 ms"),
        ("/v1/classify throughput", lambda r: f"{r['load']['rps']:,.0f} requests/s ({r['load']['requests']:,})", ""),
        ("errors", lambda r: f"{r['load']['errors']}", "0"),
        ("server memory after the load (all its processes): RSS / peak",
         lambda r: f"{r['memory']['VmRSS']:.0f} MB / {r['memory']['VmHWM']:.0f} MB ({r['memory']['processes']} "
                   "processes)", "<= 400 MB"),
        ("/v1/read, 5-digit 800 x 400 canvas images, p50 / p90 (one at a time)",
         lambda r: f"{r['reads']['p50']:.0f} ms / {r['reads']['p90']:.0f} ms", ""),
        ("/v1/read, numbers read right", lambda r: f"{r['reads']['right']} of {r['reads']['n']}", ""),
    ]
    table = (f"| measure | {' | '.join(runs)} | target |\n|---|{'---|' * len(runs)}---|\n"
             + "\n".join(f"| {label} | {' | '.join(cell(r) for r in runs.values())} | {target} |"
                          for label, cell, target in rows))
    _report.append(f"HTTP serving: `{args.model}` model on loopback",
                   f"load average {load_before:.1f} at the start (other work on the machine slows every figure)\n\n"
                   + table)


if __name__ == "__main__":
    main()
