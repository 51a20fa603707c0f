"""The web page and the HTTP API: ``create_app(model)`` for any ASGI server, ``run`` for `digitscope serve`."""

from .app import create_app
from .server import run

__all__ = ["create_app", "run"]
