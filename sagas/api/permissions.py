"""Who may read and act on sagas through the API: the same permissions as the admin asks for.

Reading needs what the admin's saga list needs (staff, and the view or change permission on
the model); each action also needs the permission of the admin action of the same name, taken
from the admin's own table of operations so the two can never disagree.
"""

from typing import Any

from django.contrib.auth import get_permission_codename
from django.db.models import Model
from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from sagas.admin.operations import OPERATIONS, Operation
from sagas.models import SagaInstance


def view_permission_of(model: type[Model]) -> str:
    """The model's view permission as `app_label.codename`, e.g. sagas.view_sagainstance."""
    return f"{model._meta.app_label}.{get_permission_codename('view', model._meta)}"


def staff_may_view(user: Any, model: type[Model]) -> bool:
    """Whether the admin would show this user the model's rows: active staff with view or change."""
    if not (user and user.is_authenticated and user.is_active and user.is_staff):
        return False
    change = f"{model._meta.app_label}.{get_permission_codename('change', model._meta)}"
    return user.has_perm(view_permission_of(model)) or user.has_perm(change)


class CanViewSagas(BasePermission):
    """Staff who may see sagas in the admin."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        if not (user and user.is_authenticated and user.is_staff):
            self.message = _("Only staff may see sagas.")
            return False
        self.message = _("You need the %(permission)s permission to see sagas.") % {
            "permission": view_permission_of(SagaInstance)
        }
        return staff_may_view(user, SagaInstance)


class HasSagaActionPermission(CanViewSagas):
    """Staff who may see sagas and hold the permission of the view's `operation`, as in the admin."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        # An action's permission never stands in for seeing the saga it acts on.
        if not super().has_permission(request, view):
            return False
        operation: Operation = OPERATIONS[view.operation]  # type: ignore[attr-defined]
        self.message = _("You need the %(permission)s permission for this action.") % {"permission": operation.perm}
        return operation.allowed_for(request.user)
