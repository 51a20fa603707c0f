"""``digitscope serve``: the app under uvicorn, in one process or several, announced once it answers.

One worker process runs Python on one core at a time: under 8 concurrent clients on 2 cores, two workers
answered 1.7-1.9x the requests of one, at a lower median latency (``benchmarks/serve.py``). Each worker holds
its own copy of both models (the one that classifies, the one that reads numbers) on onnxruntime without
PyTorch, about 135 MB.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from functools import partial

import uvicorn
from uvicorn.supervisors import Multiprocess

from ..inference.backends import usable_cores
from ..inference.classifier import DigitClassifier

# More workers than this gain little for one model and cost a model's memory each.
MAX_DEFAULT_WORKERS = 4
MODEL_VARIABLE = "DIGITSCOPE_SERVE_MODEL"  # how a worker process learns which model to serve ...
READ_MODEL_VARIABLE = "DIGITSCOPE_SERVE_READ_MODEL"  # ... and which one reads numbers ...
BACKEND_VARIABLE = "DIGITSCOPE_SERVE_BACKEND"  # ... and what runs them
STARTUP_SECONDS = 120  # a worker that is not answering by then has failed


def default_workers() -> int:
    return min(usable_cores(), MAX_DEFAULT_WORKERS)


def worker_app():
    """The app of one worker process (uvicorn's factory): the model named by the parent."""
    from .app import create_app

    return create_app(os.environ[MODEL_VARIABLE], os.environ[READ_MODEL_VARIABLE], os.environ[BACKEND_VARIABLE])


def run(model: str = "default", host: str = "127.0.0.1", port: int = 8000, as_json: bool = False,
        workers: int | None = None, read_model: str = "reading", backend: str = "auto") -> None:
    """Serve until interrupted; exits with status 1 when the address cannot be bound or a worker cannot start."""
    workers = default_workers() if workers is None else workers
    if workers < 1:
        raise ValueError(f"--workers must be at least 1, not {workers}")
    # Access logs cost a write per request; errors are still logged.
    options = {"host": host, "port": port, "log_level": "warning", "access_log": False}
    if workers == 1:
        from .app import create_app

        app = create_app(model, read_model, backend)
        server = _AnnouncingServer(uvicorn.Config(app, **options),
                                   lambda sockets: _announce(sockets[0], model, read_model,
                                                             app.state.classifier.backend.name, as_json))
        server.run()
        if not server.started:
            sys.exit(1)
        return
    # Refused here, before any worker starts, when the model does not exist or cannot be served.
    classifier = DigitClassifier.load(model, threads=1, backend=backend)
    if read_model != model:
        DigitClassifier.load(read_model, threads=1, backend=backend)
    # The workers are told the backend asked; the start-up message names the one built (a stale int8 graph falls
    # back to the float graph as it loads).
    built = classifier.backend.name
    os.environ.update({MODEL_VARIABLE: model, READ_MODEL_VARIABLE: read_model, BACKEND_VARIABLE: backend})
    config = uvicorn.Config("digitscope.serve.server:worker_app", factory=True, workers=workers, **options)
    listening = config.bind_socket()  # exits with status 1 when the address is taken
    supervisor = _AnnouncingWorkers(config, [listening], partial(_announce, listening, model, read_model, built,
                                                                 as_json))
    supervisor.run()
    if not supervisor.announced:
        sys.exit(1)


def _announce(listening: socket.socket, model: str, read_model: str, backend: str, as_json: bool) -> None:
    """Prints the address (with --port 0, the port the system chose) once requests are answered."""
    host, port = listening.getsockname()[:2]
    url = f"http://{host if ':' not in host else f'[{host}]'}:{port}/"
    if as_json:
        print(json.dumps({"url": url, "model": model, "read_model": read_model, "backend": backend}), flush=True)
    else:
        print(f"digitscope: serving model {model!r}, numbers read by {read_model!r} ({backend}) at {url}  "
              f"(API docs: {url}docs; Ctrl+C to stop)", flush=True)


class _AnnouncingServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, announce):
        super().__init__(config)
        self.announce = announce

    async def startup(self, sockets=None) -> None:
        await super().startup(sockets)
        if self.started:
            self.announce(self.servers[0].sockets)


class _AnnouncingWorkers(Multiprocess):
    """uvicorn's supervisor, announcing once every worker answers; stops when one cannot start."""

    def __init__(self, config: uvicorn.Config, sockets: list[socket.socket], announce):
        super().__init__(config, sockets)
        self.announce, self.announced = announce, False

    def init_processes(self) -> None:
        super().init_processes()
        if all(worker.wait_until_ready(STARTUP_SECONDS, self.should_exit) for worker in self.processes):
            self.announce()
            self.announced = True
        else:
            self.should_exit.set()
