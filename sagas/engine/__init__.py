"""The saga engine: definitions, pure transitions, the runner, the queue, recovery, timeouts and schedules."""
