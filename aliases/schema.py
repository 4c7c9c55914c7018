"""The OpenAPI documentation of the alias endpoints (docs/api.md §3): `holder_alias_schema`
decorates `aliases.views.HolderAliasViewSet` (A1-A5), `alias_list_schema` decorates
`aliases.views.AliasViewSet` (A6). Shared parameters and error responses come from
`crm.api.openapi`."""

from drf_spectacular.utils import extend_schema, extend_schema_view

from aliases.filtersets import AliasFilterSet
from aliases.models import RelatedPartyRole
from aliases.serializers import AliasSerializer
from crm.api import openapi

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
        parameters=[*openapi.COMMON_HEADERS, *openapi.IDEMPOTENCY_HEADERS, HOLDER_ID],
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
        summary="Get an alias account",
        tags=TAGS,
        parameters=[*openapi.COMMON_HEADERS, HOLDER_ID, ALIAS_ID, openapi.INCLUDE_DELETED],
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
        "the alias creation date is CRM-0023. An alias under another holder is 404 CRM-0008.",
        tags=TAGS,
        parameters=[*openapi.COMMON_HEADERS, *openapi.IDEMPOTENCY_HEADERS, HOLDER_ID, ALIAS_ID],
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
            ),
        },
    ),
    destroy=extend_schema(
        summary="Delete an alias account (soft by default)",
        description="`hard_delete=true` erases it for good (also when soft-deleted).",
        tags=TAGS,
        parameters=[*openapi.COMMON_HEADERS, HOLDER_ID, ALIAS_ID, openapi.HARD_DELETE],
        responses={
            204: None,
            **openapi.error_responses(bad_request=openapi.PATH_CODES, not_found=ALIAS_NOT_FOUND),
        },
    ),
    remove_related_party=extend_schema(
        summary="Remove a related party from an alias account",
        description="Removes the party and its search hash.",
        tags=TAGS,
        parameters=[*openapi.COMMON_HEADERS, HOLDER_ID, ALIAS_ID, RELATED_PARTY_ID],
        request=None,
        responses={
            204: None,
            **openapi.error_responses(
                bad_request=openapi.PATH_CODES, not_found=(*ALIAS_NOT_FOUND, "CRM-0024")
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
