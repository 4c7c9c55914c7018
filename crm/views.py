"""Public operational endpoints (`/health`, `/version`, `/readyz`), the error views for
unknown routes, and `RegistryViewSet`, the base of every `/v1` view set."""

import datetime as dt
import logging
import uuid

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET
from rest_framework import viewsets

from crm.audit import Actor, set_actor
from crm.errors import CRMError, error_response, internal_error
from crm.ids import parse_uuid
from crm.tenancy import organization_from_headers

logger = logging.getLogger("crm.views")


@require_GET
def health(request: HttpRequest) -> HttpResponse:
    """Liveness: the process answers. Never touches the database."""
    return HttpResponse("healthy", content_type="text/plain")


@require_GET
def version(request: HttpRequest) -> JsonResponse:
    now = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return JsonResponse({"version": settings.VERSION, "requestDate": now})


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
    return error_response(CRMError("CRM-0032"))


def bad_request(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    """Django-level 400s (e.g. a disallowed Host header) in the error shape."""
    return error_response(CRMError("CRM-0015", "The request could not be accepted."))


def forbidden(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return error_response(CRMError("CRM-0031"))


def server_error(request: HttpRequest) -> JsonResponse:
    return error_response(internal_error())


class RegistryViewSet(viewsets.GenericViewSet):
    """Base of the `/v1` view sets: resolves the organization, validates UUID path parameters
    and scopes every query to the organization.

    Subclasses set `resource` (`holders` | `aliases`, used by token permissions) and
    `uuid_path_params`.
    """

    resource: str = ""
    model = None
    uuid_path_params: tuple[str, ...] = ()
    organization_id: uuid.UUID

    def initial(self, request, *args, **kwargs) -> None:
        self.format_kwarg = self.get_format_suffix(**kwargs)
        neg = self.perform_content_negotiation(request)
        request.accepted_renderer, request.accepted_media_type = neg
        self.perform_authentication(request)
        set_actor(Actor.from_api_request(request))
        self.organization_id = organization_from_headers(request.headers)
        request.organization_id = self.organization_id
        self.path_ids = self._parse_path_ids()
        self.check_permissions(request)
        self.check_throttles(request)

    def _parse_path_ids(self) -> dict[str, uuid.UUID]:
        parsed: dict[str, uuid.UUID] = {}
        for name in self.uuid_path_params:
            if name not in self.kwargs:
                continue
            value = parse_uuid(self.kwargs[name])
            if value is None:
                raise CRMError("CRM-0005", f"Invalid path parameter '{name}': must be a UUID.")
            parsed[name] = value
        return parsed

    def get_queryset(self):
        """The organization's rows (live, or all with `include_deleted=true`)."""
        if getattr(self, "swagger_fake_view", False):  # OpenAPI generation has no request
            return self.model.objects.none()
        return self.model.all_objects.for_organization(self.organization_id).with_deleted(
            self.include_deleted()
        )

    def json_body(self) -> dict:
        """The parsed JSON object body; an empty body is 400 CRM-0004 like invalid JSON."""
        if not self.request._request.body.strip():
            raise CRMError("CRM-0004", "The request body is empty; a JSON object is expected.")
        return self.request.data

    def include_deleted(self) -> bool:
        return (self.request.query_params.get("include_deleted") or "").lower() == "true"

    def hard_delete_requested(self) -> bool:
        return (self.request.query_params.get("hard_delete") or "").lower() == "true"
