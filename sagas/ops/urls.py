"""Operational endpoints: metrics and health."""

from django.urls import path

from sagas.ops import views as ops_views

urlpatterns = [
    path("metrics", ops_views.metrics_view, name="metrics"),
    path("healthz", ops_views.healthz_view, name="healthz"),
]
