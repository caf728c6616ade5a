"""The resources of a deployment, chosen in one place.

Secrets reach the pipeline only as `dagster.EnvVar`: Dagster then records the variable's
NAME in run config and the UI, never its value. A secret is only wired in when the config
needs it, so the embedded default starts with no environment at all.
"""

import os
from functools import lru_cache

import dagster as dg
from sqlalchemy.engine import Engine

from dgas_pipeline.config import SchedulerConfig
from dgas_pipeline.data.fetch import build_providers
from dgas_pipeline.defs.io_manager import ParquetIOManager
from dgas_pipeline.defs.location import load_location
from dgas_pipeline.defs.workers import record_worker
from dgas_pipeline.market import MarketHoursManager
from dgas_pipeline.store.engine import (
    DATABASE_URL_ENV,
    database_url,
    ensure_schema,
    make_engine,
    normalize_url,
)


class PipelineResource(dg.ConfigurableResource):
    """Config, exchange clock, bar providers and our tables, as one run sees them."""

    config_file: str | None = None
    database_url: str | None = None
    polygon_api_key: str | None = None

    def settings(self) -> SchedulerConfig:
        return load_location(self.config_file).config

    def market(self) -> MarketHoursManager:
        return load_location(self.config_file).market

    def engine(self) -> Engine:
        url = _value(self.database_url) or self.settings().database_url or database_url()
        return _migrated_engine(normalize_url(url))

    def providers(self) -> list:
        api_key = _value(self.polygon_api_key)
        return build_providers(self.settings().provider, api_key, self.market())

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        """A run of our jobs records its worker process as it starts, so a worker killed
        mid-run is found dead instead of leaving the run STARTED (defs/workers.py)."""
        from dgas_pipeline.defs.reconcile import MIRRORED_JOBS  # it imports this module

        run = context.dagster_run
        if run is not None and context.instance is not None and run.job_name in MIRRORED_JOBS:
            record_worker(context.instance, run)


def _value(field: str | None) -> str | None:
    """A field's value, also on the resource as defined (`defs.resources[...]`, used by the
    CLI outside a run), where Dagster has not yet replaced an `EnvVar` by its value."""
    return field.get_value() if isinstance(field, dg.EnvVar) else field


def secret(name: str) -> str:
    """A secret by environment variable name, the way Dagster reads it (fails loudly)."""
    return dg.EnvVar(name).get_value() or ""


def provider_api_key(config: SchedulerConfig) -> str | None:
    """The Polygon key, read only when the chain uses Polygon (the default needs no secret)."""
    if "polygon" not in config.provider.chain:
        return None
    return secret(config.provider.polygon_api_key_env)


def build_resources(config: SchedulerConfig) -> dict[str, object]:
    """Resources for the embedded default and for production alike; env decides the rest."""
    home = os.environ.get("DAGSTER_HOME") or os.path.join(os.getcwd(), ".dagster_home")
    pipeline = PipelineResource(
        config_file=os.environ.get("DGAS_CONFIG"),
        database_url=dg.EnvVar(DATABASE_URL_ENV) if os.environ.get(DATABASE_URL_ENV) else None,
        polygon_api_key=(
            dg.EnvVar(config.provider.polygon_api_key_env)
            if "polygon" in config.provider.chain
            else None
        ),
    )
    return {
        "pipeline": pipeline,
        "io_manager": ParquetIOManager(base_dir=os.path.join(home, "storage", "frames")),
    }


@lru_cache(maxsize=8)
def _migrated_engine(url: str) -> Engine:
    ensure_schema(url)
    return make_engine(url)
