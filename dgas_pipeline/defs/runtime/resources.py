"""The resources of a deployment, chosen in one place: one per service.

- `location`: the config and the exchange clock (settings and market);
- `database`: our tables (`DGAS_DATABASE_URL` as an `EnvVar` when set);
- `providers`: the bar provider chain (the Polygon key as an `EnvVar` when the chain uses it);
- `io_manager`: frames between assets, as Parquet under the instance's storage.

Secrets reach the pipeline only as `dagster.EnvVar`: Dagster then records the variable's
NAME in run config and the UI, never its value. A secret is only wired in when the config
needs it, so the embedded default starts with no environment at all. Channel URLs name
their secrets as `${NAME}`, read at delivery time (`secrets.read_secret`).
"""

import os

import dagster as dg
from sqlalchemy.engine import Engine

from dgas_pipeline.cycle.services import CycleServices
from dgas_pipeline.data.provider import BarProvider
from dgas_pipeline.defs.automation.workers import record_worker
from dgas_pipeline.defs.runtime.io_manager import ParquetIOManager
from dgas_pipeline.defs.runtime.runs import is_mirrored
from dgas_pipeline.location import Location
from dgas_pipeline.secrets import provider_key_name
from dgas_pipeline.store.engine import DATABASE_URL_ENV

LocationParam = dg.ResourceParam[Location]
"""An asset's or op's `location` resource: the config and the exchange clock."""


class DatabaseResource(dg.ConfigurableResource):
    """Our tables: `url` is `DGAS_DATABASE_URL` when set, else the config's, else SQLite in
    DAGSTER_HOME (`Location.database_url`)."""

    location: dg.ResourceDependency[Location]
    url: str | None = None

    def engine(self) -> Engine:
        return self.location.engine(_value(self.url))

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        """Every step of our jobs opens the database: as it starts, the run records its
        worker process, so a worker killed mid-run is found dead instead of leaving the run
        STARTED (`automation/workers.py`)."""
        run = context.run
        if run is not None and context.instance is not None and is_mirrored(run):
            record_worker(context.instance, run)


class ProvidersResource(dg.ConfigurableResource):
    """The configured bar provider chain; `api_key` is the Polygon key when the chain uses it."""

    location: dg.ResourceDependency[Location]
    api_key: str | None = None

    def chain(self) -> list[BarProvider]:
        """A fresh chain: close it after use."""
        return self.location.providers(_value(self.api_key))


def cycle_services(
    location: Location, database: DatabaseResource, providers: ProvidersResource | None = None
) -> CycleServices:
    """The cycle services of one step, on the values Dagster resolved for its resources."""
    return CycleServices(
        location,
        database_url=_value(database.url),
        api_key=_value(providers.api_key) if providers is not None else None,
    )


def build_resources(location: Location) -> dict[str, object]:
    """Resources for the embedded default and for production alike; env decides the rest."""
    home = os.environ.get("DAGSTER_HOME") or os.path.join(os.getcwd(), ".dagster_home")
    key_name = provider_key_name(location.config)
    return {
        "location": location,
        "database": DatabaseResource(
            location=location,
            url=dg.EnvVar(DATABASE_URL_ENV) if os.environ.get(DATABASE_URL_ENV) else None,
        ),
        "providers": ProvidersResource(
            location=location, api_key=dg.EnvVar(key_name) if key_name else None
        ),
        "io_manager": ParquetIOManager(base_dir=os.path.join(home, "storage", "frames")),
    }


def _value(field: str | None) -> str | None:
    """A field's value, also on the resource as defined (`defs.resources[...]`, used outside a
    run), where Dagster has not yet replaced an `EnvVar` by its value."""
    return field.get_value() if isinstance(field, dg.EnvVar) else field
