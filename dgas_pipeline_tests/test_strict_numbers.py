"""Every number a config file can hold refuses `true`/`false`, naming the field."""

from __future__ import annotations

import typing
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import BaseModel

from dgas_pipeline.config import SchedulerConfig, load_config, validate_config
from dgas_pipeline.errors import InvalidInputs
from dgas_pipeline.strict_numbers import NOT_A_BOOLEAN, is_number_annotation


def _number_fields(
    model: type[BaseModel], prefix: tuple[str, ...] = ()
) -> Iterator[tuple[str, ...]]:
    """Dotted paths of every int/float field, nested settings included (found, not listed)."""
    for name, info in model.model_fields.items():
        members = typing.get_args(info.annotation) or (info.annotation,)
        nested = [m for m in members if isinstance(m, type) and issubclass(m, BaseModel)]
        if nested:
            yield from _number_fields(nested[0], (*prefix, name))
        elif is_number_annotation(info.annotation):
            yield (*prefix, name)


NUMBER_FIELDS = sorted(_number_fields(SchedulerConfig))


def _raw(path: tuple[str, ...], value: object) -> dict[str, object]:
    raw: dict[str, object] = {}
    level = raw
    for key in path[:-1]:
        level = level.setdefault(key, {})  # type: ignore[assignment]
    level[path[-1]] = value
    return raw


def test_the_walk_finds_the_numbers_of_every_settings_section() -> None:
    sections = {path[0] for path in NUMBER_FIELDS if len(path) > 1}
    assert {"provider", "notifications", "logging"} <= sections
    assert ("timeout_seconds",) in NUMBER_FIELDS and ("min_confidence",) in NUMBER_FIELDS


@pytest.mark.parametrize("value", [True, False])
@pytest.mark.parametrize("path", NUMBER_FIELDS, ids=".".join)
def test_a_boolean_is_not_a_number(path: tuple[str, ...], value: bool) -> None:
    with pytest.raises(InvalidInputs) as caught:
        validate_config(_raw(path, value))
    text = str(caught.value)
    assert f"{'.'.join(path)}: " in text and NOT_A_BOOLEAN in text


def test_a_boolean_in_a_config_file_is_refused_with_its_field(tmp_path: Path) -> None:
    config = tmp_path / "dgas.yaml"
    config.write_text("timeout_seconds: true\nnotifications:\n  max_attempts: yes\n")
    with pytest.raises(InvalidInputs) as caught:
        load_config(config)
    text = str(caught.value)
    assert "timeout_seconds" in text and "notifications.max_attempts" in text


def test_quoted_numbers_and_real_booleans_still_read() -> None:
    config = validate_config(
        {"timeout_seconds": "90", "min_confidence": 0.7, "run_on_startup": True}
    )
    assert config.timeout_seconds == 90 and config.min_confidence == 0.7 and config.run_on_startup


@pytest.mark.parametrize(
    ("annotation", "expected"),
    [
        (int, True),
        (float, True),
        (int | None, True),
        (typing.Optional[float], True),  # noqa: UP045 - the old spelling counts too
        (bool, False),
        (str, False),
        (bool | int, False),
        (typing.Any, False),
    ],
)
def test_which_annotations_count_as_numbers(annotation: object, expected: bool) -> None:
    assert is_number_annotation(annotation) is expected
