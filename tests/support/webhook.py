"""A Mattermost incoming-webhook stand-in on loopback: records every POST (path, headers, JSON body)."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class WebhookCall:
    path: str
    body: dict[str, Any]
    headers: dict[str, str]


@dataclass
class WebhookServer:
    """``with WebhookServer() as hook:`` ... ``hook.calls``; ``status`` is the reply code (200 by default)."""

    status: int = 200
    calls: list[WebhookCall] = field(default_factory=list)

    def __post_init__(self) -> None:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = {"_raw": raw.decode("utf-8", "replace")}
                owner.calls.append(WebhookCall(self.path, body, dict(self.headers)))
                self.send_response(owner.status)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> WebhookServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def airflow_conn_json(self, key: str = "hook-key-123", **extra: str) -> str:
        """An ``http`` connection for ``MattermostWebhookNotifier``: the webhook key in the password."""
        return json.dumps(
            {
                "conn_type": "http",
                "host": "127.0.0.1",
                "port": self.port,
                "schema": "http",
                "password": key,
                "extra": extra,
            }
        )
