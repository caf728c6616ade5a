"""YAML files people write (config, overrides, alert rules), read with errors they can act on.

Two traps of plain `yaml.safe_load` are closed here once: an unreadable or malformed file is
reported with the file and the line, and dates stay text so that `2026-13-01` reaches the
model and is reported with its field instead of crashing PyYAML's date constructor.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from dgas_pipeline.errors import InvalidInput


class _TextDatesLoader(yaml.SafeLoader):
    """SafeLoader that leaves dates as text for the model to validate."""


_TextDatesLoader.add_constructor(
    "tag:yaml.org,2002:timestamp", lambda loader, node: loader.construct_scalar(node)
)


def load_yaml(text: str) -> Any:
    """`yaml.safe_load`, but dates stay text for the model to validate (and name the field)."""
    return yaml.load(text, Loader=_TextDatesLoader)  # noqa: S506 - a SafeLoader subclass


def read_yaml_mapping(path: Path, field: str, expected: str) -> dict[str, Any]:
    """The file's top-level mapping ({} for an empty file); `field` names the file in errors."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise InvalidInput(field, str(path), f"cannot be read ({err.strerror})") from None
    try:
        raw = load_yaml(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise InvalidInput(field, str(path), f"is not valid YAML{where}") from None
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise InvalidInput(field, str(path), f"{expected} (found a {type(raw).__name__})")
    return raw
