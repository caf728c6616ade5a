"""The session's end: the EOD consolidation asset and its job, partitioned by session."""
