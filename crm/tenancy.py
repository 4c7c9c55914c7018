"""Tenancy: every `/v1` request names its organization in `X-Organization-Id` (CONTRACT §2).

Missing -> 400 CRM-0018; not a UUID -> 400 CRM-0022. The value is case-insensitive and is
normalised to a `uuid.UUID`; every query of a registry view is filtered by it, so another
organization's record is simply not found (404), never forbidden (403).
"""

import uuid

from crm.errors import CRMError
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
