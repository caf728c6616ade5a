"""`python -m dgas_pipeline.cli`: the `dgas` command without its console script."""

from dgas_pipeline.cli.main import run

run()
