"""`digitscope serve` as a user starts it, on a free port, for the tests that need a real HTTP server."""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def descendants(pid: int) -> list[int]:
    """The processes started by ``pid``, and by them, and so on (Linux: /proc)."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in map(int, (task / "children").read_text().split()):
            found += [child, *descendants(child)]
    return found


@contextmanager
def running_server(model: str = "default", timeout: float = 60.0, workers: int | None = None,
                   started: list[subprocess.Popen] | None = None) -> Iterator[str]:
    """Start the server with --port 0 (the system picks a free port) and yield its URL once it answers.
    ``started``, when given, receives the server's process."""
    command = [sys.executable, "-m", "digitscope", "serve", "--model", model, "--port", "0", "--json"]
    with tempfile.TemporaryFile("w+") as log:  # a file, not a pipe: a full pipe would stall the server
        process = subprocess.Popen(command + (["--workers", str(workers)] if workers else []),
                                   stdout=subprocess.PIPE, stderr=log, text=True,
                                   env={**os.environ, "PYTHONUNBUFFERED": "1"})
        if started is not None:
            started.append(process)
        try:
            selector = selectors.DefaultSelector()
            selector.register(process.stdout, selectors.EVENT_READ)
            line = process.stdout.readline() if selector.select(timeout) else ""
            if not line:
                process.kill()
                log.seek(0)
                raise RuntimeError(f"digitscope serve printed no address within {timeout:.0f} s: {log.read()[-2000:]}")
            yield json.loads(line)["url"]
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
