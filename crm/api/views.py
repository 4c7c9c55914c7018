"""Public operational endpoints (`/health`, `/version`, `/readyz`) and the error views for
what Django answers itself (unknown routes, a refused host, a 500): the API's JSON error shape,
except inside `/admin/`, where staff get an HTML page in the admin's look."""

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import Error as DatabaseFailure
from django.db import connection
from django.db.utils import load_backend
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET

from crm.access import access_manager
from crm.admin.errors import admin_error_page, is_admin_path
from crm.api.errors import CRMError, error_response, internal_error
from crm.crypto import keycheck

logger = logging.getLogger("crm.api.views")


@csrf_exempt  # a POST is a 405 like any wrong method, not a CSRF refusal
@require_GET
def health(request: HttpRequest) -> HttpResponse:
    """Liveness: the process answers. Never touches the database, nor does any middleware on
    its path (sessions, messages and the user are lazy; nothing here reads them), so it answers
    while the database is down or frozen (tests/test_frozen_database.py)."""
    return HttpResponse("healthy", content_type="text/plain")


@csrf_exempt  # a POST is a 405 like any wrong method, not a CSRF refusal
@require_GET
def version(request: HttpRequest) -> JsonResponse:
    now = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return JsonResponse({"version": settings.VERSION, "requestDate": now})


# The readiness probe's own bounds: libpq's shortest connect timeout (2 s), then 1 s for the
# answer. A frozen database is reported down in about 2 s.
READINESS_CONNECT_TIMEOUT_SECONDS = 2
READINESS_QUERY_TIMEOUT_SECONDS = 1


def probe_database(then: Callable[[Any], Any] | None = None) -> Any:
    """`SELECT 1` on a connection of its own, opened and closed here with the tight bounds
    above; never the request thread's persistent connection, whose health check and reconnect
    follow the (longer) application bounds. `then(cursor)` runs on the same connection (the
    outbox backlog, for `/readyz` and for a metrics scrape: `events.metrics`) and its result is
    returned."""
    settings_dict = {**connection.settings_dict, "OPTIONS": {**connection.settings_dict["OPTIONS"]}}
    if connection.vendor == "postgresql":
        settings_dict["OPTIONS"]["connect_timeout"] = READINESS_CONNECT_TIMEOUT_SECONDS
        settings_dict["OPTIONS"]["client_timeout"] = READINESS_QUERY_TIMEOUT_SECONDS
    probe = load_backend(settings_dict["ENGINE"]).DatabaseWrapper(settings_dict, connection.alias)
    try:
        with probe.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
            return then(cursor) if then else None
    finally:
        probe.close()


_keys_verified = False


def _keys_read_the_data() -> bool:
    """The configured keys read the key check row (`crm.crypto.keycheck`): asked until it once
    succeeds (keys do not change while a process runs), so a healthy service pays nothing."""
    global _keys_verified
    for attempt in (1, 2):
        if _keys_verified:
            break
        try:
            _keys_verified = keycheck.key_state().ok
        except Exception as exc:  # the database went away since the probe: not ready
            logger.warning("key check failed: %s", type(exc).__name__)
            # This thread's connection may be one an outage broke while the probe's own
            # connection is fresh: drop it and ask once more on a new one.
            connection.close()
            if attempt == 2:
                return False
    return _keys_verified


@csrf_exempt  # a POST is a 405 like any wrong method, not a CSRF refusal
@require_GET
def readyz(
    request: HttpRequest, details: dict[str, Callable[[Any], dict | None]] | None = None
) -> JsonResponse:
    """Readiness: 200 when the database answers `SELECT 1`, 503 when it fails (any of Django's
    database errors), within about 2 s whatever the database does (down, refusing, or frozen:
    see `probe_database`). Anything else is a bug in the probe and stays a 500. `auth` says
    which access-control mode is in force (no secret); the Access Manager is not probed, so
    its outage fails `/v1` calls closed (503 CRM-0908) without taking the pods out of service.
    `details` ({name: check(cursor)}, given by the URL configuration) add sections read on the
    probe's connection, e.g. the change events' backlog; a check returning None is left out,
    and none of them can make the service unready."""

    def read_details(cursor) -> dict[str, dict]:
        found = {name: check(cursor) for name, check in (details or {}).items()}
        return {name: section for name, section in found.items() if section is not None}

    checks: dict[str, dict] = {}
    try:
        sections = probe_database(read_details)
        checks["database"] = {"status": "up"}
        checks.update(sections)
        status = 200
    except DatabaseFailure as exc:  # what the database did (Django wraps the driver's errors)
        logger.warning("readiness check failed: %s", type(exc).__name__)
        checks["database"] = {"status": "down"}
        status = 503
    if status == 200:
        keys_ok = _keys_read_the_data()
        checks["keys"] = {"status": "up" if keys_ok else "down"}
        status = 200 if keys_ok else 503
    return JsonResponse(
        {
            "status": "healthy" if status == 200 else "unhealthy",
            "checks": checks,
            "auth": access_manager.describe(),
            "version": settings.VERSION,
        },
        status=status,
    )


def route_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if is_admin_path(request):
        return admin_error_page(request, 404)
    return error_response(CRMError("CRM-0903"))


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Django-level 400s (e.g. a disallowed Host header) in the error shape."""
    if is_admin_path(request):
        return admin_error_page(request, 400)
    return error_response(CRMError("CRM-0015", "The request could not be accepted."))


def forbidden(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if is_admin_path(request):
        return admin_error_page(request, 403)
    return error_response(CRMError("CRM-0902"))


def server_error(request: HttpRequest) -> HttpResponse:
    if is_admin_path(request):
        return admin_error_page(request, 500)
    return error_response(internal_error())


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A refused form (expired session or page, cookies off): an admin page for staff;
    elsewhere Django's answer, which `ErrorContractMiddleware` turns into the JSON error."""
    if is_admin_path(request):
        return admin_error_page(
            request,
            403,
            gettext(
                "The form expired or your browser did not send its security cookie. Go "
                "back, reload the page and try again."
            ),
        )
    from django.views.csrf import csrf_failure as django_csrf_failure

    return django_csrf_failure(request, reason)
