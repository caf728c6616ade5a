"""Which bar providers a deployment uses, in failover order, and how hard to try each one.

Embedded in the app config as `provider`. The Polygon secret is never a field here: only the
NAME of the environment variable holding it, so a config file can be committed and shared.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import ConfigDict, Field, ValidationInfo, field_validator

from dgas_pipeline.strict_numbers import NumbersNotBooleans

ProviderName = Literal["synthetic", "files", "polygon"]
# Upper bounds: a wait or a retry count past them is a typo, and would otherwise overflow
# (`time.sleep`, `2 ** attempt` as a float) only when a provider misbehaves at run time.
MAX_REQUEST_TIMEOUT_SECONDS = 600
MAX_RETRIES = 20
MAX_BACKOFF_SECONDS = 3600
SEED_MAX = 2**63 - 1  # as large as a file may hold (input_files.MAX_INTEGER)


class ProviderSettings(NumbersNotBooleans):
    """Provider chain and network behaviour; unknown keys are errors, like the rest of config."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    chain: list[ProviderName] = Field(default_factory=lambda: ["synthetic"])
    synthetic_seed: int = Field(default=0, ge=-SEED_MAX, le=SEED_MAX)
    # Validated even when left out: "files" in the chain without a directory is a mistake.
    files_dir: Path | None = Field(default=None, validate_default=True)
    polygon_base_url: str = "https://api.polygon.io"
    polygon_api_key_env: str = "POLYGON_API_KEY"
    request_timeout_seconds: float = Field(default=10, gt=0, le=MAX_REQUEST_TIMEOUT_SECONDS)
    max_retries: int = Field(default=4, ge=0, le=MAX_RETRIES)
    backoff_base_seconds: float = Field(default=0.5, ge=0, le=MAX_BACKOFF_SECONDS)
    backoff_max_seconds: float = Field(default=30, ge=0, le=MAX_BACKOFF_SECONDS)

    @field_validator("chain")
    @classmethod
    def _chain_is_an_order(cls, chain: list[str]) -> list[str]:
        if not chain:
            raise ValueError("is empty (expected at least one of synthetic, files, polygon)")
        seen: set[str] = set()
        for name in chain:
            if name in seen:
                raise ValueError(f"lists {name!r} twice (expected each provider at most once)")
            seen.add(name)
        return chain

    @field_validator("files_dir")
    @classmethod
    def _files_need_a_directory(cls, files_dir: Path | None, info: ValidationInfo) -> Path | None:
        if files_dir is None and "files" in info.data.get("chain", []):
            raise ValueError("is required when 'files' is in chain (expected a directory)")
        return files_dir

    @field_validator("polygon_base_url")
    @classmethod
    def _base_url_is_http(cls, url: str) -> str:
        if not url.startswith(("http://", "https://")):
            raise ValueError("is not an http(s) URL (expected e.g. https://api.polygon.io)")
        return url.rstrip("/")

    @field_validator("polygon_api_key_env")
    @classmethod
    def _env_name_is_a_name(cls, name: str) -> str:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise ValueError(
                "is not an environment variable name (expected e.g. POLYGON_API_KEY; "
                "put the key itself in the environment, never in the config)"
            )
        return name

    @field_validator("backoff_max_seconds")
    @classmethod
    def _max_not_below_base(cls, value: float, info: ValidationInfo) -> float:
        base = info.data.get("backoff_base_seconds")
        if base is not None and value < base:
            raise ValueError(f"is below backoff_base_seconds ({base}) (expected >= it)")
        return value
