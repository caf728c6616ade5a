"""Keep resolved secrets out of error texts and log records.

Apprise and the HTTP stack below it log at DEBUG the URLs and payloads they handle, and an
SMTP or HTTP error may echo what it was sent. Whatever we store (`notification_log.
last_error`), report or let reach a log handler passes through a `Redactor` first.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

REDACTED = "***"

# The loggers that see channel URLs: apprise itself and the connection pool under requests.
NOISY_LOGGERS = ("apprise", "urllib3.connectionpool")


class Redactor:
    """Replaces every known secret in a text by `***`."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: list[str] = []
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        """Learn more secrets (a channel's, once they are resolved); longest are replaced first."""
        known = set(self._secrets) | {s for s in secrets if s}
        self._secrets = sorted(known, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return text


class _RedactingFilter(logging.Filter):
    """Rewrites a record's message with the secrets removed before any handler sees it."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self._redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: let logging report it as usual
            return True
        cleaned = self._redactor(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


@contextmanager
def redacted_logs(redactor: Redactor, loggers: Iterable[str] = NOISY_LOGGERS) -> Iterator[Redactor]:
    """While inside, records of `loggers` lose the secrets `redactor` knows (also later ones).

    A logger's filters run before its handlers and before the record propagates, so this
    covers every handler, apprise's own result capture included. Filters are per logger,
    not inherited by children, hence the explicit list.
    """
    log_filter = _RedactingFilter(redactor)
    targets = [logging.getLogger(name) for name in loggers]
    for target in targets:
        target.addFilter(log_filter)
    try:
        yield redactor
    finally:
        for target in targets:
            target.removeFilter(log_filter)
