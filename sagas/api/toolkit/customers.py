"""The API shows a customer by username, though rows store the user's id (sagas.participant.customers)."""

from typing import Any

from django.utils.translation import gettext_lazy
from rest_framework import serializers

from sagas.participant import customers

_NAMES = "customer_names"


class CustomerNameField(serializers.CharField):
    """A stored customer key, shown as the customer's current username."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("help_text", gettext_lazy("The customer's username."))
        super().__init__(**kwargs)

    def to_representation(self, value: Any) -> str:
        names = self.context.get(_NAMES) or {}
        return names.get(value) or customers.customer_name(str(value))


class CustomerNamesList(serializers.ListSerializer):
    """A page of rows whose customers' usernames are read in one query, not one per row."""

    def to_representation(self, data: Any) -> list[Any]:
        items = list(data.all() if hasattr(data, "all") else data)
        # The attribute that holds the key: `customer` on an order, `party` on a saga.
        named = [f.source for f in self.child.fields.values() if isinstance(f, CustomerNameField)]
        attribute = named[0] if named else "customer"
        self.context[_NAMES] = customers.customer_names(str(getattr(item, attribute, "")) for item in items)
        return super().to_representation(items)
