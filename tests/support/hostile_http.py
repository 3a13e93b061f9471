"""A tiny programmable HTTP server on 127.0.0.1 for hostile-platform tests of the importer.

``HostileServer(route)``: ``route(request) -> Answer`` decides every answer (status, headers,
body, and optionally a delay or a slow drip); every request is recorded with its headers, so a
test can check which credentials reached which origin.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Seen:
    path: str
    headers: dict[str, str]

    @property
    def authorization(self) -> str | None:
        return next((v for k, v in self.headers.items() if k.lower() == "authorization"), None)


@dataclass
class Answer:
    status: int = 200
    body: bytes = b"{}"
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})
    delay: float = 0.0
    """Seconds before answering."""
    drip: float | None = None
    """Seconds between body bytes (a slow answer)."""

    @classmethod
    def json(cls, value: Any, status: int = 200) -> "Answer":
        return cls(status=status, body=json.dumps(value).encode())

    @classmethod
    def redirect(cls, location: str, status: int = 302) -> "Answer":
        return cls(status=status, body=b"", headers={"Location": location})


class HostileServer:
    def __init__(self, route: Callable[[Seen], Answer]):
        self.route = route
        self.seen: list[Seen] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                seen = Seen(self.path, dict(self.headers.items()))
                server.seen.append(seen)
                answer = server.route(seen)
                if answer.delay:
                    time.sleep(answer.delay)
                try:
                    self.send_response(answer.status)
                    for key, value in answer.headers.items():
                        self.send_header(key, value)
                    self.send_header("Content-Length", str(len(answer.body)))
                    self.end_headers()
                    if answer.drip is None:
                        self.wfile.write(answer.body)
                    else:
                        for byte in answer.body:
                            self.wfile.write(bytes([byte]))
                            self.wfile.flush()
                            time.sleep(answer.drip)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return self.origin + "/v1"

    def __enter__(self) -> "HostileServer":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
