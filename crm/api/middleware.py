"""Request-level plumbing: `X-Request-Id`, one access-log line per request, and the error
contract for everything that happens outside DRF views (unknown routes, 405, 413, 500s raised by
middleware, an unreachable database)."""

import contextvars
import logging
import re
import time
import uuid

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from crm.access.client_address import client_address
from crm.api.errors import CRMError, error_response, internal_error, to_crm_error

logger = logging.getLogger("crm.request")

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")

REQUEST_ID_HEADER = "X-Request-Id"
# A client's id is kept only if it is a UUID or a short token of letters, digits, `.`, `_`, `-`
# (docs/api.md §2.2): nothing else a client typed (spaces, quotes, `=`) reaches a log line.
REQUEST_ID_TOKEN = re.compile(r"[A-Za-z0-9._-]{1,64}")


class RequestIdLogFilter(logging.Filter):
    """Attach the current request id to every log record; Django's `django.request` line,
    written after the middleware has finished, gets the id of the request it carries."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        if record.request_id == "-":
            record.request_id = getattr(getattr(record, "request", None), "request_id", "-")
        return True


def _clean_request_id(value: str | None) -> str:
    """The client's id if it is a UUID (in any of its spellings, written canonically) or matches
    `REQUEST_ID_TOKEN`; otherwise a new UUID (no log injection, no forged log text)."""
    if value:
        if REQUEST_ID_TOKEN.fullmatch(value):
            return value
        try:
            return str(uuid.UUID(value))
        except ValueError:
            pass
    return str(uuid.uuid4())


class RequestIdMiddleware:
    """Echo `X-Request-Id` (generated when absent) and log one line per request: the access log
    (gunicorn's and runserver's own are off, see `config/gunicorn.conf.py` and `LOGGING`).

    The line carries the method, the route *template* (`/v1/holders/{id}`, never the path as
    sent nor the query string, which carry documents), the status, the duration, the
    organization and the client's address (crm/access/client_address.py: computed here, first,
    and kept on the request for everything else that keys on it); the request id is added by
    `RequestIdLogFilter`. Nothing a client typed is copied into it verbatim: an unknown method,
    route or a malformed organization header is logged as a placeholder. The same values go
    with `extra=` as fields of their own for `LOG_FORMAT=json` (crm/api/log_format.py).
    """

    METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"})
    # `(?P<id>[^/]+)` (DRF routers) and `<path:object_id>` (path()) -> `{id}`, `{object_id}`
    ROUTE_PARAMETER = re.compile(r"\(\?P<(\w+)>[^)]*\)|<(?:\w+:)?(\w+)>")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        address = client_address(request)
        request_id = _clean_request_id(request.headers.get(REQUEST_ID_HEADER))
        request.request_id = request_id
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            response[REQUEST_ID_HEADER] = request_id
            fields = {
                "method": request.method if request.method in self.METHODS else "OTHER",
                "route": self.route_template(request),
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                "organization": self.organization(request),
                "client_address": address or "-",
            }
            logger.info(
                "%(method)s %(route)s %(status)s %(duration_ms).1fms org=%(organization)s "
                "client=%(client_address)s",
                fields,
                extra=fields,
            )
            return response
        finally:
            request_id_var.reset(token)

    @classmethod
    def route_template(cls, request: HttpRequest) -> str:
        match = getattr(request, "resolver_match", None)
        if match is None or match.route is None:
            return "<unmatched>"
        route = cls.ROUTE_PARAMETER.sub(
            lambda m: "{" + (m.group(1) or m.group(2)) + "}", match.route
        )
        return "/" + route.replace("/?$", "").replace("^", "").replace("$", "")

    class RouteOnlyFilter(logging.Filter):
        """For `django.request`, which logs 4xx/5xx as "Not Found: <path>": the route template
        instead of the path as the client sent it (which may hold anything it typed)."""

        def filter(self, record: logging.LogRecord) -> bool:
            request = getattr(record, "request", None)
            if isinstance(request, HttpRequest) and isinstance(record.args, tuple):
                sent = {request.path, request.path_info, request.get_full_path()}
                route = RequestIdMiddleware.route_template(request)
                record.args = tuple(route if arg in sent else arg for arg in record.args)
            return True

    @staticmethod
    def organization(request: HttpRequest) -> str:
        value = request.headers.get("X-Organization-Id")
        if not value:
            return "-"
        try:
            return str(uuid.UUID(value))
        except ValueError:
            return "<invalid>"


# Status of an error page rendered outside our views -> the code it is answered with.
NON_JSON_ERROR_CODES = {
    400: "CRM-0015",
    401: "CRM-0901",
    403: "CRM-0902",
    404: "CRM-0903",
    405: "CRM-0904",
    413: "CRM-0905",
    429: "CRM-0906",
    503: "CRM-0907",
}


def is_api_path(path: str) -> bool:
    """Everything but the admin (an HTML application) and static files speaks JSON errors."""
    return not (path.startswith("/admin/") or path.startswith(f"/{settings.STATIC_URL}"))


class ErrorContractMiddleware:
    """Turn any stray exception or non-JSON error into the contract's error body.

    Oversized bodies are refused by `crm.api.viewsets.RegistryViewSet` (the only views that read
    one), after the route and the method: a path no route serves is a 404 and a method it does
    not serve a 405, whatever the body (docs/api.md §3.1)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            is_api_path(request.path)
            and response.status_code >= 400
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            return self.as_error_contract(response)
        return response

    @staticmethod
    def as_error_contract(response: HttpResponse) -> HttpResponse:
        """Any error page Django (or a library) rendered as HTML or text on an API path —
        `DEBUG`'s technical 404, a CSRF or host refusal, a 405 from `require_GET` — becomes the
        contract's JSON for its status, keeping `Allow` and `Retry-After`."""
        code = NON_JSON_ERROR_CODES.get(response.status_code, "CRM-0014")
        replaced = error_response(CRMError(code))
        for header in ("Allow", "Retry-After"):
            if response.has_header(header):
                replaced[header] = response[header]
        return replaced

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not is_api_path(request.path):
            error = to_crm_error(exception)
            if error is not None and error.code == "CRM-0907":
                return error_response(error)
            return None
        error = to_crm_error(exception)
        if error is None:
            logger.exception("unhandled exception: %s", type(exception).__name__)
            error = internal_error()
        return error_response(error)


class SecurityHeadersMiddleware:
    """Security headers on every response, including those that never reach Django's own
    `SecurityMiddleware` (an error page replaced by `ErrorContractMiddleware`).

    Everywhere: `X-Content-Type-Options: nosniff`, `X-Frame-Options: DENY`, `Referrer-Policy`
    and `Cross-Origin-Opener-Policy`. API answers (everything but the admin, static files and
    Swagger UI) also get `Content-Security-Policy: default-src 'none'; frame-ancestors 'none'`
    (JSON is never a document to render) and `Cache-Control: no-store` (they carry personal
    data no shared cache may keep). Headers a view set itself are kept.
    """

    API_CSP = "default-src 'none'; frame-ancestors 'none'"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", settings.X_FRAME_OPTIONS)
        response.headers.setdefault("Referrer-Policy", settings.SECURE_REFERRER_POLICY)
        response.headers.setdefault(
            "Cross-Origin-Opener-Policy", settings.SECURE_CROSS_ORIGIN_OPENER_POLICY
        )
        if is_api_path(request.path) and not request.path.startswith("/swagger"):
            response.headers.setdefault("Content-Security-Policy", self.API_CSP)
            response.headers.setdefault("Cache-Control", "no-store")
        return response
