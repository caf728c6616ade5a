"""Delivery to a real loopback webhook (plus the console), on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from dgas_pipeline.notify import (
    DeliveryReport,
    Message,
    NotificationSettings,
    deliver,
    signal_message,
)
from dgas_pipeline.notify.channels import MAX_BATCH_CHARS
from dgas_pipeline.notify.messages import SIGNAL_FIELDS
from dgas_pipeline_tests.notify.rows import log_rows, signal_row
from dgas_pipeline_tests.notify.servers import Sleeps, Webhook

TOKEN = "tok-9f8e7d6c5b4a"  # noqa: S105 (the webhook's bearer token in these tests)
ENV = {"WEBHOOK_TOKEN": TOKEN}


def _settings(webhook: Webhook, **retry: float) -> NotificationSettings:
    url = webhook.url(query="+Authorization=Bearer%20${WEBHOOK_TOKEN}")
    return NotificationSettings.model_validate(
        {
            "channels": [{"name": "console", "url": "console"}, {"name": "hook", "url": url}],
            **retry,
        }
    )


def _many(n: int) -> list[Message]:
    return [signal_message(signal_row(f"S{i:03d}")) for i in range(n)]


def test_one_post_lists_every_message_with_the_signal_fields(
    engine: Engine, webhook: Webhook, no_sleep: Sleeps, capsys: pytest.CaptureFixture[str]
) -> None:
    messages = [signal_message(signal_row("AAPL")), signal_message(signal_row("MSFT"))]
    report = deliver(engine, messages, _settings(webhook), ENV.get, sleep=no_sleep)

    assert (report.sent, report.skipped, report.stale, report.failed) == (4, 0, 0, {})
    assert len(webhook.requests) == 1
    assert {r["headers"]["Authorization"] for r in webhook.requests} == {f"Bearer {TOKEN}"}
    [body], [post] = webhook.bodies(), webhook.posts()
    assert body["title"] == "DGAS: 2 signals"
    assert [p["symbol"] for p in post] == ["AAPL", "MSFT"]
    assert all(set(SIGNAL_FIELDS) <= set(p) for p in post)
    assert [p["message_key"] for p in post] == [m.message_key for m in messages]
    assert report.delivered == {m.message_key: ["console", "hook"] for m in messages}
    rows = log_rows(engine)
    assert {row["status"] for row in rows.values()} == {"SENT"}
    assert "LONG AAPL @ 187.42 (30min)" in capsys.readouterr().err  # stderr: --json owns stdout
    assert no_sleep.delays == []


def test_a_batch_of_many_signals_is_one_post_listing_them_all(
    engine: Engine, webhook: Webhook, no_sleep: Sleeps
) -> None:
    messages = _many(30)
    report = deliver(engine, messages, _settings(webhook), ENV.get, sleep=no_sleep)

    assert len(webhook.requests) == 1
    assert webhook.bodies()[0]["title"] == "DGAS: 30 signals"
    assert [p["message_key"] for p in webhook.posts()[0]] == [m.message_key for m in messages]
    assert (report.sent, report.failed) == (60, {})


def test_a_batch_too_big_for_one_post_is_cut_between_messages(
    engine: Engine, webhook: Webhook, no_sleep: Sleeps
) -> None:
    messages = _many(150)  # ~700 characters of JSON each: more than one body's worth
    report = deliver(engine, messages, _settings(webhook), ENV.get, sleep=no_sleep)

    posts = webhook.posts()
    assert len(posts) >= 2
    assert [p["message_key"] for p in webhook.payloads()] == [m.message_key for m in messages]
    assert all(len(json.loads(r["body"])["message"]) <= MAX_BATCH_CHARS for r in webhook.requests)
    assert report.sent == 300


def test_a_retry_after_a_failed_batch_sends_exactly_the_unsent_messages(
    engine: Engine, webhook: Webhook, no_sleep: Sleeps
) -> None:
    messages = _many(150)
    # The first batch goes through, the second fails all four attempts, the rest go through.
    webhook.statuses = [200, 500, 500, 500, 500]
    first = deliver(engine, messages, _settings(webhook), ENV.get, sleep=no_sleep)
    posts = [[p["message_key"] for p in post] for post in webhook.posts()]
    assert posts[1] == posts[2] == posts[3] == posts[4]
    unsent = posts[1]
    went = [m.message_key for m in messages if m.message_key not in set(unsent)]
    assert sorted(went) == sorted(k for post in (posts[0], *posts[5:]) for k in post)
    assert went and unsent
    assert first.failed == {"hook": unsent}
    assert first.partial
    assert sorted(k for k, names in first.delivered.items() if "hook" in names) == sorted(went)
    rows = log_rows(engine)
    assert {rows[(k, "hook")]["status"] for k in went} == {"SENT"}
    assert {rows[(k, "hook")]["status"] for k in unsent} == {"FAILED"}
    assert len(first.errors) == 1  # one line for the failed batch, not one per message

    webhook.requests.clear()
    second = deliver(engine, messages, _settings(webhook), ENV.get, sleep=no_sleep)
    assert [p["message_key"] for p in webhook.payloads()] == unsent
    assert (second.sent, second.skipped, second.failed) == (len(unsent), 150 + len(went), {})
    assert {row["status"] for row in log_rows(engine).values()} == {"SENT"}


def test_concurrent_deliveries_of_one_bar_send_it_once(
    engine: Engine, webhook: Webhook, no_sleep: Sleeps
) -> None:
    messages = _many(20)
    settings = NotificationSettings.model_validate(
        {"channels": [{"name": "hook", "url": webhook.url()}]}
    )
    reports: list[DeliveryReport] = []

    def run() -> None:
        reports.append(deliver(engine, messages, settings, {}.get, sleep=no_sleep))

    webhook.hold_first = threading.Event()
    first = threading.Thread(target=run)
    first.start()
    assert webhook.first_arrived.wait(timeout=30)  # the first run is sending, lock held
    second = threading.Thread(target=run)
    second.start()
    second.join(timeout=1.0)
    assert second.is_alive()  # waiting for the channel's lock, not sending
    webhook.hold_first.set()
    first.join(timeout=30)
    second.join(timeout=30)

    assert len(webhook.requests) == 1
    assert sorted(p["message_key"] for p in webhook.payloads()) == sorted(
        m.message_key for m in messages
    )
    assert sorted((r.sent, r.skipped) for r in reports) == [(0, 20), (20, 0)]


def test_a_500_then_a_200_delivers_once_after_a_backoff(
    engine: Engine, webhook: Webhook, no_sleep: Sleeps
) -> None:
    webhook.statuses = [500]
    message = signal_message(signal_row())
    report = deliver(engine, [message], _settings(webhook), ENV.get, no_sleep, rng=lambda: 0.5)

    assert len(webhook.requests) == 2
    assert report.sent == 2
    assert report.failed == {}
    assert no_sleep.delays == [0.25]  # full jitter: 0.5 x min(30, 0.5 x 2**0)
    assert log_rows(engine)[(message.message_key, "hook")]["status"] == "SENT"


def test_a_dead_webhook_is_failed_and_reported_while_the_console_delivers(
    engine: Engine, webhook: Webhook, no_sleep: Sleeps, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    webhook.default_status = 500
    message = signal_message(signal_row())
    report = deliver(engine, [message], _settings(webhook), ENV.get, sleep=no_sleep)

    assert len(webhook.requests) == 4
    assert len(no_sleep.delays) == 3
    assert report.failed == {"hook": [message.message_key]}
    assert report.partial
    assert report.delivered == {message.message_key: ["console"]}
    rows = log_rows(engine)
    assert rows[(message.message_key, "console")]["status"] == "SENT"
    failed = rows[(message.message_key, "hook")]
    assert failed["status"] == "FAILED"
    assert "failed after 4 attempt(s)" in failed["last_error"]
    assert "error=500" in failed["last_error"]
    texts = [failed["last_error"], *report.errors, *(r.getMessage() for r in caplog.records)]
    assert not [text for text in texts if TOKEN in text]


def test_after_a_dead_batch_the_next_ones_get_a_single_attempt(
    engine: Engine, webhook: Webhook, no_sleep: Sleeps
) -> None:
    webhook.default_status = 503
    messages = _many(150)
    report = deliver(engine, messages, _settings(webhook), ENV.get, sleep=no_sleep)

    keys = [[p["message_key"] for p in post] for post in webhook.posts()]
    batches = list(dict.fromkeys(tuple(k) for k in keys))
    assert len(batches) >= 2
    assert keys[:4] == [list(batches[0])] * 4  # the first batch: every attempt
    assert [tuple(k) for k in keys[4:]] == batches[1:]  # the others: one each
    assert report.failed == {"hook": [m.message_key for m in messages]}
    assert len(report.errors) == len(batches)


def test_a_second_delivery_sends_nothing(
    engine: Engine, webhook: Webhook, no_sleep: Sleeps
) -> None:
    messages = [signal_message(signal_row())]
    first = deliver(engine, messages, _settings(webhook), ENV.get, sleep=no_sleep)
    second = deliver(engine, messages, _settings(webhook), ENV.get, sleep=no_sleep)

    assert (first.sent, first.skipped) == (2, 0)
    assert (second.sent, second.skipped) == (0, 2)
    assert len(webhook.requests) == 1


def test_a_failed_message_is_sent_by_the_next_delivery(
    engine: Engine, webhook: Webhook, no_sleep: Sleeps
) -> None:
    webhook.statuses = [500] * 4
    messages = [signal_message(signal_row())]
    first = deliver(engine, messages, _settings(webhook), ENV.get, sleep=no_sleep)
    second = deliver(engine, messages, _settings(webhook), ENV.get, sleep=no_sleep)

    assert first.failed == {"hook": [messages[0].message_key]}
    assert (second.sent, second.skipped, second.failed) == (1, 1, {})
    assert log_rows(engine)[(messages[0].message_key, "hook")]["status"] == "SENT"


def test_a_stale_message_is_stored_never_sent(
    engine: Engine, webhook: Webhook, no_sleep: Sleeps, capsys: pytest.CaptureFixture[str]
) -> None:
    message = signal_message(signal_row(), stale=True)
    report = deliver(engine, [message], _settings(webhook), {}.get, sleep=no_sleep)

    assert webhook.requests == []
    assert capsys.readouterr().err == ""
    assert (report.sent, report.stale, report.failed) == (0, 2, {})
    rows = log_rows(engine)
    assert {rows[(message.message_key, ch)]["status"] for ch in ("console", "hook")} == {"STALE"}
    # and a later delivery (even of the same message, no longer stale) leaves it alone
    fresh = signal_message(signal_row())
    again = deliver(engine, [fresh], _settings(webhook), ENV.get, sleep=no_sleep)
    assert (again.sent, again.skipped) == (0, 2)
    assert webhook.requests == []


def test_a_missing_secret_fails_the_channel_naming_the_variable(
    engine: Engine, webhook: Webhook, no_sleep: Sleeps
) -> None:
    message = signal_message(signal_row())
    report = deliver(engine, [message], _settings(webhook), {}.get, sleep=no_sleep)

    assert webhook.requests == []
    assert no_sleep.delays == []
    assert report.failed == {"hook": [message.message_key]}
    error = log_rows(engine)[(message.message_key, "hook")]["last_error"]
    assert error.startswith("notifications.channels[1].url: '${WEBHOOK_TOKEN}'")
    assert "WEBHOOK_TOKEN, which is not set" in error
    assert report.delivered == {message.message_key: ["console"]}


def test_a_sent_batch_is_recorded_before_the_next_batch_is_sent(
    engine: Engine, webhook: Webhook
) -> None:
    """A run killed while a later batch is sent must not send the earlier ones again: the
    log already says SENT for them (only the batch in flight can be repeated)."""
    messages = _many(150)
    webhook.statuses = [200, 500, 500, 500, 500]  # the second batch is being retried
    seen_while_retrying: list[dict[tuple[str, str], Any]] = []

    def sleep(seconds: float) -> None:
        seen_while_retrying.append(log_rows(engine))

    deliver(engine, messages, _settings(webhook), ENV.get, sleep=sleep)
    first_batch = [p["message_key"] for p in webhook.posts()[0]]
    second_batch = [p["message_key"] for p in webhook.posts()[1]]
    rows = seen_while_retrying[0]
    assert {rows[(k, "hook")]["status"] for k in first_batch} == {"SENT"}
    assert {rows[(k, "hook")]["status"] for k in second_batch} == {"PENDING"}
