"""Confirmation pages and execution of operator actions, for one saga or a selection.

Every action goes the same way: check the permission, show a page that says what will
happen and asks for a reason, then call the engine's service, which writes the audit row.
A refusal becomes a message on the page the operator came from, never an error page.
"""

import json
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from sagas.admin.operations import OPERATIONS, Operation
from sagas.admin.tools import saga_title, saga_where
from sagas.engine.styles import OperatorAction
from sagas.errors import ActionNotAllowed, SagaNotFound
from sagas.models import SagaInstance

MAX_BULK = 500


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        widget=forms.Textarea(attrs={"rows": 3, "cols": 80}),
        max_length=1000,
        help_text=gettext_lazy("Required. Kept in the saga's audit record with your name and the time."),
    )


class EditInputForm(ReasonForm):
    new_input = forms.CharField(
        label=gettext_lazy("New input (JSON)"),
        widget=forms.Textarea(attrs={"rows": 14, "cols": 80, "style": "font-family: monospace"}),
    )

    def clean_new_input(self) -> dict[str, Any]:
        try:
            value = json.loads(self.cleaned_data["new_input"])
        except json.JSONDecodeError as error:
            raise forms.ValidationError(_("Not valid JSON: %(error)s") % {"error": error}) from None
        if not isinstance(value, dict):
            raise forms.ValidationError(_("The input must be a JSON object."))
        return value


def _form_class(operation: Operation) -> type[ReasonForm]:
    return EditInputForm if operation.name == OperatorAction.EDIT_INPUT else ReasonForm


def _actor(request: HttpRequest) -> str:
    return request.user.get_username()


def _run(model_admin: Any, request: HttpRequest, operation: Operation, saga: SagaInstance, form: ReasonForm) -> bool:
    """Run the operation on one saga; a refusal becomes an error message. True on success."""
    kwargs: dict[str, Any] = {"actor": _actor(request), "reason": form.cleaned_data["reason"]}
    if operation.name == OperatorAction.EDIT_INPUT:
        kwargs["new_input"] = form.cleaned_data["new_input"]
    try:
        operation.service(saga.pk, **kwargs)
    except (ActionNotAllowed, SagaNotFound) as refusal:
        messages.error(
            request,
            _("%(action)s refused for saga %(saga)s: %(refusal)s")
            % {"action": operation.label, "saga": saga.pk, "refusal": refusal},
        )
        return False
    model_admin.log_change(request, saga, f"{operation.label}: {kwargs['reason']}")
    return True


def _confirmation(
    model_admin: Any,
    request: HttpRequest,
    operation: Operation,
    sagas: list[SagaInstance],
    form: ReasonForm,
    bulk: bool,
) -> TemplateResponse:
    plans = [(saga, operation.explain(saga)) for saga in sagas]
    for saga, plan in plans:
        plan.title, plan.where = saga_title(saga), saga_where(saga)
    context = {
        **model_admin.admin_site.each_context(request),
        "title": _("%(action)s: are you sure?") % {"action": operation.label},
        "opts": model_admin.model._meta,
        "operation": operation,
        "plans": plans,
        "runnable": sum(1 for _, plan in plans if not plan.refusal),
        "form": form,
        "bulk": bulk,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "changelist_url": reverse("admin:sagas_sagainstance_changelist"),
    }
    return TemplateResponse(request, "admin/sagas/sagainstance/operate_confirm.html", context)


def operate_view(model_admin: Any, request: HttpRequest, object_id: str, operation_name: str) -> HttpResponse:
    """The confirmation page (GET) and the execution (POST) of one action on one saga."""
    operation = OPERATIONS.get(operation_name)
    if operation is None:
        raise Http404(_("No operator action named %(name)r.") % {"name": operation_name})
    saga = model_admin.get_object(request, object_id)
    if saga is None:
        return model_admin._get_obj_does_not_exist_redirect(request, model_admin.model._meta, object_id)
    # An action's permission never stands in for seeing the saga it acts on.
    if not model_admin.has_view_or_change_permission(request, saga) or not operation.allowed_for(request.user):
        raise PermissionDenied(_("You may not %(action)s.") % {"action": str(operation.label).lower()})
    change_url = reverse("admin:sagas_sagainstance_change", args=[saga.pk])
    form_class = _form_class(operation)
    if request.method == "POST":
        form = form_class(request.POST)
        if form.is_valid():
            if _run(model_admin, request, operation, saga, form):
                messages.success(
                    request, _("%(action)s: done for saga %(saga)s.") % {"action": operation.label, "saga": saga.pk}
                )
            return HttpResponseRedirect(change_url)
    else:
        initial = {}
        if operation.name == OperatorAction.EDIT_INPUT:
            initial["new_input"] = json.dumps(saga.context.get("input", {}), indent=2, sort_keys=True)
        form = form_class(initial=initial)
    return _confirmation(model_admin, request, operation, [saga], form, bulk=False)


def bulk_operate(model_admin: Any, request: HttpRequest, queryset: QuerySet, operation_name: str) -> Any:
    """A list action: confirm for the selected sagas, then run on each, reporting refusals."""
    operation = OPERATIONS[operation_name]
    if not operation.allowed_for(request.user):
        raise PermissionDenied(_("You may not %(action)s.") % {"action": str(operation.label).lower()})
    sagas = list(queryset.order_by("-created_at")[: MAX_BULK + 1])
    if len(sagas) > MAX_BULK:
        messages.error(request, _("Select at most %(count)d sagas for one action.") % {"count": MAX_BULK})
        return None
    if not operation.bulk:
        if len(sagas) != 1:
            messages.error(
                request, _("%(action)s works on one saga at a time; select exactly one.") % {"action": operation.label}
            )
            return None
        return HttpResponseRedirect(reverse("admin:sagas_sagainstance_operate", args=[sagas[0].pk, operation.name]))
    form = ReasonForm(request.POST if request.POST.get("confirmed") == "yes" else None)
    if not form.is_bound or not form.is_valid():
        return _confirmation(model_admin, request, operation, sagas, form, bulk=True)
    done = sum(1 for saga in sagas if _run(model_admin, request, operation, saga, form))
    if done:
        messages.success(
            request,
            _("%(action)s: done for %(done)d of %(count)d saga(s).")
            % {"action": operation.label, "done": done, "count": len(sagas)},
        )
    return None
