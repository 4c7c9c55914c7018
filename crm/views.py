"""Public operational endpoints (`/health`, `/version`, `/readyz`) and the error views for
what Django answers itself (unknown routes, a refused host, a 500)."""

import datetime as dt
import logging

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET

from crm.errors import CRMError, error_response, internal_error

logger = logging.getLogger("crm.views")


@csrf_exempt  # a POST is a 405 like any wrong method, not a CSRF refusal
@require_GET
def health(request: HttpRequest) -> HttpResponse:
    """Liveness: the process answers. Never touches the database."""
    return HttpResponse("healthy", content_type="text/plain")


@csrf_exempt  # a POST is a 405 like any wrong method, not a CSRF refusal
@require_GET
def version(request: HttpRequest) -> JsonResponse:
    now = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return JsonResponse({"version": settings.VERSION, "requestDate": now})


@csrf_exempt  # a POST is a 405 like any wrong method, not a CSRF refusal
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness: 200 when the database answers `SELECT 1`, 503 otherwise (fast: the connect
    timeout is bounded in settings)."""
    checks: dict[str, dict] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        checks["database"] = {"status": "up"}
        status = 200
    except Exception as exc:  # any failure means "not ready"
        logger.warning("readiness check failed: %s", type(exc).__name__)
        checks["database"] = {"status": "down"}
        status = 503
    return JsonResponse(
        {
            "status": "healthy" if status == 200 else "unhealthy",
            "checks": checks,
            "version": settings.VERSION,
        },
        status=status,
    )


def route_not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return error_response(CRMError("CRM-0903"))


def bad_request(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    """Django-level 400s (e.g. a disallowed Host header) in the error shape."""
    return error_response(CRMError("CRM-0015", "The request could not be accepted."))


def forbidden(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return error_response(CRMError("CRM-0902"))


def server_error(request: HttpRequest) -> JsonResponse:
    return error_response(internal_error())
