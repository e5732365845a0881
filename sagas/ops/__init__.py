"""Operations: metrics, health checks, timelines, totals, structured logging and their views."""
