"""A settings model whose number fields refuse `true` and `false`.

Pydantic's lax mode reads a boolean as 1 or 0 for an `int` or `float` field, so a YAML
`timeout_seconds: true` became a one-second timeout and `min_confidence: yes` a threshold of
1.0: values nobody wrote, accepted silently. Quoted numbers ("180") stay accepted, as lax mode
reads them; only booleans are refused, with the field named by the caller's error formatting.
"""

from __future__ import annotations

import types
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationInfo, field_validator

NOT_A_BOOLEAN = "is a boolean, not a number (expected a number)"


def is_number_annotation(annotation: Any) -> bool:
    """True for `int`, `float` and their optional forms: a field a boolean must not fill."""
    if get_origin(annotation) in (Union, types.UnionType):
        members = get_args(annotation)
        return bool not in members and any(is_number_annotation(m) for m in members)
    return annotation in (int, float)


class NumbersNotBooleans(BaseModel):
    """Base of every settings model read from a file (config, notifications, executor, logs)."""

    @field_validator("*", mode="before")
    @classmethod
    def _refuse_booleans(cls, value: Any, info: ValidationInfo) -> Any:
        field = info.field_name
        if (
            isinstance(value, bool)
            and field is not None
            and is_number_annotation(cls.model_fields[field].annotation)
        ):
            raise ValueError(NOT_A_BOOLEAN)
        return value
