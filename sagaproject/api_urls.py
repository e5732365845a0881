"""REST API routes, the OpenAPI schema and its interactive docs (assets served locally)."""

from django.http import HttpRequest, JsonResponse
from django.urls import include, path, re_path, resolve
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from sagaproject.api_auth import TokenObtainApi

app_name = "api"

# The root's links to the URL names below; what each one does, the schema and the docs say.
ROOT_LINKS = {
    "products": "api:product-list",
    "orders": "api:order-list",
    "sagas": "api:saga-list",
    "token": "api:token",
    "schema": "api:schema",
    "docs": "api:docs",
}


class ApiRootApi(APIView):
    """The API's endpoints; /api/docs/ describes each one."""

    name = gettext_lazy("API")
    permission_classes = [AllowAny]
    schema = None  # a table of contents, not an operation of the API

    def get(self, request: Request) -> Response:
        return Response({link: reverse(url_name, request=request) for link, url_name in ROOT_LINKS.items()})


@csrf_exempt
def api_not_found(request: HttpRequest, *args: object, **kwargs: object) -> JsonResponse:
    """Any other path under /api/: a JSON 404 rather than the site's HTML page.

    A plain view, not an APIView: the browsable API's breadcrumbs list every APIView that a
    prefix of the path resolves to, and this one answers for all of them.
    """
    if not request.path.endswith("/") and resolve(request.path + "/").url_name != "not-found":
        detail = _("No such API endpoint; API paths end with a slash: %(path)s/") % {"path": request.path}
    else:
        detail = _("No such API endpoint; see /api/docs/.")
    return JsonResponse({"detail": detail}, status=404)


urlpatterns = [
    path("", ApiRootApi.as_view(), name="root"),
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
    re_path(r"^.*$", api_not_found, name="not-found"),
]
