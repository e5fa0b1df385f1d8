"""WSGI from the server's side: run a WSGI app (your own Flask routes) for one request.

Owns: the environ of a request the server parsed, and collecting the app's status,
headers and whole body (on a pool thread; the server writes them).
May import: ``http.protocol``, the standard library.
"""

from __future__ import annotations

import io
import sys
from typing import Any

from .protocol import Request

#: Headers the server writes itself (it frames every answer with ``Content-Length``).
SERVER_HEADERS = frozenset({"content-length", "transfer-encoding", "connection", "date"})


def call_wsgi(
    app: Any, request: Request, server: tuple[str, int], peer: tuple[str, int]
) -> tuple[int, list[tuple[str, str]], bytes, int]:
    """Run ``app`` for ``request``.

    :return: the status, the app's headers but those the server writes itself, the body, and
        the ``Content-Length`` to send (for HEAD, the length the app gave: a GET's).
    :raises RuntimeError: the app answered without calling ``start_response``.
    :raises ValueError: its status line does not start with a number.
    """
    environ: dict[str, Any] = {
        "REQUEST_METHOD": request.method,
        "SCRIPT_NAME": "",
        "PATH_INFO": request.raw_path,
        "QUERY_STRING": request.query,
        "SERVER_NAME": server[0],
        "SERVER_PORT": str(server[1]),
        "SERVER_PROTOCOL": request.version,
        "REMOTE_ADDR": peer[0],
        "REMOTE_PORT": str(peer[1]),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(request.body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "wsgi.input_terminated": True,
    }
    if request.body:
        environ["CONTENT_LENGTH"] = str(len(request.body))
    for name, value in request.headers.items():
        if name == "content-type":
            environ["CONTENT_TYPE"] = value
        elif name != "content-length" and name != "transfer-encoding":
            environ["HTTP_" + name.upper().replace("-", "_")] = value
    started: list[Any] = []
    written: list[bytes] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        started[:] = [status, headers]
        return written.append

    result = app(environ, start_response)
    try:
        for chunk in result:
            if chunk:
                written.append(chunk)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    if not started:
        raise RuntimeError(f"the WSGI app answered {request.raw_path[:200]!r} without calling start_response")
    status_text, headers = started
    status = int(status_text.split(" ", 1)[0])
    body = b"".join(written)
    length = len(body)
    if request.head:  # no body, but the length a GET would have (the app's own header)
        given = next((value for name, value in headers if name.lower() == "content-length"), "")
        length = int(given) if given.strip().isdigit() else length
    kept = [(name, value) for name, value in headers if name.lower() not in SERVER_HEADERS]
    return status, kept, body, length
