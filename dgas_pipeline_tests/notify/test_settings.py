"""Settings: what a config file may say, and that every error names its field."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, ValidationError

from dgas_pipeline.errors import InvalidInput, InvalidInputs, from_validation_error
from dgas_pipeline.notify import NotificationSettings, parse_notification_settings
from dgas_pipeline.notify.urls import references, resolve_url

GOOD_URLS = [
    "console",
    "tgram://${TELEGRAM_BOT_TOKEN}/12345",
    "mailto://alerts:${SMTP_PASSWORD}@127.0.0.1:2525?mode=insecure&from=a@example.com",
    "json://127.0.0.1:8080/hook?-token=${WEBHOOK_TOKEN}",
    "jsons://hooks.example.com/dgas?+Authorization=Bearer%20${WEBHOOK_TOKEN}",
    "json://my-very-long-hostname-01.example.com/api/v1/hooks",
]


def _channels(*urls: str) -> dict[str, Any]:
    return {"channels": [{"name": f"c{i}", "url": url} for i, url in enumerate(urls)]}


def _problems(raw: Any) -> list[str]:
    with pytest.raises(InvalidInput) as caught:
        parse_notification_settings(raw)
    return caught.value.lines


def test_defaults_print_to_the_console_and_retry_four_times() -> None:
    settings = NotificationSettings()
    assert [(c.name, c.url) for c in settings.channels] == [("console", "console")]
    assert (settings.max_attempts, settings.backoff_base_seconds) == (4, 0.5)
    assert settings.backoff_max_seconds == 30


@pytest.mark.parametrize("url", GOOD_URLS)
def test_urls_with_secret_references_are_accepted(url: str) -> None:
    settings = parse_notification_settings(_channels(url))
    assert settings.channels[0].url == url


@pytest.mark.parametrize(
    ("raw", "field", "words", "secret"),
    [
        (_channels("nope://host/x"), "notifications.channels[0].url", "'nope'", None),
        (
            {"channels": [{"name": "a", "url": "console"}, {"name": "a", "url": "console"}]},
            "notifications.channels[1].name",
            "unique",
            None,
        ),
        (
            _channels("console", "mailto://alerts:hunter2@smtp.example.com"),
            "notifications.channels[1].url",
            "literal password",
            "hunter2",
        ),
        (
            _channels("tgram://123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/12345"),
            "notifications.channels[0].url",
            "literal token",
            "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw",
        ),
        (
            _channels("json://127.0.0.1/hook?+Authorization=Bearer%20abc123"),
            "notifications.channels[0].url",
            "'+Authorization'",
            "abc123",
        ),
        (
            {"channels": [{"name": "Phone Alerts", "url": "console"}]},
            "notifications.channels[0].name",
            "lowercase",
            None,
        ),
        (
            {"channels": [{"name": "a", "url": "console", "colour": "red"}]},
            "notifications.channels[0].colour",
            "not a known field",
            None,
        ),
        ({"retries": 3}, "notifications.retries", "not a known field", None),
        (_channels("json://h/${oops"), "notifications.channels[0].url", "malformed", None),
        ({"max_attempts": 0}, "notifications.max_attempts", "greater than", None),
    ],
    ids=[
        "unknown-scheme",
        "duplicate-name",
        "literal-password",
        "literal-token",
        "literal-header-secret",
        "bad-name",
        "unknown-channel-key",
        "unknown-key",
        "malformed-reference",
        "no-attempts",
    ],
)
def test_bad_settings_name_the_field(
    raw: dict[str, Any], field: str, words: str, secret: str | None
) -> None:
    lines = _problems(raw)
    assert any(line.startswith(f"{field}:") and words in line for line in lines), lines
    if secret is not None:
        assert not any(secret in line for line in lines)


def test_every_problem_is_reported_in_one_pass() -> None:
    raw = {
        "channels": [
            {"name": "Bad Name", "url": "console"},
            {"name": "mail", "url": "mailto://u:pw1@smtp.example.com"},
        ]
    }
    lines = _problems(raw)
    assert [line.split(":")[0] for line in lines] == [
        "notifications.channels[0].name",
        "notifications.channels[1].url",
    ]


class _AppConfig(BaseModel):
    """How the lead embeds the settings: field `notifications`, errors with prefix ''."""

    model_config = ConfigDict(extra="forbid")
    notifications: NotificationSettings = NotificationSettings()


@pytest.mark.parametrize(
    ("channels", "field"),
    [
        ([{"name": "x", "url": "nope://h"}], "notifications.channels[0].url"),
        ([{"name": "X", "url": "console"}], "notifications.channels[0].name"),
    ],
)
def test_embedded_in_the_app_config_the_paths_are_the_same(
    channels: list[dict[str, str]], field: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        _AppConfig.model_validate({"notifications": {"channels": channels}})
    lines = from_validation_error(caught.value, prefix="").lines
    assert [line.split(":")[0] for line in lines] == [field]


def test_references_are_filled_in_encoded_and_known_as_secrets() -> None:
    url = "mailto://alerts:${SMTP_PASSWORD}@h?to=${TO}"
    assert references(url) == ["SMTP_PASSWORD", "TO"]
    values = {"SMTP_PASSWORD": "p@ss/w:rd", "TO": "me@example.com"}
    resolved = resolve_url(url, values.get, "f")
    assert resolved.url == "mailto://alerts:p%40ss%2Fw%3Ard@h?to=me%40example.com"
    assert {"p@ss/w:rd", "p%40ss%2Fw%3Ard"} <= set(resolved.secrets)


def test_a_missing_variable_names_it_and_the_field_never_a_value() -> None:
    settings = parse_notification_settings(
        _channels("console", "tgram://${TELEGRAM_BOT_TOKEN}/1", "json://h/?-k=${HOOK_KEY}")
    )
    with pytest.raises(InvalidInputs) as caught:
        settings.check_secrets({"HOOK_KEY": "v4lue"}.get)
    assert caught.value.lines == [
        "notifications.channels[1].url: '${TELEGRAM_BOT_TOKEN}' needs environment variable "
        "TELEGRAM_BOT_TOKEN, which is not set"
    ]
