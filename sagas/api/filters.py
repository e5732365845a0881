"""Query filters of the staff saga list."""

import django_filters
from django import forms

from sagas.models import SagaInstance, SagaStatus, SagaStyle


class NoBlankValuesForm(forms.Form):
    """A filter given with an empty value (`?status=`) is an error, not silently no filter."""

    def clean(self) -> dict:
        cleaned = super().clean()
        for name in self.fields:
            if name in self.data and not str(self.data.get(name, "")).strip():
                self.add_error(name, "Give a value, or leave the parameter out.")
        return cleaned


class SagaFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=SagaStatus.choices)
    type = django_filters.CharFilter(field_name="definition_name", help_text="Saga definition name, e.g. order.")
    style = django_filters.ChoiceFilter(choices=SagaStyle.choices)
    created_after = django_filters.IsoDateTimeFilter(
        field_name="created_at", lookup_expr="gte", help_text="Created at or after this ISO 8601 time."
    )
    created_before = django_filters.IsoDateTimeFilter(
        field_name="created_at", lookup_expr="lt", help_text="Created before this ISO 8601 time."
    )

    class Meta:
        model = SagaInstance
        fields = ["status", "type", "style", "created_after", "created_before"]
        form = NoBlankValuesForm
