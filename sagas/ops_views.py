"""The operational endpoints: /metrics for Prometheus and /healthz for probes and alerts.

Both are unauthenticated by design (scrapers and probes carry no session); set METRICS_TOKEN
to require a bearer token on /metrics, and restrict both at the proxy (see README "Monitoring").
"""

import hmac

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from sagas.healthz import health_report
from sagas.metrics import render_metrics


def _token_accepted(request: HttpRequest) -> bool:
    expected = settings.METRICS_TOKEN
    if not expected:
        return True
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    return hmac.compare_digest(given.encode(), expected.encode())


@never_cache
@require_safe
def metrics_view(request: HttpRequest) -> HttpResponse:
    """Saga, step, queue and worker figures in Prometheus text format."""
    if not _token_accepted(request):
        response = HttpResponse("A valid bearer token is required.\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    # The classic text format (0.0.4), which every Prometheus version reads.
    return HttpResponse(render_metrics(), content_type=CONTENT_TYPE_PLAIN_0_0_4)


@never_cache
@require_safe
def healthz_view(request: HttpRequest) -> JsonResponse:
    """200 with the checks when every database and a worker cluster are fine; 503 naming what failed."""
    healthy, body = health_report()
    return JsonResponse(body, status=200 if healthy else 503)
