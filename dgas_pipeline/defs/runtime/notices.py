"""Dagster's beta and preview notices for the APIs we chose on purpose, kept out of the logs.

A range of bars runs as one run (`backfill_policy`), and the cycle's checks are partitioned
like its assets (`partitions_def` on `AssetCheckSpec`); Dagster's own sensor decorator passes
`owners`. Each load of the code location (code server, run worker, `dgas` command) printed
these as WARNING lines an operator can do nothing about. Only these exact notices are hidden:
a new beta or preview API, or any deprecation, still shows.
"""

from __future__ import annotations

import re
import warnings
from typing import Final

import dagster as dg

DELIBERATE: Final[tuple[tuple[str, type[Warning]], ...]] = (
    ("Parameter `backfill_policy` of function `asset` is currently in beta", dg.BetaWarning),
    ("Specifying a partitions_def on an AssetCheckSpec is currently in preview", dg.PreviewWarning),
    ("Parameter `owners` of initializer `SensorDefinition.__init__`", dg.BetaWarning),
)
"""(message start, category) of each notice; the same filters as pyproject's pytest ones."""


def hide_deliberate_notices() -> None:
    """Install the filters; idempotent (`warnings` drops an identical filter added again)."""
    for message, category in DELIBERATE:
        # `message` is a regular expression matched at the start of the notice.
        warnings.filterwarnings("ignore", message=re.escape(message), category=category)
