"""Alert rules: a validated rule file, evaluation on closed bars, rearm state, replay.

Knows nothing of Dagster. The cycle's alerts asset loads the rules (`load_rule_file`,
`check_rule_file`), reads the states (`alerts.store.get_alert_states`), calls
`evaluate_rules` on the cycle's bars, delivers `alert_deliveries(...)` through
`notify.deliver` and then saves the returned states. `dgas alerts replay` runs the same
evaluation over past sessions (`replay_rules`). The exact semantics are in `evaluate.py`.

Names are imported on first use: `dgas alerts validate` and the store read `alerts.rules`
and `alerts.state` without paying for pandas and the indicator stack at start-up.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "alert_deliveries": "delivery",
    "alert_key": "delivery",
    "alert_messages": "delivery",
    "AlertEvent": "evaluate",
    "Evaluation": "evaluate",
    "evaluate_rules": "evaluate",
    "replay_rules": "replay",
    "replay_window": "replay",
    "AlertRule": "rules",
    "RuleFile": "rules",
    "rule_file_schema": "rules",
    "ARMED": "state",
    "TRIGGERED": "state",
    "AlertState": "state",
    "initial_state": "state",
    "check_rule_file": "validation",
    "load_rule_file": "validation",
    "parse_rule_file": "validation",
    "published_schema": "validation",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{module}"), name)
