"""API-token authentication and per-resource permissions (CONTRACT §10).

Off unless `PLUGIN_AUTH_ENABLED=true`. Then every `/v1` call needs `Authorization: Bearer
<token>` (or the bare token, as the reference accepts): missing or unknown -> 401 CRM-0901; a
`resource:action` pair the token lacks -> 403 CRM-0902; an organization the token may not touch
-> 404 on object routes (existence is never confirmed) and 403 CRM-0902 on collection routes.
"""

import hashlib
import secrets

from django.conf import settings
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed, NotAuthenticated, PermissionDenied
from rest_framework.permissions import BasePermission

from crm.errors import CRMError
from crm.models import ApiToken

TOKEN_PREFIX = "crm_"


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def issue_token(token: ApiToken) -> str:
    """Give `token` a fresh secret; returns the secret (shown once, never stored)."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token.key_hash = hash_token(raw)
    token.key_prefix = raw[:12]
    return raw


class ApiTokenAuthentication(BaseAuthentication):
    def authenticate(self, request):
        if not settings.PLUGIN_AUTH_ENABLED:
            return None
        header = request.headers.get("Authorization", "").strip()
        raw = header[7:].strip() if header.lower().startswith("bearer ") else header
        if not raw:
            raise NotAuthenticated()
        token = ApiToken.objects.filter(key_hash=hash_token(raw), is_active=True).first()
        if token is None:
            raise AuthenticationFailed()
        return (None, token)

    def authenticate_header(self, request) -> str:
        return "Bearer"


class HasResourcePermission(BasePermission):
    def has_permission(self, request, view) -> bool:
        if not settings.PLUGIN_AUTH_ENABLED:
            return True
        token = request.auth
        if not isinstance(token, ApiToken):
            raise NotAuthenticated()
        if not token.allows_organization(request.organization_id):
            if request.path_ids:  # an object route: never confirm that the object exists
                raise CRMError(view.not_found_code)
            raise PermissionDenied()
        if not token.allows(view.resource, request.method.lower()):
            raise PermissionDenied()
        return True
