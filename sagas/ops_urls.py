"""Operational endpoints: metrics and health."""

urlpatterns: list = []
