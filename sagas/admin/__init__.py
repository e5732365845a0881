"""The operations console: saga list and page, operator actions, overview, faults, history."""

from sagas.admin import faults, records, saga

__all__ = ["faults", "records", "saga"]
