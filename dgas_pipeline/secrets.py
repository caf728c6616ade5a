"""Secrets: which environment variables the config treats as secrets, and one reader of them.

Secret values never sit in the config file, in run config, in metadata or in our tables: the
config names variables, and whoever needs a value reads it here at the moment it is used. The
Dagster layer wraps the same names in `dagster.EnvVar` for its resources, so Dagster records
the names and never the values. A secret that is not set reads as "": the code that needs it
refuses that with an error naming the variable (`resolve_url`, `build_providers`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING
from urllib.parse import quote, quote_plus, unquote, urlsplit

from dgas_pipeline.notify.urls import references
from dgas_pipeline.store.engine import DATABASE_URL_ENV

if TYPE_CHECKING:
    from dgas_pipeline.config import SchedulerConfig

API_TOKEN_ENV = "DGAS_API_TOKEN"  # noqa: S105  (the variable's name, not a secret)


def read_secret(name: str, env: Mapping[str, str] = os.environ) -> str:
    """The value of the secret held in environment variable `name`; "" when it is not set."""
    return env.get(name) or ""


def provider_key_name(config: SchedulerConfig) -> str | None:
    """The variable holding the Polygon key, when the chain uses Polygon (the default needs
    no secret, so an embedded default starts with an empty environment)."""
    return config.provider.polygon_api_key_env if "polygon" in config.provider.chain else None


def provider_api_key(config: SchedulerConfig, env: Mapping[str, str] = os.environ) -> str | None:
    """The Polygon key's value, read only when the chain uses Polygon."""
    name = provider_key_name(config)
    return read_secret(name, env) if name else None


def secret_names(config: SchedulerConfig) -> list[str]:
    """Environment variables the config treats as secrets (set or not)."""
    names = [config.provider.polygon_api_key_env, API_TOKEN_ENV]
    for channel in config.notifications.channels:
        names.extend(references(channel.url))
    return list(dict.fromkeys(names))


def secret_values(config: SchedulerConfig, env: Mapping[str, str] = os.environ) -> list[str]:
    """Every spelling of every secret that is set: as written, percent- and form-encoded;
    the database password of `DGAS_DATABASE_URL` included."""
    values = [read_secret(name, env) for name in secret_names(config)]
    values.append(_database_password(read_secret(DATABASE_URL_ENV, env)))
    return [
        form
        for value in values
        if value
        for form in (value, quote(value, safe=""), quote_plus(value, safe=""))
    ]


def _database_password(url: str) -> str:
    try:
        password = urlsplit(url).password
    except ValueError:
        return ""
    return unquote(password) if password else ""
