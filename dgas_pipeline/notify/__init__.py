"""Notifications: messages, channels (console or apprise) and idempotent delivery.

Knows nothing of Dagster: the caller passes an engine, the settings and a secret resolver
(the Dagster layer's reads `EnvVar`s), and turns the `DeliveryReport` into run status.
"""

from dgas_pipeline.notify.delivery import DeliveryReport, backoff_delay, deliver
from dgas_pipeline.notify.messages import Message, eod_message, signal_message
from dgas_pipeline.notify.settings import (
    ChannelSettings,
    NotificationSettings,
    parse_notification_settings,
)

__all__ = [
    "ChannelSettings",
    "DeliveryReport",
    "Message",
    "NotificationSettings",
    "backoff_delay",
    "deliver",
    "eod_message",
    "parse_notification_settings",
    "signal_message",
]
