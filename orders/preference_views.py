"""The Preferences page (language and time zone) and the language switcher every page shows."""

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST
from django.views.i18n import set_language as django_set_language

from orders import preferences


def _language_choices() -> list[tuple[str, str]]:
    return [("", gettext_lazy("The language my browser asks for")), *settings.LANGUAGES]


def _time_zone_choices(saved: str = "") -> list[tuple[str, str]]:
    default = _("The site's time zone (%(zone)s)") % {"zone": settings.TIME_ZONE}
    offered = preferences.offered_time_zones(translation.get_language() or "")
    # A zone saved before that is no longer offered (an old alias) stays choosable, so saving keeps it.
    kept = [saved] if saved and saved not in offered and preferences.is_time_zone(saved) else []
    return [("", default), *((name, name) for name in (*kept, *offered))]


class PreferenceForm(forms.Form):
    language = forms.ChoiceField(label=gettext_lazy("Language"), required=False)
    time_zone = forms.ChoiceField(label=gettext_lazy("Time zone"), required=False)

    def __init__(self, *args: Any, saved_time_zone: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["language"].choices = _language_choices()
        self.fields["time_zone"].choices = _time_zone_choices(saved_time_zone)


@login_required
@require_http_methods(["GET", "POST"])
def preferences_page(request: HttpRequest) -> HttpResponse:
    """Shows and saves the user's language and time zone; staff use it for the console too."""
    saved = preferences.choice_for(request.user.pk, request.session)
    if request.method == "POST":
        form = PreferenceForm(request.POST, saved_time_zone=saved.time_zone)
        if form.is_valid():
            choice = preferences.Choice(**form.cleaned_data)
            preferences.choice_save(request.user.pk, choice, request.session)
            # Said in the language just chosen, as the next page will be.
            if choice.language:
                translation.activate(choice.language)
            messages.success(request, _("Your preferences are saved."))
            return redirect("preferences")
    else:
        form = PreferenceForm(
            initial={"language": saved.language, "time_zone": saved.time_zone}, saved_time_zone=saved.time_zone
        )
    return render(request, "storefront/preferences.html", {"form": form})


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """Django's set_language (the cookie, then back to `next`), and for a logged-in user their
    saved language too, which would otherwise win over the cookie on the next page."""
    response = django_set_language(request)
    language = request.POST.get("language", "")
    if request.user.is_authenticated and preferences.is_language(language):
        preferences.language_save(request.user.pk, language, request.session)
    return response
