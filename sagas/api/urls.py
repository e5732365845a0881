"""Staff saga API routes; the id is parsed by the view so a malformed one is a JSON 404."""

from django.urls import path

from sagas.api import views

urlpatterns = [
    path("sagas/", views.SagaListApi.as_view(), name="saga-list"),
    path("sagas/<str:saga_id>/", views.SagaDetailApi.as_view(), name="saga-detail"),
    path("sagas/<str:saga_id>/retry/", views.SagaRetryApi.as_view(), name="saga-retry"),
    path("sagas/<str:saga_id>/compensate/", views.SagaCompensateApi.as_view(), name="saga-compensate"),
    path("sagas/<str:saga_id>/resume/", views.SagaResumeApi.as_view(), name="saga-resume"),
]
