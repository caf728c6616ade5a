"""The prediction cycle as assets, checks and a job: bars -> indicators -> signals ->
notifications, and alerts, partitioned by the planner's cycle bars."""
