"""The permission pickers of the user and group pages, in the reader's language.

Django stores a permission's name once, in English, when it migrates ("Can add order",
"Can retry a failed saga") and shows it as stored. The pickers here name each permission
in the active language instead: Django's four model permissions from their action and the
model's translated name, the apps' own by their name's translation (msgids marked where the
permission is declared). Nothing stored changes.
"""

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, Permission, User
from django.db.models import ManyToManyField
from django.forms import ModelMultipleChoiceField
from django.http import HttpRequest
from django.utils.text import capfirst
from django.utils.translation import gettext, gettext_lazy

# Django's default permissions, by the first word of their codename.
_DEFAULT_ACTIONS = {
    "add": gettext_lazy("Can add %(model)s"),
    "change": gettext_lazy("Can change %(model)s"),
    "delete": gettext_lazy("Can delete %(model)s"),
    "view": gettext_lazy("Can view %(model)s"),
}


def permission_label(permission: Permission) -> str:
    """ "app | model | permission", each part in the active language."""
    model = permission.content_type.model_class()
    if model is None:  # a model removed since: its stored words are all there is
        return str(permission)
    action, _, rest = permission.codename.partition("_")
    if action in _DEFAULT_ACTIONS and rest == model._meta.model_name:
        name = _DEFAULT_ACTIONS[action] % {"model": model._meta.verbose_name}
    else:
        name = gettext(permission.name)
    app = model._meta.app_config.verbose_name
    return f"{capfirst(app)} | {capfirst(model._meta.verbose_name)} | {name}"


class _TranslatedPermissions:
    """Admin mixin: the permissions field lists each permission by its translated label."""

    def formfield_for_manytomany(self, db_field: ManyToManyField, request: HttpRequest, **kwargs: Any) -> Any:
        field = super().formfield_for_manytomany(db_field, request, **kwargs)  # type: ignore[misc]
        if isinstance(field, ModelMultipleChoiceField) and field.queryset.model is Permission:
            field.label_from_instance = permission_label
        return field


class TranslatedUserAdmin(_TranslatedPermissions, UserAdmin):
    pass


class TranslatedGroupAdmin(_TranslatedPermissions, GroupAdmin):
    pass


def install() -> None:
    """Put the translating admins in place of Django's own for users and groups."""
    for model, model_admin in ((User, TranslatedUserAdmin), (Group, TranslatedGroupAdmin)):
        if admin.site.is_registered(model):
            admin.site.unregister(model)
        admin.site.register(model, model_admin)
