"""Provider settings: the failover chain and network behaviour, checked like the rest of config."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from dgas_pipeline.data import ProviderSettings
from dgas_pipeline.errors import from_validation_error


def problems(**fields: object) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        ProviderSettings(**fields)  # type: ignore[arg-type]
    return from_validation_error(caught.value, "provider").lines


def test_defaults_use_the_synthetic_provider_only() -> None:
    settings = ProviderSettings()
    assert settings.chain == ["synthetic"]
    assert settings.synthetic_seed == 0
    assert settings.files_dir is None
    assert settings.polygon_base_url == "https://api.polygon.io"
    assert settings.polygon_api_key_env == "POLYGON_API_KEY"
    assert (settings.request_timeout_seconds, settings.max_retries) == (10, 4)
    assert (settings.backoff_base_seconds, settings.backoff_max_seconds) == (0.5, 30)


def test_a_full_chain_with_a_files_directory_is_accepted(tmp_path: Path) -> None:
    settings = ProviderSettings(chain=["polygon", "files", "synthetic"], files_dir=tmp_path)
    assert settings.chain == ["polygon", "files", "synthetic"]


def test_files_in_the_chain_without_a_directory_names_files_dir() -> None:
    (line,) = problems(chain=["files"])
    assert line.startswith("provider.files_dir: ")
    assert "required when 'files' is in chain" in line


def test_an_empty_chain_is_rejected() -> None:
    (line,) = problems(chain=[])
    assert line.startswith("provider.chain: ")
    assert "empty" in line


def test_a_provider_listed_twice_is_rejected() -> None:
    (line,) = problems(chain=["synthetic", "polygon", "synthetic"])
    assert line.startswith("provider.chain: ")
    assert "'synthetic' twice" in line


def test_an_unknown_provider_is_rejected() -> None:
    (line,) = problems(chain=["yahoo"])
    assert line.startswith("provider.chain[0]: 'yahoo'")


def test_unknown_keys_are_rejected() -> None:
    (line,) = problems(polygon_api_key="pk_123")
    # The value of a mistyped key may be the secret itself: it is never echoed.
    assert line == "provider.polygon_api_key: '<not shown>' is not a known field"
    assert "pk_123" not in line


def test_the_key_setting_holds_a_variable_name_not_a_key() -> None:
    (line,) = problems(polygon_api_key_env="pk live/123")
    assert line.startswith("provider.polygon_api_key_env: ")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("request_timeout_seconds", 0),
        ("max_retries", -1),
        ("backoff_base_seconds", -0.1),
        ("polygon_base_url", "ftp://example.com"),
    ],
)
def test_out_of_range_network_settings_name_their_field(field: str, value: object) -> None:
    (line,) = problems(**{field: value})
    assert line.startswith(f"provider.{field}: ")


def test_backoff_max_below_base_is_rejected() -> None:
    (line,) = problems(backoff_base_seconds=5, backoff_max_seconds=1)
    assert line.startswith("provider.backoff_max_seconds: 1")
