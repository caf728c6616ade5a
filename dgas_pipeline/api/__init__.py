"""The watchlist REST API (FastAPI): the same operations as `dgas watchlist`, plus `/status`.

Imports nothing of Dagster: it reads our tables through the store, so it starts in a second
and runs beside the daemon without loading the code location.
"""

from dgas_pipeline.api.app import create_app

__all__ = ["create_app"]
