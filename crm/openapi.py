"""OpenAPI helpers: the headers and query parameters every `/v1` operation shares."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter

ORGANIZATION_HEADER = OpenApiParameter(
    "X-Organization-Id",
    OpenApiTypes.UUID,
    OpenApiParameter.HEADER,
    required=True,
    description="Organization (tenant) that owns the data.",
)
REQUEST_ID_HEADER = OpenApiParameter(
    "X-Request-Id",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description="Correlation id, echoed back (generated when absent).",
)
INCLUDE_DELETED = OpenApiParameter(
    "include_deleted",
    OpenApiTypes.BOOL,
    OpenApiParameter.QUERY,
    required=False,
    description="`true` includes soft-deleted records.",
)
HARD_DELETE = OpenApiParameter(
    "hard_delete",
    OpenApiTypes.BOOL,
    OpenApiParameter.QUERY,
    required=False,
    description="`true` erases the record for good instead of soft-deleting it.",
)
METADATA_FILTER = OpenApiParameter(
    "metadata.<key>",
    OpenApiTypes.STR,
    OpenApiParameter.QUERY,
    required=False,
    description="Equality on a metadata key; several combine with AND.",
)
COMMON_HEADERS = [ORGANIZATION_HEADER, REQUEST_ID_HEADER]


def filter_parameters(filterset_class) -> list[OpenApiParameter]:
    """The query parameters of a list, read from its FilterSet (the list selectors run the
    FilterSet themselves, so drf-spectacular's filter-backend inspection does not see it)."""
    import django_filters

    return [
        OpenApiParameter(
            name,
            OpenApiTypes.UUID if isinstance(item, django_filters.UUIDFilter) else OpenApiTypes.STR,
            OpenApiParameter.QUERY,
            required=False,
            description=item.label or f"Equality on `{name}`.",
        )
        for name, item in filterset_class.base_filters.items()
    ]


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """Documents `crm.auth.ApiTokenAuthentication` as a bearer token."""

    target_class = "crm.auth.ApiTokenAuthentication"
    name = "ApiToken"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "Integration API token."}


def strip_optional_trailing_slash(result, generator, request, public):
    """The router accepts an optional trailing slash (`/?`); document the canonical paths."""
    result["paths"] = {
        (path.rstrip("/") or "/"): item for path, item in result.get("paths", {}).items()
    }
    return result
