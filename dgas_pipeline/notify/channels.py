"""Senders: the console, or any apprise service. One `send` is one attempt, never raises.

A sender takes many messages at once and says how to cut them into batches (`batches`), each
one message on the wire: the console prints them as one block; an apprise service gets one
message listing them, cut so that no batch exceeds the service's own limits (apprise's
`body_maxlen`, `title_maxlen`, `body_max_line_count`). Apprise would otherwise apply its
overflow mode (`?overflow=truncate|split`) to a batch too long, cutting a signal in half or
into parts that fail separately; cut here, between messages, a batch is delivered or not as a
whole, and the delivery log can say which messages went.

Retrying, pacing and bookkeeping belong to `delivery.py`; a sender only says whether the
attempt went through and, if not, why (with secrets already removed).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Final, Protocol, TextIO

from dgas_pipeline.notify.messages import (
    BATCH_SEPARATOR,
    Message,
    batch_payload_json,
    batch_text,
    batch_title,
    entry_text,
)
from dgas_pipeline.notify.redact import Redactor, redacted_logs
from dgas_pipeline.notify.settings import ChannelSettings
from dgas_pipeline.notify.urls import SecretResolver, resolve_url, safe_label, scheme_of

if TYPE_CHECKING:
    from apprise import AppriseResult

WEBHOOK_SCHEMES: Final = frozenset({"json", "jsons"})
"""Channels read by programs: they get `batch_payload_json()` as apprise's `message`."""

MAX_REASON_CHARS: Final = 1000

MAX_BATCH_CHARS: Final = 30_000
"""A batch's body at most, whatever the service allows: e-mail has no limit of its own, but
mail gateways and chat clients cut or refuse big messages, and a person reads a few dozen."""

TITLE_ROOM: Final = 100
"""Characters kept free in the body for the title of a service without a title field."""


class ChannelSetupError(RuntimeError):
    """A channel apprise cannot load once its secrets are filled in (e.g. a malformed token)."""


class Sender(Protocol):
    def batches(self, messages: Sequence[Message]) -> list[list[Message]]:
        """`messages`, in order, cut into the batches this channel sends as one message each."""
        ...

    def send(self, messages: Sequence[Message]) -> str | None:
        """Try once to send one batch as one message; None when delivered, else why not."""
        ...


class ConsoleSender:
    """Prints messages: the default channel, and what an operator watches in Dagster's logs."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream

    def batches(self, messages: Sequence[Message]) -> list[list[Message]]:
        return [list(messages)] if messages else []

    def send(self, messages: Sequence[Message]) -> str | None:
        # stderr: `dgas ... --json` owns stdout for its one JSON document. Looked up late,
        # because Dagster and pytest swap the stream.
        stream = self._stream or sys.stderr
        try:
            stream.write("".join(entry_text(m) + BATCH_SEPARATOR for m in messages))
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
        self._max_chars, self._max_lines = batch_limits(self._apprise)

    def batches(self, messages: Sequence[Message]) -> list[list[Message]]:
        if self._webhook:
            # `[` + payloads joined by `,` + `]`; a webhook reads no lines.
            return cut(messages, lambda m: len(m.payload_json()) + 1, 1, self._max_chars)
        separator = len(BATCH_SEPARATOR)
        chars = cut(messages, lambda m: len(entry_text(m)) + separator, 0, self._max_chars)
        if not self._max_lines:
            return chars
        lines = BATCH_SEPARATOR.count("\n")
        return [
            part
            for batch in chars
            for part in cut(batch, lambda m: entry_text(m).count("\n") + lines, 0, self._max_lines)
        ]

    def send(self, messages: Sequence[Message]) -> str | None:
        import apprise

        body = batch_payload_json(messages) if self._webhook else batch_text(messages)
        try:
            with redacted_logs(self._redactor):
                result = self._apprise.notify(
                    body=body,
                    title=batch_title(messages),
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


def batch_limits(services: Iterable[Any]) -> tuple[int, int]:
    """(characters, lines; 0 = any) a batch's body may hold on every one of these apprise
    services, its title included where the service puts the title into the body."""
    chars, lines = MAX_BATCH_CHARS, 0
    for service in services:
        title_in_body = service.title_maxlen <= 0
        if service.body_maxlen > 0:
            chars = min(chars, service.body_maxlen - (TITLE_ROOM if title_in_body else 0))
        if service.body_max_line_count > 0:
            room = max(1, service.body_max_line_count - (1 if title_in_body else 0))
            lines = min(lines, room) if lines else room
    return max(chars, 1), lines


def cut(
    messages: Sequence[Message], size: Callable[[Message], int], fixed: int, limit: int
) -> list[list[Message]]:
    """`messages` in order, in runs whose `fixed` + sum of `size` stays within `limit`; a
    message too big on its own goes alone (the service then treats it as it did before)."""
    batches: list[list[Message]] = []
    current: list[Message] = []
    used = fixed
    for message in messages:
        need = size(message)
        if current and used + need > limit:
            batches.append(current)
            current, used = [], fixed
        current.append(message)
        used += need
    if current:
        batches.append(current)
    return batches


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
