"""The error contract: every error leaves as `{code, title, message, fields?}` (CONTRACT §6).

`CRMError` is the one exception the code raises for a client-visible error; `exception_handler`
(DRF) and `crm.middleware.ErrorContractMiddleware` (everything outside DRF) turn exceptions into
that body. Messages never carry personal data: they name fields, never echo values.
"""

import logging
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from rest_framework import exceptions as drf_exceptions

logger = logging.getLogger("crm.errors")


@dataclass(frozen=True)
class ErrorSpec:
    code: str
    status: int
    title: str
    message: str


def _spec(code: str, status: int, title: str, message: str) -> ErrorSpec:
    return ErrorSpec(code, status, title, message)


# The CRM-00NN catalogue: ref §6.3 plus the codes CONTRACT §6 adds (0030-0036).
CATALOGUE: dict[str, ErrorSpec] = {
    spec.code: spec
    for spec in (
        _spec(
            "CRM-0001",
            400,
            "Invalid Metadata Nesting",
            "Metadata values must be strings, numbers or booleans; nested objects are not allowed.",
        ),
        _spec(
            "CRM-0002",
            400,
            "Metadata Key Length Exceeded",
            "A metadata key exceeds the maximum length of 100 characters.",
        ),
        _spec(
            "CRM-0003",
            400,
            "Missing Fields in Request",
            "Your request is missing one or more required fields. Please refer to the "
            "documentation to ensure all necessary fields are included in your request.",
        ),
        _spec(
            "CRM-0004",
            400,
            "Unmarshalling error",
            "The request body could not be read: invalid JSON or a field of the wrong type.",
        ),
        _spec("CRM-0005", 400, "Invalid Path Parameter", "A path parameter is not a valid UUID."),
        _spec(
            "CRM-0006",
            404,
            "Holder ID Not Found",
            "The provided holder ID does not exist in our records. Please verify the holder "
            "ID and try again.",
        ),
        _spec(
            "CRM-0007",
            400,
            "Unexpected Fields in the Request",
            "The request body contains fields that are unknown or cannot be changed. Please "
            "remove them and try again.",
        ),
        _spec(
            "CRM-0008",
            404,
            "Alias ID Not Found",
            "The provided alias ID does not exist in our records. Please verify the alias ID "
            "and try again.",
        ),
        _spec(
            "CRM-0009",
            400,
            "Pagination Limit Exceeded",
            "The pagination limit exceeds the maximum allowed.",
        ),
        _spec(
            "CRM-0010",
            409,
            "Document Association Error",
            "A holder with this document already exists in this organization.",
        ),
        _spec(
            "CRM-0011",
            400,
            "Invalid Sort Order",
            "The sort_order parameter must be 'asc' or 'desc'.",
        ),
        _spec(
            "CRM-0012",
            400,
            "Metadata Value Length Exceeded",
            "A metadata value exceeds the maximum length of 2000 characters.",
        ),
        _spec(
            "CRM-0013",
            409,
            "Account Already Associated",
            "This account is already associated with a live alias in this organization.",
        ),
        _spec(
            "CRM-0014",
            500,
            "Internal Server Error",
            "The server encountered an unexpected error. Please try again later or contact "
            "support.",
        ),
        _spec(
            "CRM-0015",
            400,
            "Bad Request",
            "The request contains invalid values. Please check the listed fields.",
        ),
        _spec(
            "CRM-0016", 400, "Invalid Query Parameter", "A query parameter has an invalid value."
        ),
        _spec(
            "CRM-0017",
            400,
            "Unable to Delete Holder",
            "The holder still has live alias accounts. Delete them before deleting the holder.",
        ),
        _spec(
            "CRM-0018",
            400,
            "Missing Headers in Request",
            "The X-Organization-Id header is required.",
        ),
        _spec(
            "CRM-0019",
            400,
            "Invalid Metadata Query Format",
            "The metadata query parameter has an invalid format.",
        ),
        _spec(
            "CRM-0020",
            400,
            "Invalid Metadata Query Key",
            "The metadata query parameter has an invalid key.",
        ),
        _spec(
            "CRM-0021",
            400,
            "Invalid Metadata Query Operator",
            "The metadata query parameter must not contain an operator.",
        ),
        _spec(
            "CRM-0022",
            400,
            "Invalid Header Value",
            "The X-Organization-Id header must be a valid UUID.",
        ),
        _spec(
            "CRM-0023",
            400,
            "Alias Closing Date Before Creation Date",
            "bankingDetails.closingDate cannot be earlier than the alias creation date.",
        ),
        _spec(
            "CRM-0024",
            404,
            "Related Party Not Found",
            "The provided related party ID does not exist on this alias.",
        ),
        _spec(
            "CRM-0025",
            400,
            "Invalid Related Party Role",
            "relatedParties[].role must be one of PRIMARY_HOLDER, LEGAL_REPRESENTATIVE, "
            "RESPONSIBLE_PARTY.",
        ),
        _spec(
            "CRM-0026",
            400,
            "Related Party Document Required",
            "relatedParties[].document is required.",
        ),
        _spec("CRM-0027", 400, "Related Party Name Required", "relatedParties[].name is required."),
        _spec(
            "CRM-0028",
            400,
            "Related Party Start Date Required",
            "relatedParties[].startDate is required.",
        ),
        _spec(
            "CRM-0029",
            400,
            "Related Party End Date Invalid",
            "relatedParties[].endDate cannot be earlier than startDate.",
        ),
        _spec("CRM-0030", 401, "Unauthorized", "Missing or invalid credentials."),
        _spec("CRM-0031", 403, "Forbidden", "These credentials do not allow this operation."),
        _spec("CRM-0032", 404, "Route Not Found", "No route matches this method and path."),
        _spec("CRM-0033", 405, "Method Not Allowed", "This method is not allowed on this route."),
        _spec(
            "CRM-0034",
            413,
            "Request Entity Too Large",
            "The request body exceeds the maximum allowed size.",
        ),
        _spec("CRM-0035", 429, "Too Many Requests", "Too many requests. Please retry later."),
        _spec(
            "CRM-0036",
            503,
            "Service Unavailable",
            "The database is unavailable. Please retry later.",
        ),
    )
}


class CRMError(Exception):
    """A client-visible error from the catalogue, optionally with a message and `fields`."""

    def __init__(
        self,
        code: str,
        message: str | None = None,
        *,
        fields: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.spec = CATALOGUE[code]
        self.message = message or self.spec.message
        self.fields = fields
        self.headers = headers or {}
        super().__init__(f"{code}: {self.message}")

    @property
    def code(self) -> str:
        return self.spec.code

    @property
    def status(self) -> int:
        return self.spec.status

    def body(self) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "code": self.spec.code,
            "title": self.spec.title,
            "message": self.message,
        }
        if self.fields:
            payload["fields"] = self.fields
        return payload


def error_response(error: CRMError) -> JsonResponse:
    """A plain Django JSON response in the error shape (usable outside DRF)."""
    response = JsonResponse(error.body(), status=error.status)
    for name, value in error.headers.items():
        response[name] = value
    return response


_SQLITE_UNAVAILABLE = ("database is locked", "unable to open database", "disk i/o error")


def is_database_unavailable(exc: BaseException) -> bool:
    """Connection-level failures (server down, pool exhausted, SQLite locked) -> 503.

    SQLite also reports SQL mistakes as OperationalError; those stay 500s so bugs are not
    disguised as outages.
    """
    if isinstance(exc, InterfaceError) or _is_pool_timeout(exc):
        return True
    if not isinstance(exc, OperationalError):
        return False
    cause = exc.__cause__
    if cause is not None and type(cause).__module__.startswith("sqlite3"):
        return any(text in str(exc).lower() for text in _SQLITE_UNAVAILABLE)
    return True


def to_crm_error(exc: BaseException) -> CRMError | None:
    """Map a known exception to a CRMError; None means "unexpected" (a 500)."""
    if isinstance(exc, CRMError):
        return exc
    if isinstance(exc, RequestDataTooBig):
        return CRMError("CRM-0034")
    if is_database_unavailable(exc):
        return CRMError("CRM-0036", headers={"Retry-After": "5"})
    if isinstance(exc, drf_exceptions.NotAuthenticated | drf_exceptions.AuthenticationFailed):
        return CRMError("CRM-0030")
    if isinstance(exc, drf_exceptions.PermissionDenied | PermissionDenied):
        return CRMError("CRM-0031")
    if isinstance(exc, drf_exceptions.MethodNotAllowed):
        return CRMError("CRM-0033")
    if isinstance(exc, drf_exceptions.Throttled):
        wait = int(exc.wait or 1)
        return CRMError("CRM-0035", headers={"Retry-After": str(wait)})
    if isinstance(exc, drf_exceptions.UnsupportedMediaType):
        return CRMError(
            "CRM-0004", "The request body must be JSON (Content-Type: application/json)."
        )
    if isinstance(exc, drf_exceptions.ParseError):
        return CRMError("CRM-0004")
    if isinstance(exc, Http404 | drf_exceptions.NotFound):
        return CRMError("CRM-0032")
    if isinstance(exc, drf_exceptions.ValidationError):
        return CRMError("CRM-0015", fields=_flatten_drf_detail(exc.detail))
    if isinstance(exc, drf_exceptions.APIException) and exc.status_code == 413:
        return CRMError("CRM-0034")
    return None


def _is_pool_timeout(exc: BaseException) -> bool:
    try:
        from psycopg_pool import PoolTimeout
    except ImportError:  # pragma: no cover - psycopg[pool] is a dependency
        return False
    return isinstance(exc, PoolTimeout)


def _flatten_drf_detail(detail: Any, prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            flat.update(_flatten_drf_detail(value, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(detail, list):
        for item in detail:
            flat.update(_flatten_drf_detail(item, prefix))
    else:
        flat[prefix or "non_field_errors"] = str(detail)
    return flat


def internal_error() -> CRMError:
    return CRMError("CRM-0014")


def exception_handler(exc: Exception, context: dict[str, Any]):
    """DRF exception handler: every exception becomes the contract's error body."""
    from rest_framework.response import Response

    error = to_crm_error(exc)
    if error is None:
        if isinstance(exc, DatabaseError):
            logger.error("database error: %s", type(exc).__name__)
        else:
            logger.exception("unhandled exception in API view: %s", type(exc).__name__)
        error = internal_error()
    return Response(error.body(), status=error.status, headers=error.headers)
