"""Channel set-up, redaction and the backoff policy, without a database where none is needed."""

from __future__ import annotations

import io
import logging

import pytest
from sqlalchemy.engine import Engine

from dgas_pipeline.notify import NotificationSettings, backoff_delay, deliver, signal_message
from dgas_pipeline.notify.channels import (
    AppriseSender,
    ChannelSetupError,
    ConsoleSender,
    build_sender,
)
from dgas_pipeline.notify.messages import batch_text, batch_title
from dgas_pipeline.notify.redact import Redactor, redacted_logs
from dgas_pipeline.notify.settings import ChannelSettings
from dgas_pipeline_tests.notify.rows import log_rows, signal_row
from dgas_pipeline_tests.notify.servers import Sleeps

BOT_TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"  # noqa: S105 (a made-up token)


def test_a_telegram_token_from_the_environment_loads() -> None:
    channel = ChannelSettings(name="phone", url="tgram://${TELEGRAM_BOT_TOKEN}/12345")
    sender, redactor = build_sender(channel, "f", {"TELEGRAM_BOT_TOKEN": BOT_TOKEN}.get)
    assert isinstance(sender, AppriseSender)
    assert redactor(f"bot{BOT_TOKEN}/sendMessage") == "bot***/sendMessage"


@pytest.mark.parametrize(
    ("url", "secrets", "body_limit"),
    [
        # Discord: 2,000 characters of body, the title apart.
        ("discord://${HOOK_ID}/${HOOK_TOKEN}", {"HOOK_ID": "1234", "HOOK_TOKEN": "abcd"}, 2000),
        # Telegram: 4,096, and no title field: apprise puts the title into the body.
        ("tgram://${TELEGRAM_BOT_TOKEN}/12345", {"TELEGRAM_BOT_TOKEN": BOT_TOKEN}, 4096),
    ],
)
def test_batches_fit_the_service_limits_and_are_cut_between_messages(
    url: str, secrets: dict[str, str], body_limit: int
) -> None:
    sender, _ = build_sender(ChannelSettings(name="chat", url=url), "f", secrets.get)
    messages = [signal_message(signal_row(f"S{i:03d}")) for i in range(60)]
    batches = sender.batches(messages)

    assert len(batches) >= 2
    assert [m for batch in batches for m in batch] == messages  # all, in order, none cut
    for batch in batches:
        title_in_body = len(batch_title(batch)) + 2 if url.startswith("tgram") else 0
        assert len(batch_text(batch)) + title_in_body <= body_limit


def test_the_console_prints_a_batch_as_one_block() -> None:
    stream = io.StringIO()
    sender = ConsoleSender(stream)
    messages = [signal_message(signal_row(f"S{i:03d}")) for i in range(3)]
    assert sender.batches(messages) == [messages]
    assert sender.send(messages) is None
    assert stream.getvalue() == "".join(f"{m.title}\n{m.body}\n\n" for m in messages)


def test_a_url_apprise_rejects_once_filled_in_is_a_setup_error() -> None:
    channel = ChannelSettings(name="phone", url="tgram://${TELEGRAM_BOT_TOKEN}/12345")
    with pytest.raises(ChannelSetupError, match=r"tgram://…") as caught:
        build_sender(channel, "f", {"TELEGRAM_BOT_TOKEN": "not-a-token"}.get)
    assert "not-a-token" not in str(caught.value)


def test_an_unusable_channel_fails_its_messages_without_raising(
    engine: Engine, no_sleep: Sleeps
) -> None:
    settings = NotificationSettings.model_validate(
        {
            "channels": [
                {"name": "phone", "url": "tgram://${TELEGRAM_BOT_TOKEN}/12345"},
                {"name": "console", "url": "console"},
            ]
        }
    )
    messages = [signal_message(signal_row(minute=m)) for m in (0, 30)]
    report = deliver(engine, messages, settings, {"TELEGRAM_BOT_TOKEN": "x"}.get, no_sleep)

    assert report.failed == {"phone": [m.message_key for m in messages]}
    assert report.sent == 2
    assert no_sleep.delays == []  # a set-up problem is not retried
    rows = log_rows(engine)
    assert "could not load" in rows[(messages[0].message_key, "phone")]["last_error"]


def test_redacted_logs_hide_secrets_from_every_handler(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    log = logging.getLogger("apprise")
    with redacted_logs(Redactor(["hunter2"])):
        log.debug("login with %s", "hunter2")
    log.debug("after: %s", "hunter2")
    assert [r.getMessage() for r in caplog.records] == ["login with ***", "after: hunter2"]


def test_backoff_is_full_jitter_over_a_capped_exponential() -> None:
    settings = NotificationSettings(backoff_base_seconds=0.5, backoff_max_seconds=3)
    assert [backoff_delay(n, settings, rng=lambda: 1.0) for n in (1, 2, 3, 4, 5)] == [
        0.5,
        1.0,
        2.0,
        3.0,
        3.0,
    ]
    assert backoff_delay(3, settings, rng=lambda: 0.0) == 0.0
