"""REST API routes, the OpenAPI schema and its interactive docs (assets served locally)."""

from django.urls import include, path, re_path, resolve
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.views import APIView

from sagaproject.api_auth import TokenObtainApi

app_name = "api"


class ApiNotFound(APIView):
    """Any other path under /api/: a JSON 404 rather than the site's HTML page."""

    permission_classes = [AllowAny]
    schema = None

    def http_method_not_allowed(self, request: Request, *args: object, **kwargs: object):  # type: ignore[override]
        if not request.path.endswith("/") and resolve(request.path + "/").url_name != "not-found":
            raise NotFound(f"No such API endpoint; API paths end with a slash: {request.path}/")
        raise NotFound("No such API endpoint; see /api/docs/.")


urlpatterns = [
    path("", include("orders.api.urls")),
    path("", include("inventory.api.urls")),
    path("", include("sagas.api.urls")),
    path("token/", TokenObtainApi.as_view(), name="token"),
    path("schema/", SpectacularAPIView.as_view(permission_classes=[AllowAny]), name="schema"),
    path(
        "docs/",
        SpectacularSwaggerView.as_view(url_name="api:schema", permission_classes=[AllowAny]),
        name="docs",
    ),
    re_path(r"^.*$", ApiNotFound.as_view(), name="not-found"),
]
