"""The project's URLs plus a page that always fails, to see the server error page a visitor gets."""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from sagaproject.urls import urlpatterns as project_urlpatterns


def failing_page(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a bug in a view")


urlpatterns = [path("failing-page/", failing_page), *project_urlpatterns]
