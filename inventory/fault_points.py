"""The inventory service's fault points: where an operator may make its operations misbehave on purpose.

Each operation in `inventory.services` passes its point before and after its effect
(`sagas.participant.faults.inject`); InventoryConfig.ready() registers them, so the admin's fault
rules offer them and the engine names no operation of this service.
"""

from enum import StrEnum


class InventoryFault(StrEnum):
    STOCK_RESERVE = "inventory.stock_reserve"
    RESERVATION_RELEASE = "inventory.reservation_release"
    RESERVATION_COMMIT = "inventory.reservation_commit"
    STOCK_RETURN = "inventory.stock_return"
