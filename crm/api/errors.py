"""The error contract: every error leaves as `{code, title, message, fields?}` (docs/api.md §6).

`CRMError` is the one exception the code raises for a client-visible error; `exception_handler`
(DRF) and `crm.api.middleware.ErrorContractMiddleware` (everything outside DRF) turn exceptions into
that body. Messages never carry personal data: they name fields, never echo values.
"""

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import psycopg
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from django.utils.translation import gettext, gettext_noop
from rest_framework import exceptions as drf_exceptions
from rest_framework.exceptions import ErrorDetail

from crm.db.postgresql.base import NoAnswer, NotReconnecting
from crm.observability import metrics

logger = logging.getLogger("crm.api.errors")


@dataclass(frozen=True)
class ErrorSpec:
    code: str
    status: int
    title: str
    message: str


def _spec(code: str, status: int, title: str, message: str) -> ErrorSpec:
    """One error of the catalogue. Its title and message are marked with `gettext_noop`: the
    API always answers them in English (the Midaz wire contract), and the back-office shows
    them to staff in their language (`crm.admin.errors.crm_error_text`)."""
    return ErrorSpec(code, status, title, message)


# The catalogue: docs/api.md §6.2 (CRM-0001..0029) plus our own codes, which live in a range of
# their own, CRM-09NN (docs/api.md §6), because Midaz v4 gives CRM-0030..0041 other meanings. The
# numbers CRM-0030..0036 that this service used before are retired, never reused.
CATALOGUE: dict[str, ErrorSpec] = {
    spec.code: spec
    for spec in (
        _spec(
            "CRM-0001",
            400,
            gettext_noop("Invalid Metadata Nesting"),
            gettext_noop(
                "Metadata values must be strings, numbers or booleans; nested objects are not "
                "allowed."
            ),
        ),
        _spec(
            "CRM-0002",
            400,
            gettext_noop("Metadata Key Length Exceeded"),
            gettext_noop("A metadata key exceeds the maximum length of 100 characters."),
        ),
        _spec(
            "CRM-0003",
            400,
            gettext_noop("Missing Fields in Request"),
            gettext_noop(
                "Your request is missing one or more required fields. Please refer to the "
                "documentation to ensure all necessary fields are included in your request."
            ),
        ),
        _spec(
            "CRM-0004",
            400,
            gettext_noop("Unmarshalling error"),
            gettext_noop(
                "The request body could not be read: invalid JSON or a field of the wrong type."
            ),
        ),
        _spec(
            "CRM-0005",
            400,
            gettext_noop("Invalid Path Parameter"),
            gettext_noop("A path parameter is not a valid UUID."),
        ),
        _spec(
            "CRM-0006",
            404,
            gettext_noop("Holder ID Not Found"),
            gettext_noop(
                "The provided holder ID does not exist in our records. Please verify the holder "
                "ID and try again."
            ),
        ),
        _spec(
            "CRM-0007",
            400,
            gettext_noop("Unexpected Fields in the Request"),
            gettext_noop(
                "The request body contains fields that are unknown or cannot be changed. Please "
                "remove them and try again."
            ),
        ),
        _spec(
            "CRM-0008",
            404,
            gettext_noop("Alias ID Not Found"),
            gettext_noop(
                "The provided alias ID does not exist in our records. Please verify the alias ID "
                "and try again."
            ),
        ),
        _spec(
            "CRM-0009",
            400,
            gettext_noop("Pagination Limit Exceeded"),
            gettext_noop("The pagination limit exceeds the maximum allowed."),
        ),
        _spec(
            "CRM-0010",
            409,
            gettext_noop("Document Association Error"),
            gettext_noop("A holder with this document already exists in this organization."),
        ),
        _spec(
            "CRM-0011",
            400,
            gettext_noop("Invalid Sort Order"),
            gettext_noop("The sort_order parameter must be 'asc' or 'desc'."),
        ),
        _spec(
            "CRM-0012",
            400,
            gettext_noop("Metadata Value Length Exceeded"),
            gettext_noop("A metadata value exceeds the maximum length of 2000 characters."),
        ),
        _spec(
            "CRM-0013",
            409,
            gettext_noop("Account Already Associated"),
            gettext_noop(
                "This account is already associated with a live alias in this organization."
            ),
        ),
        _spec(
            "CRM-0014",
            500,
            gettext_noop("Internal Server Error"),
            gettext_noop(
                "The server encountered an unexpected error. Please try again later or contact "
                "support."
            ),
        ),
        _spec(
            "CRM-0015",
            400,
            gettext_noop("Bad Request"),
            gettext_noop("The request contains invalid values. Please check the listed fields."),
        ),
        _spec(
            "CRM-0016",
            400,
            gettext_noop("Invalid Query Parameter"),
            gettext_noop("A query parameter has an invalid value."),
        ),
        _spec(
            "CRM-0017",
            400,
            gettext_noop("Unable to Delete Holder"),
            gettext_noop(
                "The holder still has live alias accounts. Delete them before deleting the holder."
            ),
        ),
        _spec(
            "CRM-0018",
            400,
            gettext_noop("Missing Headers in Request"),
            gettext_noop("The X-Organization-Id header is required."),
        ),
        _spec(
            "CRM-0019",
            400,
            gettext_noop("Invalid Metadata Query Format"),
            gettext_noop("The metadata query parameter has an invalid format."),
        ),
        _spec(
            "CRM-0020",
            400,
            gettext_noop("Invalid Metadata Query Key"),
            gettext_noop("The metadata query parameter has an invalid key."),
        ),
        _spec(
            "CRM-0021",
            400,
            gettext_noop("Invalid Metadata Query Operator"),
            gettext_noop("The metadata query parameter must not contain an operator."),
        ),
        _spec(
            "CRM-0022",
            400,
            gettext_noop("Invalid Header Value"),
            gettext_noop("The X-Organization-Id header must be a valid UUID."),
        ),
        _spec(
            "CRM-0023",
            400,
            gettext_noop("Alias Closing Date Before Creation Date"),
            gettext_noop(
                "bankingDetails.closingDate cannot be earlier than the alias creation date."
            ),
        ),
        _spec(
            "CRM-0024",
            404,
            gettext_noop("Related Party Not Found"),
            gettext_noop("The provided related party ID does not exist on this alias."),
        ),
        _spec(
            "CRM-0025",
            400,
            gettext_noop("Invalid Related Party Role"),
            gettext_noop(
                "relatedParties[].role must be one of PRIMARY_HOLDER, LEGAL_REPRESENTATIVE, "
                "RESPONSIBLE_PARTY."
            ),
        ),
        _spec(
            "CRM-0026",
            400,
            gettext_noop("Related Party Document Required"),
            gettext_noop("relatedParties[].document is required."),
        ),
        _spec(
            "CRM-0027",
            400,
            gettext_noop("Related Party Name Required"),
            gettext_noop("relatedParties[].name is required."),
        ),
        _spec(
            "CRM-0028",
            400,
            gettext_noop("Related Party Start Date Required"),
            gettext_noop("relatedParties[].startDate is required."),
        ),
        _spec(
            "CRM-0029",
            400,
            gettext_noop("Related Party End Date Invalid"),
            gettext_noop("relatedParties[].endDate cannot be earlier than startDate."),
        ),
        _spec(
            "CRM-0901",
            401,
            gettext_noop("Unauthorized"),
            gettext_noop("Missing or invalid credentials."),
        ),
        _spec(
            "CRM-0902",
            403,
            gettext_noop("Forbidden"),
            gettext_noop("These credentials do not allow this operation."),
        ),
        _spec(
            "CRM-0903",
            404,
            gettext_noop("Route Not Found"),
            gettext_noop("No route matches this method and path."),
        ),
        _spec(
            "CRM-0904",
            405,
            gettext_noop("Method Not Allowed"),
            gettext_noop("This method is not allowed on this route."),
        ),
        _spec(
            "CRM-0905",
            413,
            gettext_noop("Request Entity Too Large"),
            gettext_noop("The request body exceeds the maximum allowed size."),
        ),
        _spec(
            "CRM-0906",
            429,
            gettext_noop("Too Many Requests"),
            gettext_noop("Too many requests. Please retry later."),
        ),
        _spec(
            "CRM-0907",
            503,
            gettext_noop("Service Unavailable"),
            gettext_noop("The database is unavailable. Please retry later."),
        ),
        _spec(
            "CRM-0908",
            503,
            gettext_noop("Authorization Service Unavailable"),
            gettext_noop("The authorization service is unavailable. Please retry later."),
        ),
        _spec(
            "CRM-0909",
            422,
            gettext_noop("Idempotency Key Reused"),
            gettext_noop("This Idempotency-Key was already used with a different request body."),
        ),
        _spec(
            "CRM-0910",
            409,
            gettext_noop("Request In Progress"),
            gettext_noop("A request with this Idempotency-Key is still in progress. Retry later."),
        ),
        _spec(
            "CRM-0911",
            412,
            gettext_noop("Precondition Failed"),
            gettext_noop(
                "The record changed since you read it: If-Match names a version it no longer "
                "has. Read it again and retry with its current ETag."
            ),
        ),
        _spec(
            "CRM-0912",
            409,
            gettext_noop("Record Under Legal Hold"),
            gettext_noop("This record is under a legal hold and cannot be erased."),
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
        """The response body. Field names can be a client's own keys (an unknown field): they
        are made printable and bounded, so no input can make the error itself unwritable."""
        payload: dict[str, Any] = {
            "code": self.spec.code,
            "title": self.spec.title,
            "message": safe_text(self.message, 1000),
        }
        if self.fields:
            payload["fields"] = {
                safe_text(name, 200): safe_text(message, 500)
                for name, message in self.fields.items()
            }
        return payload


def safe_text(text: str, limit: int) -> str:
    """`text` as valid UTF-8 (a lone surrogate becomes `\\udfff`), at most `limit` chars."""
    text = str(text).encode("utf-8", "backslashreplace").decode("utf-8")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def answered_body(error: CRMError) -> dict[str, Any]:
    """The body of an error response about to be sent, counted (`crm_errors_total`): every
    error response is built through here, by `error_response` or by DRF's `exception_handler`."""
    metrics.error_answered(error.code)
    return error.body()


def error_response(error: CRMError) -> JsonResponse:
    """A plain Django JSON response in the error shape (usable outside DRF)."""
    response = JsonResponse(answered_body(error), status=error.status)
    for name, value in error.headers.items():
        response[name] = value
    return response


_SQLITE_UNAVAILABLE = ("database is locked", "unable to open database", "disk i/o error")
# Refusals that say "not this server, not now", whatever DB-API class they arrive as:
# 25006 read_only_sql_transaction ("cannot execute INSERT in a read-only transaction") is a
# write that reached a standby or a primary being demoted during a failover (Django wraps it
# as InternalError). The connection is then dropped (crm.db.postgresql: `is_usable`) and the
# next one goes to the writable server (target_session_attrs=read-write).
_UNAVAILABLE_SQLSTATES = frozenset({"25006"})


def is_database_unavailable(exc: BaseException) -> bool:
    """Connection-level failures (server down, pool exhausted, SQLite locked, a read-only
    server during a failover) -> 503.

    SQLite also reports SQL mistakes as OperationalError; those stay 500s so bugs are not
    disguised as outages.
    """
    if isinstance(exc, InterfaceError) or _is_pool_timeout(exc):
        return True
    if getattr(exc.__cause__, "sqlstate", None) in _UNAVAILABLE_SQLSTATES:
        return True
    if not isinstance(exc, OperationalError):
        return False
    cause = exc.__cause__
    if cause is not None and type(cause).__module__.startswith("sqlite3"):
        return any(text in str(exc).lower() for text in _SQLITE_UNAVAILABLE)
    return True


def unavailable_reason(exc: BaseException) -> str:
    """Why the database could not serve the request, from the exception's kind alone
    (docs/operations.md "What each failure looks like")."""
    cause = exc.__cause__ if exc.__cause__ is not None else exc
    if _is_pool_timeout(exc):
        return "no free connection in the pool"
    if isinstance(cause, NotReconnecting):
        return "not reconnecting yet: the server did not answer this thread a moment ago"
    if isinstance(cause, NoAnswer):
        return "no answer within the client timeout (a frozen or lost server)"
    if getattr(cause, "sqlstate", None) in _UNAVAILABLE_SQLSTATES:
        return "the server is read-only now (demoted in a failover); the connection is dropped"
    if isinstance(cause, psycopg.errors.ConnectionTimeout):
        return "no connection within connect_timeout"
    if isinstance(exc, InterfaceError):
        return "the connection was already closed"
    if type(cause).__module__.startswith("sqlite3"):
        return "SQLite is busy or locked"
    return "cannot connect, or the connection was lost"


def to_crm_error(exc: BaseException) -> CRMError | None:
    """Map a known exception to a CRMError; None means "unexpected" (a 500)."""
    if isinstance(exc, CRMError):
        return exc
    if isinstance(exc, RequestDataTooBig):
        return CRMError("CRM-0905")
    if is_database_unavailable(exc):
        # One line per refusal, with its cause in our words (never the server's text, which
        # may quote a value): what an operator reads to tell an outage from a failover.
        logger.warning("database unavailable, answering 503: %s", unavailable_reason(exc))
        return CRMError("CRM-0907", headers={"Retry-After": "5"})
    if isinstance(exc, drf_exceptions.NotAuthenticated | drf_exceptions.AuthenticationFailed):
        return CRMError("CRM-0901")
    if isinstance(exc, drf_exceptions.PermissionDenied | PermissionDenied):
        return CRMError("CRM-0902")
    if isinstance(exc, drf_exceptions.MethodNotAllowed):
        return CRMError("CRM-0904")
    if isinstance(exc, drf_exceptions.Throttled):  # DRF's handler sets Retry-After
        return CRMError("CRM-0906")
    if isinstance(exc, drf_exceptions.UnsupportedMediaType):
        return CRMError(
            "CRM-0004", "The request body must be JSON (Content-Type: application/json)."
        )
    if isinstance(exc, drf_exceptions.ParseError):
        return CRMError("CRM-0004")
    if isinstance(exc, Http404 | drf_exceptions.NotFound):
        return CRMError("CRM-0903")
    if isinstance(exc, drf_exceptions.ValidationError):
        return translate_errors(exc.detail)
    if isinstance(exc, drf_exceptions.APIException) and exc.status_code == 413:
        return CRMError("CRM-0905")
    return None


def _is_pool_timeout(exc: BaseException) -> bool:
    try:
        from psycopg_pool import PoolTimeout
    except ImportError:  # pragma: no cover - psycopg[pool] is a dependency
        return False
    return isinstance(exc, PoolTimeout)


# DRF error code -> CRM code, in docs/api.md §4.7 priority order.
_CODE_PRIORITY: list[tuple[str, frozenset[str]]] = [
    ("CRM-0004", frozenset({"invalid_type", "invalid_date", "not_a_list", "out_of_range"})),
    ("CRM-0007", frozenset({"unexpected"})),
    ("CRM-0015", frozenset({"nul", "invalid_text"})),
    ("CRM-0003", frozenset({"required", "blank", "null"})),
    ("CRM-0001", frozenset({"metadata_nesting"})),
    ("CRM-0002", frozenset({"metadata_key_length"})),
    ("CRM-0012", frozenset({"metadata_value_length"})),
]


def _walk(detail: Any, path: str = "") -> list[tuple[str, ErrorDetail]]:
    found: list[tuple[str, ErrorDetail]] = []
    if isinstance(detail, Mapping):
        for key, value in detail.items():
            child = path if key == "non_field_errors" else (f"{path}.{key}" if path else str(key))
            found.extend(_walk(value, child))
    elif isinstance(detail, list):
        for index, item in enumerate(detail):
            if isinstance(item, Mapping | list):
                found.extend(_walk(item, f"{path}.{index}" if path else str(index)))
            else:
                found.extend(_walk(item, path))
    else:
        found.append((path, detail))
    return found


def _message(code: str, path: str, detail: ErrorDetail) -> str:
    if code == "CRM-0003":
        return gettext("%(path)s is a required field") % {"path": path}
    if code == "CRM-0007":
        return gettext("%(path)s is not an allowed field") % {"path": path}
    return str(detail)


def translate_errors(errors: Any) -> CRMError:
    """Turn a DRF error tree (`serializer.errors`) into the single CRM error the reference
    would return, following docs/api.md §4.7's order (first failing step wins):

    1. wrong JSON type or unparseable date        -> CRM-0004
    2. unknown or immutable field                  -> CRM-0007 (`fields` lists them)
    3. NUL byte in a string                        -> CRM-0015
    4. required field missing / empty / null       -> CRM-0003 (`fields` lists them)
       metadata: nested value / key / value length -> CRM-0001 / CRM-0002 / CRM-0012
       any other rule (length, enum, country, ...) -> CRM-0015 (`fields` lists them)
    """
    found = _walk(errors)
    for crm_code, drf_codes in _CODE_PRIORITY:
        matching = [(path, d) for path, d in found if getattr(d, "code", None) in drf_codes]
        if matching:
            return _with_fields(crm_code, matching)
    return _with_fields("CRM-0015", found)


def _with_fields(crm_code: str, matching: list[tuple[str, ErrorDetail]]) -> CRMError:
    fields: dict[str, str] = {}
    for path, detail in matching:
        fields.setdefault(path or "body", _message(crm_code, path or "body", detail))
    if crm_code in {"CRM-0001", "CRM-0002", "CRM-0012"}:
        # Metadata errors carry one message naming the key, like the reference.
        return CRMError(crm_code, next(iter(fields.values())))
    if crm_code == "CRM-0004":
        return CRMError(crm_code, "; ".join(f"{k}: {v}" for k, v in fields.items()), fields=fields)
    return CRMError(crm_code, fields=fields)


def internal_error() -> CRMError:
    return CRMError("CRM-0014")


def exception_handler(exc: Exception, context: dict[str, Any]):
    """DRF exception handler. It wraps DRF's own (which rolls the transaction back and sets
    `WWW-Authenticate` on a 401 and `Retry-After` on a 429) and replaces the body with the
    contract's error shape; anything unexpected is a 500 CRM-0014 without details."""
    # Imported here: rest_framework.views reads the DRF settings, which import this module.
    from rest_framework.response import Response
    from rest_framework.views import exception_handler as drf_exception_handler
    from rest_framework.views import set_rollback

    response = drf_exception_handler(exc, context)
    error = to_crm_error(exc)
    if error is None:
        if isinstance(exc, DatabaseError):
            logger.error("database error: %s", type(exc).__name__)
        else:
            logger.exception("unhandled exception in API view: %s", type(exc).__name__)
        error = internal_error()
    if response is None:
        set_rollback()
        response = Response(status=error.status)
    response.data = answered_body(error)
    response.status_code = error.status
    for name, value in error.headers.items():
        response[name] = value
    return response
