"""Tenancy: every `/v1` request names its organization in `X-Organization-Id` (docs/api.md §2).

Missing -> 400 CRM-0018; not a UUID -> 400 CRM-0022. The value is case-insensitive and is
normalised to a `uuid.UUID`; every query of a registry view is filtered by it, so another
organization's record is simply not found (404), never forbidden (403).
"""

import uuid

from rest_framework.permissions import BasePermission

from crm.api.errors import CRMError
from crm.ids import parse_uuid

ORGANIZATION_HEADER = "X-Organization-Id"


def organization_from_headers(headers) -> uuid.UUID:
    raw = headers.get(ORGANIZATION_HEADER)
    if raw is None or raw.strip() == "":
        raise CRMError("CRM-0018", f"The {ORGANIZATION_HEADER} header is required.")
    organization_id = parse_uuid(raw.strip())
    if organization_id is None:
        raise CRMError("CRM-0022", f"The {ORGANIZATION_HEADER} header must be a valid UUID.")
    return organization_id


class OrganizationHeader(BasePermission):
    """DRF permission hook, first of the `/v1` permissions: resolves the organization once per
    request into `request.organization_id` (400 CRM-0018 / CRM-0022 when missing or invalid);
    selectors, services, filters, throttles and token checks all read it from there."""

    def has_permission(self, request, view) -> bool:
        request.organization_id = organization_from_headers(request.headers)
        return True


class UUIDPathParameters(BasePermission):
    """Every `*id` path parameter must be a UUID (400 CRM-0005 otherwise); the parsed values
    are left in `request.path_ids`. Runs before the token check, so a malformed id is a 400
    whoever asks."""

    def has_permission(self, request, view) -> bool:
        parsed: dict[str, uuid.UUID] = {}
        for name, raw in view.kwargs.items():
            if name == "id" or name.endswith("_id"):
                value = parse_uuid(raw)
                if value is None:
                    raise CRMError("CRM-0005", f"Invalid path parameter '{name}': must be a UUID.")
                parsed[name] = value
        request.path_ids = parsed
        return True
