"""Admin lists and searches that show and accept a customer's username, though rows store the user's id."""

from collections.abc import Callable
from typing import Any

from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy

from sagas.admin.tools import ReadOnlyAdmin
from sagas.participant import customers

# Set on each row of a list page, so the column costs one query per page, not one per row.
_NAME = "_customer_name"


class CustomerNamesChangeList(ChangeList):
    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        key_of: Callable[[Any], str] = self.model_admin.customer_key_of
        names = customers.customer_names(key_of(row) for row in self.result_list)
        for row in self.result_list:
            setattr(row, _NAME, names[key_of(row)])


class CustomerAdmin(ReadOnlyAdmin):
    """A read-only admin whose rows belong to a customer: a `customer_name` column, search by username."""

    # The row's stored customer key.
    customer_lookup = "customer"

    def customer_key_of(self, row: Any) -> str:
        value = row
        for part in self.customer_lookup.split("__"):
            value = getattr(value, part)
        return str(value)

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return CustomerNamesChangeList

    @admin.display(description=gettext_lazy("customer"))
    def customer_name(self, row: Any) -> str:
        return getattr(row, _NAME, None) or customers.customer_name(self.customer_key_of(row))

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str) -> tuple[QuerySet, bool]:
        """The fields the admin searches exactly, or the customer by username (or a deleted user's old name)."""
        found, distinct = super().get_search_results(request, queryset, search_term)
        keys = customers.customer_search_keys(search_term)
        if not keys:
            return found, distinct
        return found | queryset.filter(Q(**{f"{self.customer_lookup}__in": keys})), distinct
