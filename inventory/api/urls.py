"""Product API routes."""

from django.urls import path

from inventory.api import views

urlpatterns = [
    path("products/", views.ProductListApi.as_view(), name="product-list"),
]
