"""The `alerts` asset: the operator's alert rules, evaluated on each cycle's closed bars.

Order per stretch of cycles: read the rules' states, evaluate on the same history the cycle
read, deliver through notify/ (once per channel, logged), then save the states. Delivering
before saving is what makes a retry safe: a crash after delivery re-evaluates the same
firings, and the delivery log drops the repeats.
"""

import dagster as dg
import pandas as pd

from dgas_pipeline.alerts import alert_deliveries, check_rule_file, evaluate_rules, load_rule_file
from dgas_pipeline.defs.assets import CYCLE_PARTITIONS, GROUP, run_bars
from dgas_pipeline.defs.clock import clock_now
from dgas_pipeline.defs.cycle_steps import group_history, history_groups
from dgas_pipeline.defs.resources import PipelineResource, secret
from dgas_pipeline.notify import deliver
from dgas_pipeline.store.alert_state import get_alert_states, save_alert_states
from dgas_pipeline.store.engine import write_transaction


@dg.asset(
    partitions_def=CYCLE_PARTITIONS,
    group_name=GROUP,
    backfill_policy=dg.BackfillPolicy.single_run(),
    deps=["indicators"],
)
def alerts(
    context: dg.AssetExecutionContext, bars: pd.DataFrame, pipeline: PipelineResource
) -> dg.MaterializeResult:
    """Firings of the rules in `alerts_file` on the bars these cycles closed."""
    settings, market = pipeline.settings(), pipeline.market()
    if settings.alerts_file is None:
        return dg.MaterializeResult(metadata={"rules": 0, "firings": 0})
    rules = load_rule_file(settings.alerts_file)
    check_rule_file(
        rules,
        interval=settings.interval_delta,
        channels=[c.name for c in settings.notifications.channels],
    )
    names = [rule.name for rule in rules.alerts]
    engine = pipeline.engine()
    cycle_bars = run_bars(context, pipeline)
    stale_before = clock_now() - pd.Timedelta(minutes=settings.stale_after_minutes)
    fired, sent, failed = 0, 0, []
    for group in history_groups(market, cycle_bars, settings.history_sessions):
        with engine.connect() as conn:
            states = get_alert_states(conn, names)
        evaluation = evaluate_rules(
            rules.alerts,
            group_history(bars, group),
            states,
            as_of=group[-1].end,
            since=group[0].start,
        )
        stale = group[-1].end < stale_before
        for channels, messages in alert_deliveries(
            evaluation.events, settings.notifications, stale=stale
        ):
            report = deliver(engine, messages, channels, secret)
            sent += report.sent
            failed.extend(report.errors)
        with write_transaction(engine) as conn:
            save_alert_states(conn, evaluation.states.values())
        fired += sum(1 for e in evaluation.events if e.state == "TRIGGERED")
    return dg.MaterializeResult(
        metadata={
            "rules": len(names),
            "firings": fired,
            "sent": sent,
            "delivery_errors": dg.MetadataValue.json(failed),
        }
    )
