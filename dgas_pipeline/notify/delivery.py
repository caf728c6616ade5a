"""Deliver messages to every channel at most once, whatever retries the run goes through.

Per channel, the messages go out in batches (one e-mail, one chat message, one webhook POST
listing many; how a channel cuts them is its sender's business, `channels.py`). Under one
lock per channel that every process on the database shares (`store.locks`), so a concurrent
run of the same bar waits instead of sending too: claim all the messages in the delivery log
(one short transaction), so those already SENT (or retired as STALE) are left out; send the
claimed ones batch after batch, each with retries (exponential backoff, full jitter), and
record each batch's outcome, SENT or FAILED, in one transaction as soon as it is known. A
retry of a failed batch is a later delivery: it claims again and sends exactly the messages
not SENT.

The sends happen outside any transaction: a slow SMTP server must not hold a write lock on
SQLite. The lock is per channel, not per message: a batch may hold any messages, and two
deliveries sharing one message must not overlap; deliveries of other bars wait only while
one batch series is sent. Stale messages (a backfill's: thousands per run) are never sent
late: all of them are recorded STALE in one transaction (`retire_notifications`), unless
already SENT.

A failing channel never raises: it is reported, the run becomes PARTIAL, and the other
channels still deliver. What does raise is the database itself failing: then nothing
about delivery can be known or recorded.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine

from dgas_pipeline.errors import InvalidInput
from dgas_pipeline.notify.channels import ChannelSetupError, Sender, build_sender
from dgas_pipeline.notify.messages import Message
from dgas_pipeline.notify.redact import Redactor
from dgas_pipeline.notify.settings import ChannelSettings, NotificationSettings
from dgas_pipeline.notify.urls import SecretResolver
from dgas_pipeline.store.engine import write_transaction
from dgas_pipeline.store.locks import exclusive
from dgas_pipeline.store.repositories import (
    claim_notifications,
    mark_notifications,
    retire_notifications,
)

SENT, FAILED = "SENT", "FAILED"


@dataclass
class DeliveryReport:
    """What one `deliver` call did; counts are per (message, channel) pair.

    `failed` maps a channel to the keys of the messages it could not deliver; `errors` says
    why, one line per failed batch (secrets removed), for the run's `errors` column.
    `delivered` maps a message key to the channels that sent it in this call (for
    `generated_signals`).
    """

    sent: int = 0
    skipped: int = 0
    stale: int = 0
    failed: dict[str, list[str]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    delivered: dict[str, list[str]] = field(default_factory=dict)

    @property
    def partial(self) -> bool:
        """True when some channel failed some message: the cycle is PARTIAL, not SUCCESS."""
        return bool(self.failed)


def backoff_delay(
    retry: int, settings: NotificationSettings, rng: Callable[[], float] = random.random
) -> float:
    """Seconds before retry number `retry` (1 = first): full jitter over a capped exponential.

    Full jitter spreads the retries of many runs hitting one recovering server, instead of
    having them come back in lockstep.
    """
    ceiling = min(settings.backoff_max_seconds, settings.backoff_base_seconds * 2 ** (retry - 1))
    return rng() * ceiling


def deliver(
    engine: Engine,
    messages: Iterable[Message],
    settings: NotificationSettings,
    resolve_secret: SecretResolver,
    sleep: Callable[[float], None] = time.sleep,
    rng: Callable[[], float] = random.random,
) -> DeliveryReport:
    """Send `messages` on every configured channel; see the module docstring for the rules."""
    report = DeliveryReport()
    channels = [
        _ChannelRun(channel, settings.channel_field(index), resolve_secret)
        for index, channel in enumerate(settings.channels)
    ]
    messages = list(messages)
    stale = [m for m in messages if m.stale]
    if stale:  # a backfill's messages: many, none sent, retired together
        with write_transaction(engine) as conn:
            for channel in channels:
                pairs = [(m.message_key, m.signal_id) for m in stale]
                retired = retire_notifications(conn, channel.name, pairs)
                report.stale += retired
                report.skipped += len(pairs) - retired
    fresh = [m for m in messages if not m.stale]
    if fresh:
        for channel in channels:
            _deliver_to(engine, fresh, channel, settings, report, sleep, rng)
    return report


class _ChannelRun:
    """A channel during one `deliver` call: its sender, built on first need, and its health.

    Built lazily, so a run whose messages are all stale or already sent needs no secrets.
    Once a batch used up all its attempts, the channel is `degraded`: later batches get one
    attempt each, so a dead server costs seconds, not a backoff series per batch.
    """

    def __init__(self, settings: ChannelSettings, field: str, resolve_secret: SecretResolver):
        self.name = settings.name
        self._settings = settings
        self._field = field
        self._resolve_secret = resolve_secret
        self._sender: Sender | None = None
        self.redactor = Redactor()
        self.setup_error: str | None = None
        self.degraded = False

    def sender(self) -> Sender | None:
        """The sender, or None when the channel cannot be set up (see `setup_error`)."""
        if self._sender is None and self.setup_error is None:
            try:
                self._sender, self.redactor = build_sender(
                    self._settings, self._field, self._resolve_secret
                )
            except (InvalidInput, ChannelSetupError) as err:
                self.setup_error = self.redactor(str(err))
        return self._sender


def _deliver_to(
    engine: Engine,
    messages: Sequence[Message],
    channel: _ChannelRun,
    settings: NotificationSettings,
    report: DeliveryReport,
    sleep: Callable[[float], None],
    rng: Callable[[], float],
) -> None:
    # Claim, send and record under one lock per channel: a second run of the same bar waits
    # here, then finds the messages SENT. The claim alone would not do: its PENDING rows
    # cannot tell a run still sending from one that crashed mid-send.
    with exclusive(engine, f"notify:{channel.name}"):
        with write_transaction(engine) as conn:
            pairs = [(m.message_key, m.signal_id) for m in messages]
            claimed_keys = claim_notifications(conn, channel.name, pairs)
        first: dict[str, Message] = {}
        for message in messages:
            first.setdefault(message.message_key, message)
        claimed = [first[key] for key in claimed_keys]
        report.skipped += len(messages) - len(claimed)
        if not claimed:
            return
        sender = channel.sender()
        batches = sender.batches(claimed) if sender is not None else [claimed]
        outcomes: list[tuple[list[str], str | None]] = []
        for batch in batches:
            error = _send_with_retries(batch, channel, settings, sleep, rng)
            keys = [m.message_key for m in batch]
            # Recorded as soon as the batch is sent: a run killed later repeats no sent batch
            # (a kill between a send and its record can repeat that one batch only).
            with write_transaction(engine) as conn:
                mark_notifications(
                    conn, channel.name, keys, SENT if error is None else FAILED, error
                )
            outcomes.append((keys, error))
    for keys, error in outcomes:
        if error is None:
            report.sent += len(keys)
            for key in keys:
                report.delivered.setdefault(key, []).append(channel.name)
        else:
            report.failed.setdefault(channel.name, []).extend(keys)
            report.errors.append(f"{channel.name} {_which(keys)}: {error}")


def _which(keys: Sequence[str]) -> str:
    """The failed batch's messages for an error line: one key, or the first and how many."""
    return keys[0] if len(keys) == 1 else f"{keys[0]} and {len(keys) - 1} more"


def _send_with_retries(
    batch: Sequence[Message],
    channel: _ChannelRun,
    settings: NotificationSettings,
    sleep: Callable[[float], None],
    rng: Callable[[], float],
) -> str | None:
    """None once an attempt succeeds; else the last reason, with the number of attempts."""
    sender = channel.sender()
    if sender is None:
        return channel.setup_error  # a setup problem does not heal by retrying
    attempts = 1 if channel.degraded else settings.max_attempts
    reason: str | None = None
    for attempt in range(1, attempts + 1):
        if attempt > 1:
            sleep(backoff_delay(attempt - 1, settings, rng))
        reason = sender.send(batch)
        if reason is None:
            channel.degraded = False
            return None
    channel.degraded = True
    return channel.redactor(f"failed after {attempts} attempt(s): {reason}")
