"""The notification step: each signal once per channel; a late one is logged, not sent."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd

from dgas_pipeline.config import SchedulerConfig
from dgas_pipeline.cycle import mirror
from dgas_pipeline.cycle.services import CycleServices
from dgas_pipeline.cycle.stage import StepResult, timed
from dgas_pipeline.market.lateness import is_late
from dgas_pipeline.market.planner import cycle_due
from dgas_pipeline.notify import deliver, signal_message
from dgas_pipeline.notify.delivery import DeliveryReport
from dgas_pipeline.store import repositories as repo
from dgas_pipeline.store.engine import write_transaction


def notify_cycle(
    services: CycleServices, run: mirror.RunIdentity, signals: pd.DataFrame
) -> StepResult[str]:
    """Send the run's signals and write its final status (the run's last step); the status."""
    with timed("notification_ms") as stage:
        report = notify_signals(services, signals)
    status = mirror.finish(
        services.engine(),
        run,
        services.market,
        services.settings.plan_settings,
        errors=list(report.errors),
        notification_ms=stage.ms,
    )
    return stage.result(
        status,
        status=status,
        sent=report.sent,
        skipped_already_sent=report.skipped,
        stale_not_sent=report.stale,
        failed_channels=sorted(report.failed),
    )


def notify_signals(services: CycleServices, signals: pd.DataFrame) -> DeliveryReport:
    """Each signal once per channel; late (`is_late` from its cycle's due time): logged,
    never sent. Sent signals are marked with their channels."""
    settings, now, tz = services.settings, services.now(), str(services.market.tz)
    messages = [
        signal_message(row, stale=is_late_signal(row["signal_timestamp"], now, settings), tz=tz)
        for row in signals.to_dict("records")
    ]
    engine = services.engine()
    report = deliver(engine, messages, settings.notifications, services.secret)
    ids = {m.message_key: m.signal_id for m in messages}
    with write_transaction(engine) as conn:
        repo.mark_signals_notified(
            conn,
            {
                ids[key]: names
                for key, names in report.delivered.items()
                if ids.get(key) is not None
            },
        )
    return report


def is_late_signal(signal_time: datetime, now: datetime, settings: SchedulerConfig) -> bool:
    """Too late to send: more than `stale_after_minutes` past its cycle's due time. A signal
    is stamped with its trading bar's end, which is the end of the cycle that found it."""
    due = cycle_due(signal_time, settings.plan_settings)
    return is_late(due, now, timedelta(minutes=settings.stale_after_minutes))
