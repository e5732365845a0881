from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("sagaproject.api_urls")),
    path("", include("sagas.ops_urls")),
    path("", include("orders.urls")),
]
