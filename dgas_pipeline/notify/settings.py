"""Where notifications go: the `notifications` section of the app config.

```yaml
notifications:
  channels:
    - {name: console, url: console}
    - {name: hook, url: "json://127.0.0.1:8080/hook?+Authorization=Bearer%20${WEBHOOK_TOKEN}"}
    - {name: mail, url: "mailto://alerts:${SMTP_PASSWORD}@smtp.example.com?to=me@example.com"}
    - {name: phone, url: "tgram://${TELEGRAM_BOT_TOKEN}/12345"}
  max_attempts: 4
```
URLs are apprise URLs. Secrets are `${NAME}` references to environment variables, filled in
at send time (see `urls.py`); a secret written out in the file is rejected. Errors name the
field as the config file spells it (`notifications.channels[1].url`) and never echo a URL.
"""

from __future__ import annotations

import re
from typing import Any, Final

from pydantic import (
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from dgas_pipeline.errors import InvalidInput, InvalidInputs, from_validation_error
from dgas_pipeline.notify.urls import CONSOLE_URL, SecretResolver, resolve_url, url_problems
from dgas_pipeline.strict_numbers import NumbersNotBooleans

FIELD: Final = "notifications"
"""The field of the app config that holds these settings; error paths start with it."""

CHANNEL_NAME_PATTERN: Final = r"[a-z0-9_-]{1,64}"
MAX_BACKOFF_SECONDS: Final = 3600


class ChannelSettings(NumbersNotBooleans):
    """One destination. `name` keys the delivery log, so renaming a channel re-sends to it."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    name: str
    url: str

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not re.fullmatch(CHANNEL_NAME_PATTERN, value):
            raise ValueError("must be 1 to 64 lowercase letters, digits, '_' or '-'")
        return value

    @property
    def is_console(self) -> bool:
        return self.url == CONSOLE_URL


def _default_channels() -> list[ChannelSettings]:
    return [ChannelSettings(name="console", url=CONSOLE_URL)]


class NotificationSettings(NumbersNotBooleans):
    """Channels plus the retry policy every channel gets (exponential backoff, full jitter)."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, hide_input_in_errors=True, allow_inf_nan=False
    )

    channels: list[ChannelSettings] = Field(default_factory=_default_channels)
    max_attempts: int = Field(default=4, ge=1, le=20)
    backoff_base_seconds: float = Field(default=0.5, ge=0, le=MAX_BACKOFF_SECONDS)
    backoff_max_seconds: float = Field(default=30, ge=0, le=MAX_BACKOFF_SECONDS)

    @model_validator(mode="wrap")
    @classmethod
    def _check_channels(cls, data: Any, handler: Any) -> NotificationSettings:
        """Report URL and duplicate-name problems together with pydantic's own, in one pass.

        URL problems are found on the raw input and raised as `InvalidInput`s with the full
        path, because pydantic's error would carry the URL itself as the offending input.
        """
        problems = _channel_problems(data)
        try:
            settings = handler(data)
        except ValidationError as err:
            if not problems:
                raise
            raise InvalidInputs(from_validation_error(err, FIELD).problems + problems) from None
        if problems:
            raise InvalidInputs(problems)
        return settings

    def channel_field(self, index: int) -> str:
        """The config path of channel `index`'s URL, as error messages name it."""
        return f"{FIELD}.channels[{index}].url"

    def check_secrets(self, resolve_secret: SecretResolver) -> None:
        """Fail (naming every missing variable) unless all referenced secrets are set.

        For start-up and `dgas config validate`; `deliver` resolves again at send time.
        """
        problems = []
        for index, channel in enumerate(self.channels):
            try:
                resolve_url(channel.url, resolve_secret, self.channel_field(index))
            except InvalidInput as err:
                problems.append(err)
        if problems:
            raise InvalidInputs(problems)


def parse_notification_settings(raw: Any) -> NotificationSettings:
    """Validate a raw `notifications` mapping; any problem is an `InvalidInputs` naming fields."""
    try:
        return NotificationSettings.model_validate(raw)
    except ValidationError as err:
        raise from_validation_error(err, FIELD) from None


def _channel_problems(data: Any) -> list[InvalidInput]:
    if not isinstance(data, dict) or not isinstance(data.get("channels"), list):
        return []
    problems: list[InvalidInput] = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(data["channels"]):
        name, url = _field(entry, "name"), _field(entry, "url")
        if isinstance(url, str):
            problems.extend(url_problems(url, f"{FIELD}.channels[{index}].url"))
        if isinstance(name, str):
            if name in seen:
                problems.append(
                    InvalidInput(
                        f"{FIELD}.channels[{index}].name",
                        name,
                        f"is already the name of channels[{seen[name]}]; names must be unique",
                    )
                )
            seen.setdefault(name, index)
    return problems


def _field(entry: Any, name: str) -> Any:
    if isinstance(entry, dict):
        return entry.get(name)
    return getattr(entry, name, None)
