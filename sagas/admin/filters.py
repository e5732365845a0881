"""List filters for the saga list that answer from indexes and never query for their choices."""

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from sagas import selectors
from sagas.engine.definition import definition_title, registered_names


class SagaTypeFilter(admin.SimpleListFilter):
    """By saga definition; the choices come from the registry, not a DISTINCT over the table."""

    title = gettext_lazy("saga type")
    parameter_name = "type"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [(name, definition_title(name)) for name in registered_names()]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value():
            return queryset.filter(definition_name=self.value())
        return queryset


class StuckFilter(admin.SimpleListFilter):
    """In progress but not moving: the lease ran out or the deadline passed."""

    title = gettext_lazy("stuck")
    parameter_name = "stuck"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("yes", _("Stuck (lease expired or past deadline)"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "yes":
            return queryset.filter(selectors.stuck_condition())
        return queryset


class NeedsAttentionFilter(admin.SimpleListFilter):
    """FAILED and not yet marked resolved by a person."""

    title = gettext_lazy("needs attention")
    parameter_name = "attention"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("yes", _("Failed, not resolved"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "yes":
            return queryset.filter(selectors.needs_attention_condition())
        return queryset
