"""Dagster glue only: every body here calls market/, data/, analysis/, notify/ or store/."""
