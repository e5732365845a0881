from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from orders import preference_views
from sagaproject import permission_labels

# The console wears the product's name, not Django's.
admin.site.site_header = _("Sagas for Django")
admin.site.site_title = _("Sagas for Django")
admin.site.index_title = _("Saga operations console")
# The user and group pages name permissions in the reader's language.
permission_labels.install()

urlpatterns = [
    path("i18n/setlang/", preference_views.set_language, name="set_language"),
    path("admin/", admin.site.urls),
    path("api/", include("sagaproject.api_urls")),
    path("", include("sagas.ops.urls")),
    path("", include("orders.urls")),
]
