"""Worker processes: the supervised cluster, its heartbeat and the self-healing of stuck tasks."""
