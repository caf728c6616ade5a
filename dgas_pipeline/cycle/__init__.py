"""The application services of a prediction cycle: plain objects in, plain objects out.

A Dagster asset, a CLI command or a test calls them with a `CycleServices`; they call
`market/`, `data/`, `analysis/`, `alerts/`, `notify/` and `store/`, and keep the run mirror.
Nothing here imports Dagster: the `defs/` layer only wires these steps and shows their
metadata.
"""
