"""What runs need from Dagster's side: resources, the IO manager, loggers, executors."""
