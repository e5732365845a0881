"""Storefront pages."""

urlpatterns: list = []
