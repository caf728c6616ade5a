"""Names of closures exchange_calendars knows without naming them (package data).

The library records a national day of mourning as an unnamed ad hoc holiday; an operator
asking `dgas calendar 2025-01-09` should read why the exchange was closed. The names ship in
`closure_names.yaml` beside this module, read with importlib.resources so a wheel has them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from functools import lru_cache
from importlib import resources
from types import MappingProxyType

import yaml

CLOSURE_NAMES_YAML = "closure_names.yaml"


@lru_cache(maxsize=1)
def _all_names() -> Mapping[str, Mapping[date, str]]:
    text = resources.files(__package__).joinpath(CLOSURE_NAMES_YAML).read_text("utf-8")
    raw = yaml.safe_load(text) or {}
    return MappingProxyType(
        {exchange: MappingProxyType(dict(days)) for exchange, days in raw.items()}
    )


def closure_names(exchange: str) -> Mapping[date, str]:
    """The named one-off closures of `exchange` by date; empty for an exchange we name none of."""
    return _all_names().get(exchange, MappingProxyType({}))
