"""Order API routes; the id is parsed by the view so a malformed one is a JSON 404."""

from django.urls import path

from orders.api import views

urlpatterns = [
    path("orders/", views.OrderListPlaceApi.as_view(), name="order-list"),
    path("orders/<str:order_id>/", views.OrderDetailApi.as_view(), name="order-detail"),
    path("orders/<str:order_id>/cancel/", views.OrderCancelApi.as_view(), name="order-cancel"),
    path("orders/<str:order_id>/cancellation/", views.OrderCancellationApi.as_view(), name="order-cancellation"),
]
