"""Bounds of a watchlist that more than the service checks.

Apart from `service.py` (pydantic, SQLAlchemy, the exchange calendar) so that `dgas`'s
argument parser can check a `--version` flag without importing them.
"""

from __future__ import annotations

from typing import Final

MAX_VERSION: Final = 2**31 - 1
"""The `version` column is a 32-bit INTEGER: a larger number is bad input, not a crash."""
