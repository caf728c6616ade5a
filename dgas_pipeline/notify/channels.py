"""Senders: the console, or any apprise service. One `send` is one attempt, never raises.

Retrying, pacing and bookkeeping belong to `delivery.py`; a sender only says whether the
attempt went through and, if not, why (with secrets already removed).
"""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING, Final, Protocol, TextIO

from dgas_pipeline.notify.messages import Message
from dgas_pipeline.notify.redact import Redactor, redacted_logs
from dgas_pipeline.notify.settings import ChannelSettings
from dgas_pipeline.notify.urls import SecretResolver, resolve_url, safe_label, scheme_of

if TYPE_CHECKING:
    from apprise import AppriseResult

WEBHOOK_SCHEMES: Final = frozenset({"json", "jsons"})
"""Channels read by programs: they get `Message.payload_json()` as apprise's `message`."""

MAX_REASON_CHARS: Final = 1000


class ChannelSetupError(RuntimeError):
    """A channel apprise cannot load once its secrets are filled in (e.g. a malformed token)."""


class Sender(Protocol):
    def send(self, message: Message) -> str | None:
        """Try once; None when delivered, else why not."""
        ...


class ConsoleSender:
    """Prints messages: the default channel, and what an operator watches in Dagster's logs."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream

    def send(self, message: Message) -> str | None:
        # stderr: `dgas ... --json` owns stdout for its one JSON document. Looked up late,
        # because Dagster and pytest swap the stream.
        stream = self._stream or sys.stderr
        try:
            stream.write(f"{message.title}\n{message.body}\n\n")
            stream.flush()
        except (OSError, ValueError) as err:
            return f"console write failed: {err}"
        return None


class AppriseSender:
    """One apprise service for the length of one `deliver` call.

    Apprise throttles each service (5.5 s between sends by default) with a real sleep: a
    cycle with twenty signals would spend two minutes of its timeout waiting, and retries
    would ignore our injected clock. Pacing is ours (backoff), so the throttle is turned off.
    """

    def __init__(self, url: str, redactor: Redactor) -> None:
        import apprise

        self._redactor = redactor
        self._webhook = scheme_of(url) in WEBHOOK_SCHEMES
        self._apprise = apprise.Apprise()
        with redacted_logs(redactor):
            added = self._apprise.add(url)
        if not added:
            raise ChannelSetupError(f"apprise could not load the {safe_label(url)} URL")
        for service in self._apprise:
            service.request_rate_per_sec = 0

    def send(self, message: Message) -> str | None:
        import apprise

        body = message.payload_json() if self._webhook else message.body
        try:
            with redacted_logs(self._redactor):
                result = self._apprise.notify(
                    body=body,
                    title=message.title,
                    body_format=apprise.NotifyFormat.TEXT,
                    log_level=logging.DEBUG,
                )
                with result:
                    return None if result else self._reason(result)
        except Exception as err:  # apprise swallows its services' errors; this is a bug guard
            return self._redactor(f"apprise raised {type(err).__name__}: {err}")[:MAX_REASON_CHARS]

    def _reason(self, result: AppriseResult) -> str:
        """The service's warnings and socket exceptions: what a person needs to fix it."""
        lines = [
            entry.message
            for entry in result.logs()
            if entry.level in ("WARNING", "ERROR", "CRITICAL") or "Exception" in entry.message
        ]
        reason = "; ".join(dict.fromkeys(lines)) or f"apprise reported {result.status.name}"
        return self._redactor(reason)[:MAX_REASON_CHARS]


def build_sender(
    channel: ChannelSettings, field: str, resolve_secret: SecretResolver
) -> tuple[Sender, Redactor]:
    """The sender for a channel, secrets filled in, and the redactor that hides them.

    Raises `InvalidInput` (a referenced variable is not set) or `ChannelSetupError`.
    """
    if channel.is_console:
        return ConsoleSender(), Redactor()
    resolved = resolve_url(channel.url, resolve_secret, field)
    redactor = Redactor(resolved.secrets)
    return AppriseSender(resolved.url, redactor), redactor
