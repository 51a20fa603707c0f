"""``digitscope serve``: the app under uvicorn, announced once it listens."""

from __future__ import annotations

import json
import sys

import uvicorn

from .app import create_app


class _Server(uvicorn.Server):
    """Prints the address once the socket is bound (with --port 0, the port the system chose)."""

    def __init__(self, config: uvicorn.Config, model: str, backend: str, as_json: bool):
        super().__init__(config)
        self.model, self.backend, self.as_json = model, backend, as_json

    async def startup(self, sockets=None) -> None:
        await super().startup(sockets)
        if not self.started:
            return
        host, port = self.servers[0].sockets[0].getsockname()[:2]
        url = f"http://{host if ':' not in host else f'[{host}]'}:{port}/"
        if self.as_json:
            print(json.dumps({"url": url, "model": self.model, "backend": self.backend}), flush=True)
        else:
            print(f"digitscope: serving model {self.model!r} ({self.backend}) at {url}  (API docs: {url}docs; "
                  "Ctrl+C to stop)", flush=True)


def run(model: str = "default", host: str = "127.0.0.1", port: int = 8000, as_json: bool = False) -> None:
    """Serve until interrupted; exits with status 1 when the address cannot be bound."""
    app = create_app(model)
    backend = app.state.classifier.backend.name
    # Access logs cost a write per request; errors are still logged.
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False)
    server = _Server(config, model, backend, as_json)
    server.run()
    if not server.started:
        sys.exit(1)
