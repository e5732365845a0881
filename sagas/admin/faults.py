"""Fault injection switches in the admin: anyone staff may look, only superusers may change them.

A rule names one of the fault points the participants registered
(sagas.participant.faults.register_fault_points); a rule kept from before its point went away
still shows its point, marked, so it can be switched off or moved.

Where the FAULT_INJECTION setting is off (by default, wherever DEBUG is), the rules stay
visible and editable but fire nowhere, and the pages say so.
"""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from sagas.models import FaultRule
from sagas.participant import faults


@admin.register(FaultRule)
class FaultRuleAdmin(admin.ModelAdmin):
    list_display = ("operation", "phase", "mode", "probability", "delay_seconds", "remaining", "enabled", "created_by")
    list_editable = ("enabled",)
    list_filter = ("enabled", "mode", "operation")
    readonly_fields = ("created_by", "created_at", "updated_at")
    fields = (
        "operation",
        "phase",
        "mode",
        "probability",
        "delay_seconds",
        "remaining",
        "message",
        "enabled",
        "created_by",
        "created_at",
        "updated_at",
    )
    actions = ["disable_selected"]

    def get_form(self, request: HttpRequest, obj: FaultRule | None = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change, **kwargs)
        if "operation" in form.base_fields:
            form.base_fields["operation"] = forms.ChoiceField(
                choices=point_choices(obj.operation if obj else ""),
                label=_("Operation"),
                help_text=_("A fault point one of the participants registered."),
            )
        return form

    def _say_when_switched_off(self, request: HttpRequest) -> None:
        if request.method == "GET" and not faults.injection_allowed():
            messages.warning(
                request,
                _("Fault injection is off on this site (the FAULT_INJECTION setting): these rules fire nowhere."),
            )

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        self._say_when_switched_off(request)
        return super().changelist_view(request, extra_context)

    def changeform_view(
        self, request: HttpRequest, object_id: str | None = None, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        self._say_when_switched_off(request)
        return super().changeform_view(request, object_id, form_url, extra_context)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_superuser

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_superuser

    def save_model(self, request: HttpRequest, obj: FaultRule, form: Any, change: bool) -> None:
        if not change:
            obj.created_by = request.user.get_username()
        super().save_model(request, obj, form, change)
        # Rules are cached per process for a second; this process sees the change at once.
        faults.clear_cache()

    def delete_model(self, request: HttpRequest, obj: FaultRule) -> None:
        super().delete_model(request, obj)
        faults.clear_cache()

    @admin.action(description=gettext_lazy("Switch off the selected fault rules"), permissions=["change"])
    def disable_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        rules = list(queryset.filter(enabled=True))
        for rule in rules:
            rule.enabled = False
            rule.save(update_fields=["enabled", "updated_at"])
            self.log_change(request, rule, _("Switched off"))
        faults.clear_cache()
        messages.success(request, _("Switched off %(count)d fault rule(s).") % {"count": len(rules)})


def point_choices(current: str = "") -> list[tuple[str, str]]:
    """The registered fault points to choose from, and a rule's own point if no participant registers it now."""
    choices = [("", "---------")] + [(point, point) for point in faults.fault_points()]
    if current and current not in faults.fault_points():
        choices.append((current, _("%(point)s (no longer registered)") % {"point": current}))
    return choices
