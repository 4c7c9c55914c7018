"""The OpenAPI documentation of the holder endpoints (docs/api.md §3): `holder_schema`
decorates `holders.views.HolderViewSet`. Shared parameters and error responses come from
`crm.api.openapi`."""

from drf_spectacular.utils import extend_schema, extend_schema_view

from crm.api import openapi
from crm.api.history import VersionSerializer
from holders.filtersets import HolderFilterSet
from holders.serializers import HolderSerializer

HOLDER_ID = openapi.path_uuid("id")
HOLDER_NOT_FOUND = ("CRM-0006",)
TAGS = ["Holders"]

holder_schema = extend_schema_view(
    list=extend_schema(
        summary="List holders",
        description="The organization's holders, a page at a time, oldest first (or "
        "`sort_order=desc`). Filters combine with AND; `document` matches any formatting "
        "(`123.456.789-00` = `12345678900`).\n\n" + openapi.METADATA_FILTER_DESCRIPTION,
        tags=TAGS,
        parameters=[
            *openapi.COMMON_HEADERS,
            openapi.INCLUDE_DELETED,
            *openapi.filter_parameters(HolderFilterSet),
            openapi.METADATA_FILTER,
        ],
        responses={
            200: HolderSerializer(many=True),
            **openapi.error_responses(bad_request=openapi.LIST_CODES),
        },
    ),
    create=extend_schema(
        summary="Create a holder",
        description="`document` is unique per organization among live holders (409 "
        "CRM-0010), in any formatting.",
        tags=TAGS,
        parameters=[
            *openapi.COMMON_HEADERS,
            *openapi.IDEMPOTENCY_HEADERS,
            openapi.etag_header(201),
        ],
        responses={
            201: HolderSerializer,
            **openapi.error_responses(
                bad_request=openapi.BODY_CODES, conflict=("CRM-0010",), body=True
            ),
        },
    ),
    retrieve=extend_schema(
        summary="Get a holder (now, or as it was at an instant)",
        description="With `as_of`, the holder as it was at that instant (docs/api.md §12).",
        tags=TAGS,
        parameters=[
            *openapi.COMMON_HEADERS,
            HOLDER_ID,
            openapi.INCLUDE_DELETED,
            openapi.AS_OF,
            openapi.etag_header(200),
        ],
        responses={
            200: HolderSerializer,
            **openapi.error_responses(
                bad_request=(*openapi.PATH_CODES, "CRM-0016"), not_found=HOLDER_NOT_FOUND
            ),
        },
    ),
    versions=extend_schema(
        summary="List a holder's versions",
        description="Every change of the holder (create, update, soft delete, restore), newest "
        "first: when, who, the action and the names of the fields it set, never their values. "
        "Also for a soft-deleted holder; an erased one has none (404).",
        tags=TAGS,
        parameters=[*openapi.COMMON_HEADERS, HOLDER_ID],
        responses={
            200: VersionSerializer(many=True),
            **openapi.error_responses(
                bad_request=(*openapi.PATH_CODES, *openapi.LIST_CODES), not_found=HOLDER_NOT_FOUND
            ),
        },
    ),
    version=extend_schema(
        summary="Get a holder as it was after one version",
        description="The holder's body (as a GET returned it then) after version `number`, with "
        "that version as `ETag`.",
        tags=TAGS,
        parameters=[
            *openapi.COMMON_HEADERS,
            HOLDER_ID,
            openapi.VERSION_NUMBER,
            openapi.etag_header(200),
        ],
        responses={
            200: HolderSerializer,
            **openapi.error_responses(bad_request=openapi.PATH_CODES, not_found=HOLDER_NOT_FOUND),
        },
    ),
    partial_update=extend_schema(
        summary="Update a holder (JSON merge patch)",
        description="RFC 7396: nested objects merge, `null` removes, metadata merges per key. "
        "`type` and `document` are immutable (CRM-0007); `name` cannot be removed (CRM-0003). "
        "The body is validated before the holder is looked up. With `If-Match`, only while "
        "the holder is at that version (412 CRM-0911).",
        tags=TAGS,
        parameters=[
            *openapi.COMMON_HEADERS,
            *openapi.IDEMPOTENCY_HEADERS,
            openapi.IF_MATCH_HEADER,
            HOLDER_ID,
            openapi.etag_header(200),
        ],
        responses={
            200: HolderSerializer,
            **openapi.error_responses(
                bad_request=(*openapi.PATH_CODES, *openapi.BODY_CODES),
                not_found=HOLDER_NOT_FOUND,
                body=True,
                conditional=True,
            ),
        },
    ),
    destroy=extend_schema(
        summary="Delete a holder (soft by default)",
        description="A holder with live alias accounts cannot be deleted, soft or hard (400 "
        "CRM-0017). `hard_delete=true` erases it (also when soft-deleted) with its "
        "soft-deleted aliases and every version. With `If-Match`, only while the holder is at "
        "that version (412 CRM-0911).",
        tags=TAGS,
        parameters=[
            *openapi.COMMON_HEADERS,
            openapi.IF_MATCH_HEADER,
            HOLDER_ID,
            openapi.HARD_DELETE,
        ],
        responses={
            204: None,
            **openapi.error_responses(
                bad_request=(*openapi.PATH_CODES, "CRM-0017"),
                not_found=HOLDER_NOT_FOUND,
                conditional=True,
            ),
        },
    ),
)
