"""Notifications: messages, channels (console or apprise) and idempotent delivery.

Knows nothing of Dagster: the caller passes an engine, the settings and a secret resolver
(the Dagster layer's reads `EnvVar`s), and turns the `DeliveryReport` into run status.

Names are imported on first use (`lazy_exports`): the config reads `notify.settings` without
paying for delivery (SQLAlchemy) and messages (the analysis stack).
"""

from __future__ import annotations

from dgas_pipeline.lazy_exports import lazy_exports

_EXPORTS = {
    "DeliveryReport": "delivery",
    "backoff_delay": "delivery",
    "deliver": "delivery",
    "Message": "messages",
    "eod_message": "messages",
    "signal_message": "messages",
    "ChannelSettings": "settings",
    "NotificationSettings": "settings",
    "parse_notification_settings": "settings",
}

__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
