"""Watchlists managed live: the table's repository, the shared service (CLI and REST API),
and the pure schedule the sensor asks what is due. Knows nothing of Dagster."""
