"""The alerts pass: the operator's alert rules, evaluated on each cycle's closed bars.

Order per stretch of cycles: read the rules' states, evaluate on the same history the cycle
read, deliver through notify/ (once per channel, logged), then save the states. Delivering
before saving is what makes a retry safe: a crash after delivery re-evaluates the same
firings, and the delivery log drops the repeats.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pandas as pd

from dgas_pipeline.alerts import alert_deliveries, evaluate_rules
from dgas_pipeline.alerts.store import get_alert_states, save_alert_states
from dgas_pipeline.cycle.history import group_history, history_groups
from dgas_pipeline.cycle.services import CycleServices
from dgas_pipeline.market.bars import Bar
from dgas_pipeline.market.lateness import is_late
from dgas_pipeline.market.planner import cycle_due
from dgas_pipeline.notify import deliver
from dgas_pipeline.store.engine import write_transaction


def run_alert_rules(
    services: CycleServices, bars: pd.DataFrame, cycle_bars: list[Bar]
) -> dict[str, Any]:
    """Firings of the rules in `alerts_file` on the bars these cycles closed; a stretch whose
    last cycle is late (`is_late` from its due time) stores its firings without sending."""
    settings = services.settings
    if settings.alerts_file is None:
        return {"rules": 0, "firings": 0}
    # jsonschema only when there are rules to load: most deployments have none.
    from dgas_pipeline.alerts.validation import load_checked_rule_file

    channels = [channel.name for channel in settings.notifications.channels]
    rules = load_checked_rule_file(
        settings.alerts_file, interval=settings.interval_delta, channels=channels
    )
    names = [rule.name for rule in rules.alerts]
    engine = services.engine()
    now, stale_after = services.now(), timedelta(minutes=settings.stale_after_minutes)
    fired, sent, failed = 0, 0, []
    for group in history_groups(services.market, cycle_bars, settings.history_sessions):
        with engine.connect() as conn:
            states = get_alert_states(conn, names)
        evaluation = evaluate_rules(
            rules.alerts,
            group_history(bars, group),
            states,
            as_of=group[-1].end,
            since=group[0].start,
        )
        stale = is_late(cycle_due(group[-1].end, settings.plan_settings), now, stale_after)
        for targets, messages in alert_deliveries(
            evaluation.events, settings.notifications, stale=stale
        ):
            report = deliver(engine, messages, targets, services.secret)
            sent += report.sent
            failed.extend(report.errors)
        with write_transaction(engine) as conn:
            save_alert_states(conn, evaluation.states.values())
        fired += sum(1 for e in evaluation.events if e.state == "TRIGGERED")
    return {"rules": len(names), "firings": fired, "sent": sent, "delivery_errors": failed}
