"""Storefront pages, at the site root."""

from django.urls import path

from orders import auth_views, preference_views, views

urlpatterns = [
    path("", views.catalog, name="catalog"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("preferences/", preference_views.preferences_page, name="preferences"),
    path("orders/", views.order_list, name="order_list"),
    path("orders/new/", views.order_create, name="order_create"),
    path("orders/<uuid:order_id>/", views.order_detail, name="order_detail"),
    path("orders/<uuid:order_id>/progress/", views.order_progress, name="order_progress"),
    path("orders/<uuid:order_id>/cancel/", views.order_cancel, name="order_cancel"),
]
