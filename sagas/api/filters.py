"""Query filters of the staff saga list."""

from datetime import UTC, datetime

import django_filters
from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_filters.fields import IsoDateTimeField

from sagas.api.toolkit.fields import RequiredTextFilter
from sagas.models import SagaInstance, SagaStatus, SagaStyle


class NoBlankValuesForm(forms.Form):
    """A filter given with an empty value (`?status=`) is an error, not silently no filter."""

    def clean(self) -> dict:
        cleaned = super().clean()
        for name in self.fields:
            if name in self.data and not str(self.data.get(name, "")).strip():
                self.add_error(name, _("Give a value, or leave the parameter out."))
        return cleaned


class UtcIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 time, turned to UTC before it reaches the database.

    Python accepts offsets up to a day (`+20:50`), PostgreSQL only up to about sixteen hours;
    in UTC every accepted time is one the database can compare.
    """

    def to_python(self, value: object) -> datetime | None:
        parsed = super().to_python(value)
        if parsed is None:
            return None
        try:
            return parsed.astimezone(UTC)
        except OverflowError:
            raise forms.ValidationError(_("The time is out of range."), code="invalid") from None


class UtcIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField


class SagaFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=SagaStatus.choices)
    type = RequiredTextFilter(field_name="definition_name", help_text=gettext_lazy("Saga definition name, e.g. order."))
    style = django_filters.ChoiceFilter(choices=SagaStyle.choices)
    created_after = UtcIsoDateTimeFilter(
        field_name="created_at", lookup_expr="gte", help_text=gettext_lazy("Created at or after this ISO 8601 time.")
    )
    created_before = UtcIsoDateTimeFilter(
        field_name="created_at", lookup_expr="lt", help_text=gettext_lazy("Created before this ISO 8601 time.")
    )

    class Meta:
        model = SagaInstance
        fields = ["status", "type", "style", "created_after", "created_before"]
        form = NoBlankValuesForm
