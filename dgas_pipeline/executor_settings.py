"""How a run executes its steps: the `executor` section of the app config.

```yaml
executor:
  kind: celery                              # in_process (default) | multiprocess | celery
  celery:
    broker_url_env: DGAS_CELERY_BROKER_URL  # a URL with a password lives in the environment
    backend_url: redis://redis.internal:6379/1
    queue: dgas
```

`in_process` runs every step of a run in the run's own process: the steps are light, and one
interpreter start-up per run is what keeps a cycle short on one machine. `multiprocess` gives
each step a process of its own; `celery` sends each step to a Celery worker, possibly on
another machine (deploy/README.md, "Scale out"). A URL holding a password is never written
here: the file names the environment variable that holds it, read when the run or worker
starts.
"""

from __future__ import annotations

import importlib.util
import re
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import ConfigDict, Field, field_validator, model_validator

from dgas_pipeline.errors import InvalidInput, InvalidInputs
from dgas_pipeline.strict_numbers import NumbersNotBooleans

FIELD = "executor"
ExecutorKind = Literal["in_process", "multiprocess", "celery"]
BROKER_SCHEMES = ("redis", "rediss", "amqp", "amqps", "pyamqp")
BACKEND_SCHEMES = ("redis", "rediss", "rpc")
DEFAULT_BACKEND = "rpc://"
DEFAULT_QUEUE = "dgas"
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_QUEUE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}")
MAX_CONCURRENT = 256
_MODULE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")


class CelerySettings(NumbersNotBooleans):
    """Broker, result backend and queue that the run and its Celery workers must share."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    broker_url: str | None = None
    broker_url_env: str | None = None
    backend_url: str | None = None
    backend_url_env: str | None = None
    queue: str = DEFAULT_QUEUE
    include: tuple[str, ...] = ()

    @field_validator("broker_url")
    @classmethod
    def _broker(cls, value: str | None) -> str | None:
        return _url_without_password(value, "broker_url", BROKER_SCHEMES)

    @field_validator("backend_url")
    @classmethod
    def _backend(cls, value: str | None) -> str | None:
        return _url_without_password(value, "backend_url", BACKEND_SCHEMES)

    @field_validator("broker_url_env", "backend_url_env")
    @classmethod
    def _env_name(cls, value: str | None) -> str | None:
        if value is not None and not _ENV_NAME.fullmatch(value):
            raise ValueError(
                "is not an environment variable name (expected e.g. DGAS_CELERY_BROKER_URL; "
                "the URL itself goes in the environment, never in the config)"
            )
        return value

    @field_validator("queue")
    @classmethod
    def _queue(cls, value: str) -> str:
        if not _QUEUE.fullmatch(value):
            raise ValueError(
                "is not a queue name (expected 1 to 100 letters, digits, '_', '.' or '-', "
                "starting with a letter or digit, e.g. dgas)"
            )
        return value

    @field_validator("include")
    @classmethod
    def _modules(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        problems = [
            InvalidInput(
                f"{FIELD}.celery.include[{i}]",
                name,
                "is not a Python module name (expected e.g. my_package.tasks)",
            )
            for i, name in enumerate(value)
            if not _MODULE.fullmatch(name)
        ]
        if problems:
            raise InvalidInputs(problems)
        return value

    @model_validator(mode="after")
    def _one_source_each(self) -> CelerySettings:
        for name in ("broker_url", "backend_url"):
            if getattr(self, name) is not None and getattr(self, f"{name}_env") is not None:
                raise InvalidInput(
                    f"{FIELD}.celery.{name}_env",
                    getattr(self, f"{name}_env"),
                    f"is set together with {FIELD}.celery.{name} (expected one of the two)",
                )
        return self

    @property
    def changed(self) -> list[str]:
        """Fields away from their default: set for a reason that only kind celery serves.

        Not "fields present": the example config spells out every default.
        """
        return [
            name
            for name, info in type(self).model_fields.items()
            if getattr(self, name) != info.default
        ]


class ExecutorSettings(NumbersNotBooleans):
    """Which executor the cycle and EOD jobs run their steps with, chosen at code-load time."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    kind: ExecutorKind = "in_process"
    max_concurrent: int | None = Field(None, ge=1, le=MAX_CONCURRENT)
    celery: CelerySettings = CelerySettings()

    @model_validator(mode="before")
    @classmethod
    def _kind_alone(cls, data: Any) -> Any:
        """`executor: multiprocess` is short for `executor: {kind: multiprocess}`."""
        return {"kind": data} if isinstance(data, str) else data

    @model_validator(mode="after")
    def _settings_fit_the_kind(self) -> ExecutorSettings:
        problems: list[InvalidInput] = []
        if self.max_concurrent is not None and self.kind != "multiprocess":
            problems.append(
                InvalidInput(
                    f"{FIELD}.max_concurrent",
                    self.max_concurrent,
                    f"applies only to kind multiprocess (kind is {self.kind}; "
                    "expected null or kind: multiprocess)",
                )
            )
        if self.kind != "celery":
            problems += [
                InvalidInput(
                    f"{FIELD}.celery.{name}",
                    getattr(self.celery, name),  # never a secret: validated above
                    f"is set but {FIELD}.kind is {self.kind} (expected kind: celery, "
                    "or no celery section)",
                )
                for name in self.celery.changed
            ]
        else:
            if self.celery.broker_url is None and self.celery.broker_url_env is None:
                problems.append(
                    InvalidInput(
                        f"{FIELD}.celery.broker_url",
                        None,
                        "is required when kind is celery (expected e.g. "
                        "redis://redis.internal:6379/0, or broker_url_env naming the "
                        "environment variable that holds a URL with a password)",
                    )
                )
            if importlib.util.find_spec("dagster_celery") is None:
                problems.append(
                    InvalidInput(
                        f"{FIELD}.kind",
                        self.kind,
                        "needs dagster-celery, which is not installed "
                        "(expected: uv sync --extra celery)",
                    )
                )
        if problems:
            raise InvalidInputs(problems)
        return self


def _url_without_password(value: str | None, field: str, schemes: tuple[str, ...]) -> str | None:
    if value is None:
        return value
    # SQLAlchemy's URL parser redacts, imported only when a Celery URL is set.
    from dgas_pipeline.store.engine import redact_url

    path = f"{FIELD}.celery.{field}"
    # Celery takes `;`-separated failover lists of broker URLs: each one is checked.
    parts = value.split(";")
    shown = ";".join(redact_url(part) for part in parts)
    for part in parts:
        try:
            split = urlsplit(part)
            has_password = bool(split.password)
        except ValueError:
            raise InvalidInput(
                path, shown, f"is not a URL (expected e.g. {schemes[0]}://host:port/...)"
            ) from None
        if has_password:
            raise InvalidInput(
                path,
                shown,
                "contains a password; secrets never go in the config file (put the URL in an "
                f"environment variable and name it in {path}_env)",
            )
        if split.scheme not in schemes:
            raise InvalidInput(
                path,
                shown,
                f"has an unsupported scheme (expected {', '.join(f'{s}://' for s in schemes)})",
            )
    return value
