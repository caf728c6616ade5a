"""Delivery by e-mail to a real loopback SMTP server (aiosmtpd), password from a resolver."""

from __future__ import annotations

import email
import logging
from email.message import Message as MimeMessage
from urllib.parse import quote, quote_plus

import pytest
from sqlalchemy.engine import Engine

from dgas_pipeline.notify import NotificationSettings, deliver, eod_message, signal_message
from dgas_pipeline_tests.notify.rows import SMTP_PASSWORD, log_rows, signal_row
from dgas_pipeline_tests.notify.servers import Mailbox, Sleeps

SECRETS = {"SMTP_PASSWORD": SMTP_PASSWORD}
SPELLINGS = (SMTP_PASSWORD, quote(SMTP_PASSWORD, safe=""), quote_plus(SMTP_PASSWORD, safe=""))


def _settings(mailbox: Mailbox) -> NotificationSettings:
    return NotificationSettings.model_validate(
        {"channels": [{"name": "mail", "url": mailbox.url()}]}
    )


def _parse(raw: bytes) -> MimeMessage:
    return email.message_from_bytes(raw)


def test_the_message_arrives_with_subject_and_body(
    engine: Engine, mailbox: Mailbox, no_sleep: Sleeps
) -> None:
    message = eod_message({"date": "2026-11-27", "signals": 4, "wins": 3})
    report = deliver(engine, [message], _settings(mailbox), SECRETS.get, sleep=no_sleep)

    assert (report.sent, report.failed) == (1, {})
    assert mailbox.logins == [("alerts", True)]
    [received] = [_parse(raw) for raw in mailbox.accepted]
    assert received["Subject"] == "DGAS end of day 2026-11-27"
    assert received["To"] == "trader@example.com"
    body = received.get_payload(decode=True).decode()
    assert "Session 2026-11-27" in body
    assert "wins: 3" in body


def test_a_refusal_then_an_acceptance_delivers_exactly_once(
    engine: Engine, mailbox: Mailbox, no_sleep: Sleeps
) -> None:
    mailbox.refuse_next = 1
    message = signal_message(signal_row())
    report = deliver(engine, [message], _settings(mailbox), SECRETS.get, sleep=no_sleep)

    assert mailbox.data_attempts == 2
    assert len(mailbox.accepted) == 1
    assert _parse(mailbox.accepted[0])["Subject"] == message.title
    assert (report.sent, report.failed) == (1, {})
    assert len(no_sleep.delays) == 1
    assert log_rows(engine)[(message.message_key, "mail")]["status"] == "SENT"
    # a retried run does not mail it again
    again = deliver(engine, [message], _settings(mailbox), SECRETS.get, sleep=no_sleep)
    assert (again.sent, again.skipped, len(mailbox.accepted)) == (0, 1, 1)


@pytest.mark.parametrize("refusal", ["data", "login"])
def test_the_password_is_in_no_error_and_no_log_record(
    engine: Engine,
    mailbox: Mailbox,
    no_sleep: Sleeps,
    caplog: pytest.LogCaptureFixture,
    refusal: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    if refusal == "data":
        mailbox.refuse_next = 99
        resolver = SECRETS.get
    else:
        # the server refuses this password; it is still a secret and must not leak
        resolver = {"SMTP_PASSWORD": "Wr0ng/P@ss:word"}.get
    message = signal_message(signal_row())
    report = deliver(engine, [message], _settings(mailbox), resolver, sleep=no_sleep)

    row = log_rows(engine)[(message.message_key, "mail")]
    assert row["status"] == "FAILED"
    assert report.failed == {"mail": [message.message_key]}
    assert mailbox.accepted == []
    if refusal == "data":
        assert "451" in row["last_error"]
    texts = [row["last_error"], *report.errors, *(r.getMessage() for r in caplog.records)]
    secret_spellings = SPELLINGS if refusal == "data" else _spellings("Wr0ng/P@ss:word")
    assert not [t for t in texts for s in secret_spellings if s in t]


def _spellings(secret: str) -> tuple[str, ...]:
    return (secret, quote(secret, safe=""), quote_plus(secret, safe=""))


def test_a_batch_of_signals_is_one_mail_listing_them_all(
    engine: Engine, mailbox: Mailbox, no_sleep: Sleeps
) -> None:
    messages = [signal_message(signal_row(f"S{i:03d}")) for i in range(40)]
    report = deliver(engine, messages, _settings(mailbox), SECRETS.get, sleep=no_sleep)

    assert (report.sent, report.failed) == (40, {})
    [received] = [_parse(raw) for raw in mailbox.accepted]
    assert received["Subject"] == "DGAS: 40 signals"
    body = received.get_payload(decode=True).decode()
    listed = [line for line in body.splitlines() if line.startswith("LONG S") and "@" in line]
    assert listed == [m.title for m in messages]
    assert {row["status"] for row in log_rows(engine).values()} == {"SENT"}


def test_a_refused_batch_is_mailed_whole_by_the_next_delivery(
    engine: Engine, mailbox: Mailbox, no_sleep: Sleeps
) -> None:
    sent_before = [signal_message(signal_row(f"S{i:03d}")) for i in range(3)]
    deliver(engine, sent_before, _settings(mailbox), SECRETS.get, sleep=no_sleep)
    fresh = [signal_message(signal_row(f"N{i:03d}")) for i in range(5)]
    mailbox.refuse_next = 4  # every attempt of the next batch
    failed = deliver(engine, [*sent_before, *fresh], _settings(mailbox), SECRETS.get, no_sleep)
    assert failed.failed == {"mail": [m.message_key for m in fresh]}
    assert failed.skipped == 3

    again = deliver(engine, [*sent_before, *fresh], _settings(mailbox), SECRETS.get, no_sleep)
    assert (again.sent, again.skipped, again.failed) == (5, 3, {})
    assert len(mailbox.accepted) == 2
    body = _parse(mailbox.accepted[1]).get_payload(decode=True).decode()
    assert [line.split(" @")[0] for line in body.splitlines() if " @ " in line] == [
        f"LONG N{i:03d}" for i in range(5)
    ]
