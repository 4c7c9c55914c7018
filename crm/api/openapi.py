"""The OpenAPI document (drf-spectacular): shared parameters, error responses and the
postprocessing hook that completes what introspection cannot see.

* Each `/v1` operation lists, in its `extend_schema`, the errors that belong to it
  (`error_responses`): 400 with the codes it can give, 404, 409, 413, 422. The hook adds what
  every `/v1` operation can answer whatever it does: 500 CRM-0014, 503 CRM-0907 (database
  down), 429 CRM-0906 when `API_RATE_LIMIT` is set, 401/403 when `PLUGIN_AUTH_ENABLED` is on.
  All of them use the `Error` component (`crm.api.errors.CRMError.body()`).
* The document describes the running deployment: security is optional (`[{}, {ApiToken: []}]`)
  while `PLUGIN_AUTH_ENABLED` is off, `limit`'s maximum is `MAX_PAGINATION_LIMIT`.
* Request bodies are strict (unknown keys are CRM-0007), so request components get
  `additionalProperties: false`; enums and the flat-metadata rules are filled in here.
* `metadata.<key>` filters: OpenAPI cannot declare a parameter whose *name* follows a pattern.
  A `deepObject` parameter would serialize as `metadata[key]=v`, which is not our wire format,
  so the filter is documented in the operation description and as one parameter whose literal
  name is `metadata.<key>`, with an `x-name-pattern` extension. Sent literally (as a generic
  client or schemathesis does) it is a real filter on the key `<key>`, so it stays truthful.

`crm` imports neither domain app: the few domain facts (role choices) are looked up by app
label at generation time.
"""

from typing import Any

from django.conf import settings
from drf_spectacular.extensions import (
    OpenApiAuthenticationExtension,
    OpenApiFilterExtension,
    OpenApiSerializerFieldExtension,
)
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse
from rest_framework import serializers

from crm.api.errors import CATALOGUE
from crm.api.filters import SearchHashFilter
from crm.api.pagination import MAX_PAGE
from crm.api.serializers import (
    MAX_METADATA_KEY_LENGTH,
    MAX_METADATA_KEYS,
    MAX_METADATA_VALUE_LENGTH,
    country_codes,
)

# --- Shared parameters ---------------------------------------------------------------------------

ORGANIZATION_HEADER = OpenApiParameter(
    "X-Organization-Id",
    OpenApiTypes.UUID,
    OpenApiParameter.HEADER,
    required=True,
    description="Organization (tenant) that owns the data. Missing: 400 CRM-0018; not a "
    "UUID: 400 CRM-0022. Another organization's records are invisible (404).",
)
REQUEST_ID_HEADER = OpenApiParameter(
    "X-Request-Id",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description="Correlation id, echoed back when it is a UUID or 1-64 letters, digits, `.`, "
    "`_` or `-`; otherwise (or when absent) a UUID is generated and echoed.",
)
IDEMPOTENCY_KEY = {"type": "string", "pattern": "^[ -~]{1,255}$"}
IDEMPOTENCY_KEY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    IDEMPOTENCY_KEY,
    OpenApiParameter.HEADER,
    required=False,
    description="IETF `Idempotency-Key` (1-255 printable ASCII characters, else 400 CRM-0022): "
    "the request is executed once per organization and key; a retry with the same body gets "
    "the original status and body (errors included) with `Idempotent-Replayed: true`. The same "
    "key with another body: 422 CRM-0909; while the first request is still running: 409 "
    "CRM-0910 with `Retry-After`. Keys expire (24 h by default).",
)
X_IDEMPOTENCY_HEADER = OpenApiParameter(
    "X-Idempotency",
    IDEMPOTENCY_KEY,
    OpenApiParameter.HEADER,
    required=False,
    description="Midaz v4's name for `Idempotency-Key`, accepted as the same header (both "
    "sent must carry the same key, else 400 CRM-0022).",
)
INCLUDE_DELETED = OpenApiParameter(
    "include_deleted",
    OpenApiTypes.BOOL,
    OpenApiParameter.QUERY,
    required=False,
    description="`true` includes soft-deleted records (any other value: live records only).",
)
HARD_DELETE = OpenApiParameter(
    "hard_delete",
    OpenApiTypes.BOOL,
    OpenApiParameter.QUERY,
    required=False,
    description="`true` erases the record for good (also a soft-deleted one) instead of "
    "soft-deleting it.",
)
METADATA_FILTER_DESCRIPTION = (
    "**Metadata filters**: `metadata.<key>=<value>`, where `<key>` is the metadata key (for "
    "example `?metadata.segment=retail`): string equality on that key. Any number of them may "
    "be given; they combine with AND. A value longer than "
    f"{MAX_METADATA_VALUE_LENGTH} characters is 400 CRM-0012, an empty key (`metadata.=x`) "
    "400 CRM-0020. OpenAPI cannot name a parameter by pattern: the parameter "
    "`metadata.<key>` below stands for all of them (see its `x-name-pattern`)."
)
METADATA_FILTER = OpenApiParameter(
    "metadata.<key>",
    {"type": "string", "maxLength": MAX_METADATA_VALUE_LENGTH},
    OpenApiParameter.QUERY,
    required=False,
    description="Stands for any number of `metadata.<key>=<value>` parameters (replace "
    "`<key>` by the metadata key, e.g. `metadata.segment=retail`): string equality on that "
    "key; several combine with AND.",
    extensions={"x-name-pattern": r"^metadata\..+$"},
)
AS_OF = OpenApiParameter(
    "as_of",
    {"type": "string", "format": "date-time"},
    OpenApiParameter.QUERY,
    required=False,
    description="RFC 3339 date-time with an offset (`2024-03-01T12:00:00Z`): the body as it was "
    "at that instant, to the millisecond (as of a body's `updatedAt`, that body), with the "
    "version it was as `ETag`. Before the record existed, after it was erased, or while it was "
    "soft-deleted (unless `include_deleted=true`): 404. Malformed: 400 CRM-0016.",
)
IF_MATCH_HEADER = OpenApiParameter(
    "If-Match",
    {"type": "string", "maxLength": 1024},
    OpenApiParameter.HEADER,
    required=False,
    description='The `ETag` the change is based on (`"3"`), a comma-separated list of them, or '
    "`*`: the write happens only while the record is at one of those versions, else 412 "
    "CRM-0911 and nothing is written. Not a list of entity tags: 400 CRM-0022. Without it, "
    "the last write wins (as in Midaz).",
)
VERSION_NUMBER = OpenApiParameter(
    "number",
    {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
    OpenApiParameter.PATH,
    description="A version number, from 1 (anything else: 400 CRM-0005).",
)


def etag_header(*statuses: int) -> OpenApiParameter:
    """The `ETag` response header of the given statuses: the version of the body it carries."""
    return OpenApiParameter(
        "ETag",
        {"type": "string", "pattern": r'^"[1-9][0-9]*"$'},
        OpenApiParameter.HEADER,
        required=True,
        response=list(statuses),
        description='The record\'s version the body shows, a strong entity tag (`"3"`): send it '
        "back as `If-Match` to change the record only if nobody changed it meanwhile.",
    )


COMMON_HEADERS = [ORGANIZATION_HEADER, REQUEST_ID_HEADER]
IDEMPOTENCY_HEADERS = [IDEMPOTENCY_KEY_HEADER, X_IDEMPOTENCY_HEADER]

FILTER_VALUE = {"type": "string", "maxLength": 2000}


def path_uuid(name: str) -> OpenApiParameter:
    """A path id: a UUID (anything else is 400 CRM-0005)."""
    return OpenApiParameter(
        name,
        OpenApiTypes.UUID,
        OpenApiParameter.PATH,
        description="A UUID (anything else: 400 CRM-0005).",
    )


def filter_parameters(filterset_class, enums: dict[str, list[str]] | None = None):
    """The query parameters of a list, read from its FilterSet (the view set's
    `filterset_class`), for the list's `extend_schema`: what each filter matches, and how
    (search hashes), which introspection cannot tell (see `RegistryFilterBackendScheme`).
    `enums` documents the values that can match for a filter (others match nothing)."""
    import django_filters

    enums = enums or {}
    parameters = []
    for name, item in filterset_class.base_filters.items():
        if isinstance(item, django_filters.UUIDFilter):
            schema: Any = OpenApiTypes.UUID
            description = f"Equality on `{name}` (a UUID; anything else: 400 CRM-0016)."
        else:
            schema = {**FILTER_VALUE, **({"enum": enums[name]} if name in enums else {})}
            description = f"Equality on `{name}`."
            if isinstance(item, SearchHashFilter) or name.endswith("document"):
                description += (
                    " Encrypted at rest: matched through its search hash, in any formatting "
                    "(spaces, `.`, `-`, `/` and letter case ignored)."
                )
            if name in enums:
                description += " Other values match nothing."
        parameters.append(
            OpenApiParameter(
                name, schema, OpenApiParameter.QUERY, required=False, description=description
            )
        )
    return parameters


# --- Errors ---------------------------------------------------------------------------------------


class ErrorSerializer(serializers.Serializer):
    """The error body of every error (`{code, title, message, fields?}`). Messages name fields
    and never echo submitted values."""

    code = serializers.RegexField(r"^CRM-\d{4}$", help_text="`CRM-00NN` (ref) or `CRM-09NN`.")
    title = serializers.CharField()
    message = serializers.CharField()
    fields = serializers.DictField(
        child=serializers.CharField(),
        required=False,
        help_text="Per-field messages (field path -> message), when fields are at fault.",
    )

    class Meta:
        ref_name = "Error"


def _error_example(code: str) -> OpenApiExample:
    spec = CATALOGUE[code]
    return OpenApiExample(
        code,
        value={"code": code, "title": spec.title, "message": spec.message},
        response_only=True,
        status_codes=[str(spec.status)],
    )


def error_response(*codes: str, note: str = "") -> OpenApiResponse:
    """An error response in the `Error` shape listing the catalogue codes it can carry."""
    lines = [f"`{code}` {CATALOGUE[code].title}" for code in codes]
    description = "; ".join(lines) + (f". {note}" if note else "")
    return OpenApiResponse(
        ErrorSerializer,
        description=description,
        examples=[_error_example(code) for code in codes],
    )


# 400 codes by what an operation takes.
HEADER_CODES = ("CRM-0018", "CRM-0022")
PATH_CODES = ("CRM-0005",)
LIST_CODES = ("CRM-0009", "CRM-0011", "CRM-0012", "CRM-0016", "CRM-0020")
BODY_CODES = ("CRM-0001", "CRM-0002", "CRM-0003", "CRM-0004", "CRM-0007", "CRM-0012", "CRM-0015")
RELATED_PARTY_CODES = ("CRM-0025", "CRM-0026", "CRM-0027", "CRM-0028", "CRM-0029")


def error_responses(
    *,
    bad_request: tuple[str, ...] = (),
    not_found: tuple[str, ...] = (),
    conflict: tuple[str, ...] = (),
    body: bool = False,
    conditional: bool = False,
) -> dict[int, OpenApiResponse]:
    """The operation-specific error responses of a `/v1` operation. Every one can give a 400
    for its headers; `body=True` (POST, PATCH) adds 413 and the idempotency errors (422
    CRM-0909, 409 CRM-0910); `conditional=True` (PATCH, DELETE: `If-Match`) adds 412
    CRM-0911. The hook adds the ones every operation shares (500, 503, ...)."""
    responses = {
        400: error_response(*HEADER_CODES, *bad_request),
    }
    if not_found:
        responses[404] = error_response(
            *not_found,
            note="Also for another organization's record, and for a soft-deleted one except "
            "with `include_deleted=true` (reads) or `hard_delete=true`.",
        )
    conflicts = (*conflict, "CRM-0910") if body else conflict
    if conflicts:
        responses[409] = error_response(*conflicts)
    if body:
        responses[413] = error_response(
            "CRM-0905", note=f"Bodies over {settings.MAX_REQUEST_BODY_BYTES} bytes."
        )
        responses[422] = error_response("CRM-0909")
    if conditional:
        responses[412] = error_response(
            "CRM-0911",
            note="`If-Match` names none of the record's current version; nothing was written.",
        )
    return responses


# --- Field extensions (fields whose type introspection cannot see) ------------------------------


class EnumFieldExtension(OpenApiSerializerFieldExtension):
    """`crm.api.serializers.EnumField`: a string with fixed values."""

    target_class = "crm.api.serializers.EnumField"

    def map_serializer_field(self, auto_schema, direction):
        return {"type": "string", "enum": list(self.target.allowed)}


class CountryFieldExtension(OpenApiSerializerFieldExtension):
    """`crm.api.serializers.CountryField`: ISO 3166-1 alpha-2 (or empty)."""

    target_class = "crm.api.serializers.CountryField"

    def map_serializer_field(self, auto_schema, direction):
        return {
            "type": "string",
            "enum": ["", *country_codes()],
            "description": 'ISO 3166-1 alpha-2 country code, `""` when unset (anything else: '
            "400 CRM-0015).",
        }


class RegistryFilterBackendScheme(OpenApiFilterExtension):
    """`crm.api.filters.RegistryFilterBackend` adds no parameters by introspection: each list's
    `extend_schema` documents its FilterSet with `filter_parameters` (what each filter matches
    and how, which introspection cannot tell; tests/test_openapi_schema.py checks that no filter
    is missing). Introspection would also need the view set's queryset, which only exists for
    an organization, that is during a request."""

    target_class = "crm.api.filters.RegistryFilterBackend"
    priority = 1  # before drf-spectacular's extension for DjangoFilterBackend and subclasses

    def get_schema_operation_parameters(self, auto_schema, *args, **kwargs):
        return []


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """Documents `crm.access.auth.ApiTokenAuthentication` as a bearer token."""

    target_class = "crm.access.auth.ApiTokenAuthentication"
    name = "ApiToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "`Authorization: Bearer <token>`, required when PLUGIN_AUTH_ENABLED "
            "is true: an API token made in the admin or, with PLUGIN_AUTH_ADDRESS, a JWT of the "
            "Lerian Access Manager.",
        }


# --- Postprocessing -------------------------------------------------------------------------------

ERROR_REF = {"$ref": "#/components/schemas/Error"}
RESPONSE_HEADERS = {
    "X-Request-Id": {
        "description": "The request's correlation id (the client's or a generated UUID).",
        "schema": {"type": "string"},
    }
}
RETRY_AFTER = {
    "Retry-After": {"description": "Seconds to wait before retrying.", "schema": {"type": "string"}}
}
REPLAYED_HEADERS = {
    name: {
        "description": "`true` when this is the stored answer to an earlier request with the "
        "same idempotency key, `false` when the request ran now (only with a key).",
        "schema": {"type": "string", "enum": ["true", "false"]},
    }
    for name in ("Idempotent-Replayed", "X-Idempotency-Replayed")
}
PUBLIC_TAG = "Operations"


def _error(description: str, headers: dict | None = None) -> dict:
    return {
        "description": description,
        "headers": {**RESPONSE_HEADERS, **(headers or {})},
        "content": {"application/json": {"schema": ERROR_REF}},
    }


def _shared_errors() -> dict[str, dict]:
    """Errors any `/v1` operation can answer, in this deployment."""
    shared = {
        "500": _error(
            "`CRM-0014` Internal Server Error: never expected (no input a client can send gives "
            "a 500); no stack trace, no personal data."
        ),
        "503": _error(
            "`CRM-0907` Service Unavailable: the database is down or not answering (fast, "
            "never a hang)."
            + (
                " `CRM-0908`: the Access Manager is unreachable, slow or gave no decision "
                "(fail closed)."
                if settings.PLUGIN_AUTH_ENABLED and settings.PLUGIN_AUTH_ADDRESS
                else ""
            ),
            RETRY_AFTER,
        ),
    }
    if settings.API_RATE_LIMIT:
        shared["429"] = _error(
            f"`CRM-0906` Too Many Requests: over {settings.API_RATE_LIMIT} per organization.",
            RETRY_AFTER,
        )
    if settings.PLUGIN_AUTH_ENABLED:
        shared["401"] = _error(
            "`CRM-0901` Unauthorized: missing or invalid token.",
            {
                "WWW-Authenticate": {
                    "description": "`Bearer`.",
                    "schema": {"type": "string"},
                }
            },
        )
        shared["403"] = _error("`CRM-0902` Forbidden: the token does not allow this operation.")
    return shared


def _metadata_schema(*, patch: bool) -> dict:
    value = {
        "description": "A string (at most "
        f"{MAX_METADATA_VALUE_LENGTH} characters), a finite number or a boolean"
        + ("; null removes the key." if patch else "."),
        "anyOf": [
            {"type": "string", "maxLength": MAX_METADATA_VALUE_LENGTH},
            {"type": "number"},
            {"type": "boolean"},
        ],
    }
    if patch:
        value["nullable"] = True
    return {
        "type": "object",
        "nullable": True,
        "maxProperties": MAX_METADATA_KEYS,
        "additionalProperties": value,
        "description": f"Flat key/value pairs: at most {MAX_METADATA_KEYS} keys of at most "
        f"{MAX_METADATA_KEY_LENGTH} characters (CRM-0002); values are scalars (nested: "
        f"CRM-0001; longer than {MAX_METADATA_VALUE_LENGTH} characters: CRM-0012)."
        + (" A PATCH merges per key." if patch else ""),
    }


LOCAL_DATETIME = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?$"


def _input_date_schema(*, optional: bool) -> dict:
    """Dates in a request (docs/api.md §4): `YYYY-MM-DD`, `YYYY-MM-DDThh:mm:ss` or RFC 3339 (taken
    as its UTC date); optional ones also accept `""` and null (no date). Read back as
    `YYYY-MM-DD`; anything else is 400 CRM-0004."""
    forms: list[dict] = [{"format": "date"}, {"format": "date-time"}, {"pattern": LOCAL_DATETIME}]
    if optional:
        forms.append({"maxLength": 0})
    schema = {
        "type": "string",
        "anyOf": forms,
        "description": "`YYYY-MM-DD`, `YYYY-MM-DDThh:mm:ss` or RFC 3339 (its UTC date is kept)"
        + ('; `""` or null: no date.' if optional else "."),
    }
    if optional:
        schema["nullable"] = True
    return schema


def _complete_components(schemas: dict[str, dict]) -> None:
    for name, component in schemas.items():
        properties = component.get("properties", {})
        if name.endswith("Request"):
            # Strict input: an unknown or immutable key is 400 CRM-0007.
            component["additionalProperties"] = False
            if "metadata" in properties:
                properties["metadata"] = _metadata_schema(patch=name.startswith("Patched"))
        for schema in properties.values():
            # One enum component per value set, whether it came from a ChoiceField (which
            # tags it with its labels) or an EnumField (which has none).
            schema.pop("x-spec-enum-id", None)
        # Docstrings of the implementation classes are not API documentation.
        component.pop("description", None)
        if name == "RelatedPartyInputRequest":
            # docs/api.md §4.4: document (CRM-0026), name (CRM-0027), role (CRM-0025), startDate
            # (CRM-0028) are required; `id` is ignored.
            component["required"] = ["document", "name", "role", "startDate"]
            for key in ("document", "name"):
                properties[key] = {**properties[key], "minLength": 1}
                properties[key].pop("nullable", None)
            properties["startDate"].pop("nullable", None)
            component["description"] = (
                "A related party to add (appended on PATCH). `endDate` must not be before "
                "`startDate` (CRM-0029); `id` is ignored (the server assigns one)."
            )
        if "relatedParties" in properties and name.endswith("Request"):
            properties["relatedParties"]["description"] = (
                f"At most {settings.MAX_RELATED_PARTIES} related parties per alias account in "
                "all, those already stored included (400 CRM-0015)."
                + (
                    " Appended; `[]` does nothing, null removes every party."
                    if "Patched" in name
                    else ""
                )
            )
        if name.endswith("Request"):
            for key, schema in properties.items():
                if schema.get("format") == "date":
                    properties[key] = _input_date_schema(optional=schema.get("nullable", False))
        if name in ("Holder", "Alias"):
            component["description"] = (
                "Optional fields are left out when empty; `createdAt`, `updatedAt` and "
                "`deletedAt` (null while live) are always present."
            )
        if name == "Error":
            component["description"] = (
                "The body of every error. Messages name fields and never echo submitted values."
            )


def _complete_parameters(operation: dict) -> None:
    for parameter in operation.get("parameters", []):
        if parameter["name"] == "limit" and parameter["in"] == "query":
            parameter["schema"]["maximum"] = settings.MAX_PAGINATION_LIMIT
            parameter["description"] = (
                f"Page size, 1..{settings.MAX_PAGINATION_LIMIT} (default 10). Not an integer "
                "or < 1: 400 CRM-0016; over the maximum: 400 CRM-0009."
            )
        elif parameter["name"] == "page" and parameter["in"] == "query":
            parameter["schema"]["maximum"] = MAX_PAGE
            parameter["description"] = "Page number from 1 (default 1); invalid: 400 CRM-0016."
        elif parameter["name"] == "sort_order" and parameter["in"] == "query":
            parameter["description"] = (
                "Newest version first: `desc` (default) or `asc`; anything else: 400 CRM-0011."
                if parameter["schema"].get("default") == "desc"
                else "By creation: `asc` (default) or `desc`; anything else: 400 CRM-0011."
            )
        elif parameter["name"] == "cursor" and parameter["in"] == "query":
            parameter["description"] = (
                "Keyset paging (opt-in): present and empty for the first page, then a "
                "`next_cursor`/`prev_cursor` of the previous response. The page is then "
                "`{items, limit, next_cursor?, prev_cursor?}`, as fast at any depth; `page` "
                "must be absent or 1. A malformed cursor: 400 CRM-0016."
            )


def _public_paths() -> dict[str, dict]:
    """`/health`, `/version`, `/readyz`: plain Django views, public, no organization."""

    def operation(operation_id: str, summary: str, responses: dict) -> dict:
        return {
            "get": {
                "operationId": operation_id,
                "summary": summary,
                "tags": [PUBLIC_TAG],
                "security": [],
                "responses": responses,
            }
        }

    readiness = {
        "type": "object",
        "required": ["status", "checks", "version"],
        "properties": {
            "status": {"type": "string", "enum": ["healthy", "unhealthy"]},
            "checks": {
                "type": "object",
                "additionalProperties": {
                    "type": "object",
                    "required": ["status"],
                    "properties": {
                        "status": {"type": "string", "description": "`up` when it passed."}
                    },
                },
            },
            "version": {"type": "string"},
        },
    }
    json_body = {"application/json": {"schema": readiness}}
    return {
        "/health": operation(
            "health",
            "Liveness (never touches the database)",
            {
                "200": {
                    "description": "The process answers.",
                    "headers": RESPONSE_HEADERS,
                    "content": {"text/plain": {"schema": {"type": "string", "enum": ["healthy"]}}},
                }
            },
        ),
        "/version": operation(
            "version",
            "Service version",
            {
                "200": {
                    "description": "The version and the server time.",
                    "headers": RESPONSE_HEADERS,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["version", "requestDate"],
                                "properties": {
                                    "version": {"type": "string"},
                                    "requestDate": {"type": "string", "format": "date-time"},
                                },
                            }
                        }
                    },
                }
            },
        ),
        "/readyz": operation(
            "readyz",
            "Readiness (database check)",
            {
                "200": {"description": "Ready.", "headers": RESPONSE_HEADERS, "content": json_body},
                "503": {
                    "description": "Not ready: a check failed (the database is down or frozen).",
                    "headers": RESPONSE_HEADERS,
                    "content": json_body,
                },
            },
        ),
    }


def complete_document(result, generator, request, public):
    """Postprocessing hook: error responses, security, parameters and components that
    introspection cannot see (see the module docstring)."""
    auth = settings.PLUGIN_AUTH_ENABLED
    security = [{"ApiToken": []}] if auth else [{}, {"ApiToken": []}]
    for path, item in result.get("paths", {}).items():
        if not path.startswith("/v1/"):
            continue
        for operation in item.values():
            operation["security"] = security
            responses = operation.setdefault("responses", {})
            for status, response in _shared_errors().items():
                responses.setdefault(status, response)
            idempotent = any(
                parameter["name"] == IDEMPOTENCY_KEY_HEADER.name
                for parameter in operation.get("parameters", [])
            )
            for status, response in responses.items():
                headers = response.setdefault("headers", {})
                headers.update(RESPONSE_HEADERS)
                if idempotent:
                    headers.update(REPLAYED_HEADERS)
                    if status == "409":  # CRM-0910: the same key is still in progress
                        headers.update(RETRY_AFTER)
            _complete_parameters(operation)
    result["paths"].update(_public_paths())
    _complete_components(result.setdefault("components", {}).setdefault("schemas", {}))
    result["info"]["description"] = (
        result["info"].get("description", "")
        + "\n\nEvery `/v1` request carries `X-Organization-Id`. Every error is JSON "
        "`{code, title, message, fields?}` (the `Error` schema). POST and PATCH accept "
        "`Idempotency-Key` (or `X-Idempotency`). Caps: request bodies up to "
        f"{settings.MAX_REQUEST_BODY_BYTES} bytes (413 CRM-0905), pages up to "
        f"{settings.MAX_PAGINATION_LIMIT} items, metadata up to {MAX_METADATA_KEYS} keys, "
        f"{settings.MAX_RELATED_PARTIES} related parties per alias account (400 CRM-0015)."
    )
    return result


def strip_optional_trailing_slash(result, generator, request, public):
    """The router accepts an optional trailing slash (`/?`); document the canonical paths."""
    result["paths"] = {
        (path.rstrip("/") or "/"): item for path, item in result.get("paths", {}).items()
    }
    return result
