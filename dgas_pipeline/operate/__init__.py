"""Clients of the Dagster instance: run-once, backfill and status, on the code location
loaded in this process. The CLI imports these lazily: `dgas plan` and `dgas calendar` stay
free of Dagster's import cost."""
