"""The OpenAPI documentation of the alias endpoints (docs/api.md §3): `holder_alias_schema`
decorates `aliases.views.HolderAliasViewSet` (A1-A5), `alias_list_schema` decorates
`aliases.views.AliasViewSet` (A6). Shared parameters and error responses come from
`crm.api.openapi`."""

from drf_spectacular.utils import extend_schema, extend_schema_view

from aliases.filtersets import AliasFilterSet
from aliases.models import RelatedPartyRole
from aliases.serializers import AliasSerializer
from crm.api import openapi
from crm.api.history import VersionSerializer

HOLDER_ID = openapi.path_uuid("holder_id")
ALIAS_ID = openapi.path_uuid("alias_id")
RELATED_PARTY_ID = openapi.path_uuid("related_party_id")
ALIAS_NOT_FOUND = ("CRM-0008",)
TAGS = ["Alias accounts"]

holder_alias_schema = extend_schema_view(
    create=extend_schema(
        summary="Create an alias account for a holder",
        description="Links a live holder to a ledger account; `document` and `type` are copied "
        "from the holder. `accountId` is unique per organization among live aliases (409 "
        "CRM-0013). A missing or soft-deleted holder is 404 CRM-0006.",
        tags=TAGS,
        parameters=[
            *openapi.COMMON_HEADERS,
            *openapi.IDEMPOTENCY_HEADERS,
            HOLDER_ID,
            openapi.etag_header(201),
        ],
        responses={
            201: AliasSerializer,
            **openapi.error_responses(
                bad_request=(
                    *openapi.PATH_CODES,
                    *openapi.BODY_CODES,
                    *openapi.RELATED_PARTY_CODES,
                ),
                not_found=("CRM-0006",),
                conflict=("CRM-0013",),
                body=True,
            ),
        },
    ),
    retrieve=extend_schema(
        summary="Get an alias account (now, or as it was at an instant)",
        description="With `as_of`, the alias as it was at that instant (docs/api.md §12).",
        tags=TAGS,
        parameters=[
            *openapi.COMMON_HEADERS,
            HOLDER_ID,
            ALIAS_ID,
            openapi.INCLUDE_DELETED,
            openapi.AS_OF,
            openapi.etag_header(200),
        ],
        responses={
            200: AliasSerializer,
            **openapi.error_responses(
                bad_request=(*openapi.PATH_CODES, "CRM-0016"), not_found=ALIAS_NOT_FOUND
            ),
        },
    ),
    versions=extend_schema(
        summary="List an alias account's versions",
        description="Every change of the alias (create, update, related parties added or "
        "removed, soft delete, restore), newest first: when, who, the action and the names of "
        "the fields it set, never their values. Also for a soft-deleted alias; an erased one "
        "has none (404).",
        tags=TAGS,
        parameters=[*openapi.COMMON_HEADERS, HOLDER_ID, ALIAS_ID],
        responses={
            200: VersionSerializer(many=True),
            **openapi.error_responses(
                bad_request=(*openapi.PATH_CODES, *openapi.LIST_CODES), not_found=ALIAS_NOT_FOUND
            ),
        },
    ),
    version=extend_schema(
        summary="Get an alias account as it was after one version",
        description="The alias's body (as a GET returned it then) after version `number`, with "
        "that version as `ETag`.",
        tags=TAGS,
        parameters=[
            *openapi.COMMON_HEADERS,
            HOLDER_ID,
            ALIAS_ID,
            openapi.VERSION_NUMBER,
            openapi.etag_header(200),
        ],
        responses={
            200: AliasSerializer,
            **openapi.error_responses(bad_request=openapi.PATH_CODES, not_found=ALIAS_NOT_FOUND),
        },
    ),
    partial_update=extend_schema(
        summary="Update an alias account (JSON merge patch; relatedParties appends)",
        description="`bankingDetails`, `regulatoryFields` and `metadata` merge (RFC 7396, "
        "`null` removes); `relatedParties` appends (`[]` does nothing, `null` removes every "
        "party). `ledgerId` and `accountId` are immutable (CRM-0007); a `closingDate` before "
        "the alias creation date is CRM-0023. An alias under another holder is 404 CRM-0008. "
        "With `If-Match`, only while the alias is at that version (412 CRM-0911).",
        tags=TAGS,
        parameters=[
            *openapi.COMMON_HEADERS,
            *openapi.IDEMPOTENCY_HEADERS,
            openapi.IF_MATCH_HEADER,
            HOLDER_ID,
            ALIAS_ID,
            openapi.etag_header(200),
        ],
        responses={
            200: AliasSerializer,
            **openapi.error_responses(
                bad_request=(
                    *openapi.PATH_CODES,
                    *openapi.BODY_CODES,
                    *openapi.RELATED_PARTY_CODES,
                    "CRM-0023",
                ),
                not_found=ALIAS_NOT_FOUND,
                body=True,
                conditional=True,
            ),
        },
    ),
    destroy=extend_schema(
        summary="Delete an alias account (soft by default)",
        description="`hard_delete=true` erases it for good (also when soft-deleted), with every "
        "version. With `If-Match`, only while the alias is at that version (412 CRM-0911).",
        tags=TAGS,
        parameters=[
            *openapi.COMMON_HEADERS,
            openapi.IF_MATCH_HEADER,
            HOLDER_ID,
            ALIAS_ID,
            openapi.HARD_DELETE,
        ],
        responses={
            204: None,
            **openapi.error_responses(
                bad_request=openapi.PATH_CODES, not_found=ALIAS_NOT_FOUND, conditional=True
            ),
        },
    ),
    remove_related_party=extend_schema(
        summary="Remove a related party from an alias account",
        description="Removes the party and its search hash: a new version of the alias. With "
        "`If-Match`, only while the alias is at that version (412 CRM-0911).",
        tags=TAGS,
        parameters=[
            *openapi.COMMON_HEADERS,
            openapi.IF_MATCH_HEADER,
            HOLDER_ID,
            ALIAS_ID,
            RELATED_PARTY_ID,
        ],
        request=None,
        responses={
            204: None,
            **openapi.error_responses(
                bad_request=openapi.PATH_CODES,
                not_found=(*ALIAS_NOT_FOUND, "CRM-0024"),
                conditional=True,
            ),
        },
    ),
)

alias_list_schema = extend_schema_view(
    list=extend_schema(
        summary="List alias accounts",
        description="The organization's alias accounts, a page at a time, oldest first (or "
        "`sort_order=desc`). Every filter works and they combine with AND; document, account, "
        "IBAN and participant/related-party documents match any formatting (search hashes), "
        "related-party filters match any party of the alias.\n\n"
        + openapi.METADATA_FILTER_DESCRIPTION,
        tags=TAGS,
        parameters=[
            *openapi.COMMON_HEADERS,
            openapi.INCLUDE_DELETED,
            *openapi.filter_parameters(
                AliasFilterSet, enums={"related_party_role": RelatedPartyRole.values}
            ),
            openapi.METADATA_FILTER,
        ],
        responses={
            200: AliasSerializer(many=True),
            **openapi.error_responses(bad_request=openapi.LIST_CODES),
        },
    ),
)
