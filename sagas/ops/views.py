"""The operational endpoints: /metrics for Prometheus and /healthz for probes and alerts.

Both answer without a session (scrapers and probes carry none); set METRICS_TOKEN to require a
bearer token on /metrics. /healthz tells anyone the status, and what each check found only to
staff or to that token. Restrict both at the proxy as well (see README "Monitoring").
"""

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from sagas.ops.healthz import bearer_token_matches, health_report_for
from sagas.ops.metrics import render_metrics


def _token_accepted(request: HttpRequest) -> bool:
    expected = settings.METRICS_TOKEN
    return not expected or bearer_token_matches(request, expected)


@never_cache
@require_safe
def metrics_view(request: HttpRequest) -> HttpResponse:
    """Saga, step, queue and worker figures in Prometheus text format."""
    if not _token_accepted(request):
        response = HttpResponse(_("A valid bearer token is required.") + "\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    # The classic text format (0.0.4), which every Prometheus version reads.
    return HttpResponse(render_metrics(), content_type=CONTENT_TYPE_PLAIN_0_0_4)


@never_cache
@require_safe
def healthz_view(request: HttpRequest) -> JsonResponse:
    """200 when every database and a worker cluster are fine, 503 otherwise; the checks for staff or the token."""
    healthy, body = health_report_for(request)
    return JsonResponse(body, status=200 if healthy else 503)
