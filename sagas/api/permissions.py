"""Who may read and act on sagas through the API: the same rules as the admin."""

from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView


class IsStaff(BasePermission):
    """Staff only, as for the admin site."""

    message = "Only staff may see sagas."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return bool(request.user and request.user.is_authenticated and request.user.is_staff)


class HasSagaActionPermission(IsStaff):
    """Staff holding the view's `action_permission` (e.g. sagas.retry_saga), as the admin action needs."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        if not super().has_permission(request, view):
            return False
        permission = view.action_permission  # type: ignore[attr-defined]
        self.message = f"You need the {permission} permission for this action."
        return request.user.has_perm(permission)
