"""Loopback servers the notifier talks to in tests, and an injected clock.

The servers are real (http.server, aiosmtpd); these classes are what a test reads back.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from dgas_pipeline_tests.notify.rows import SMTP_USER


@dataclass
class Sleeps:
    """An injected `sleep` that records the delays instead of waiting."""

    delays: list[float] = field(default_factory=list)

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@dataclass
class Webhook:
    """A loopback HTTP server that records every request and answers from a script."""

    port: int
    requests: list[dict[str, Any]] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    """Status codes for the next requests, in order; 200 once the list is used up."""
    default_status: int = 200
    lock: threading.Lock = field(default_factory=threading.Lock)
    hold_first: threading.Event | None = None
    """When set: the first POST is answered only once this event is set (or after 30 s)."""
    first_arrived: threading.Event = field(default_factory=threading.Event)

    def url(self, path: str = "/hook", query: str = "") -> str:
        return f"json://127.0.0.1:{self.port}{path}" + (f"?{query}" if query else "")

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r["body"]) for r in self.requests]

    def posts(self) -> list[list[dict[str, Any]]]:
        """The batch each request carried in apprise's `message` field: a list of payloads."""
        return [json.loads(body["message"]) for body in self.bodies()]

    def payloads(self) -> list[dict[str, Any]]:
        """Every signal/EOD payload the requests carried, request after request."""
        return [payload for post in self.posts() for payload in post]


@contextlib.contextmanager
def serve_webhook() -> Iterator[Webhook]:
    """A real HTTP server on 127.0.0.1 (a free port) that records POSTs into a `Webhook`
    and answers each with its next scripted status; shut down on exit."""
    hook = Webhook(port=0)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            body = self.rfile.read(length).decode()
            with hook.lock:
                first = not hook.requests
                hook.requests.append(
                    {"path": self.path, "headers": dict(self.headers), "body": body}
                )
                status = hook.statuses.pop(0) if hook.statuses else hook.default_status
            if first:
                hook.first_arrived.set()
                if hook.hold_first is not None:
                    hook.hold_first.wait(timeout=30)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: tests read `requests`, not stderr."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    hook.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield hook
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@dataclass
class Mailbox:
    """The SMTP server's side: accepted messages, refusals still to give, logins seen."""

    port: int = 0
    accepted: list[bytes] = field(default_factory=list)
    data_attempts: int = 0
    refuse_next: int = 0
    logins: list[tuple[str, bool]] = field(default_factory=list)

    def url(self, userinfo_ref: str = "${SMTP_PASSWORD}") -> str:
        return (
            f"mailto://{SMTP_USER}:{userinfo_ref}@127.0.0.1:{self.port}"
            "?mode=insecure&from=alerts@example.com&to=trader@example.com"
        )


class MailHandler:
    def __init__(self, box: Mailbox) -> None:
        self.box = box

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.box.data_attempts += 1
        if self.box.refuse_next > 0:
            self.box.refuse_next -= 1
            return "451 4.3.0 try again later"
        self.box.accepted.append(bytes(envelope.original_content or b""))
        return "250 OK"


class LoopbackController(Controller):
    """aiosmtpd's Controller on port 0: learn the real port before it pokes the server."""

    def _trigger_server(self) -> None:
        assert self.server is not None
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()
