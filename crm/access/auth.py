"""Access control of `/v1` (docs/api.md §10): three modes, chosen by two settings.

* **off** (`PLUGIN_AUTH_ENABLED=false`, the default for local use): every call is allowed.
* **api_tokens** (`PLUGIN_AUTH_ENABLED=true`, no `PLUGIN_AUTH_ADDRESS`): our own tokens, made in
  the admin, with an expiry; only a SHA-256 of the secret is stored.
* **access_manager** (`PLUGIN_AUTH_ENABLED=true` and `PLUGIN_AUTH_ADDRESS`): the Lerian Access
  Manager decides (`crm.access.access_manager`).

In both enforcing modes: no token, an unknown, expired or unreadable one -> 401 CRM-0901 with
`WWW-Authenticate: Bearer`; a `resource:action` pair not allowed -> 403 CRM-0902; an
organization the credentials may not touch -> 404 on object routes (existence is never
confirmed) and 403 CRM-0902 on collection routes. The Access Manager unreachable, slow or
garbling -> 503 CRM-0908 (fail closed).
"""

import datetime as dt
import hashlib
import logging
import secrets

from django.conf import settings
from django.db import DatabaseError
from django.db.models import Q
from django.utils import timezone
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed, NotAuthenticated, PermissionDenied
from rest_framework.permissions import BasePermission

from crm.access import access_manager
from crm.api.errors import CRMError
from crm.models import ApiToken

logger = logging.getLogger("crm.access.auth")

TOKEN_PREFIX = "crm_"
# `last_used_at` is written at most this often per token: one UPDATE a minute, not per request.
LAST_USED_RESOLUTION = dt.timedelta(seconds=60)


def _unavailable() -> CRMError:
    """503 CRM-0908: the Access Manager gave no decision; never a pass."""
    return CRMError("CRM-0908", headers={"Retry-After": "5"})


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def issue_token(token: ApiToken) -> str:
    """Give `token` a fresh secret; returns the secret (shown once, never stored)."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token.key_hash = hash_token(raw)
    token.key_prefix = raw[:12]
    return raw


def _api_token(raw: str) -> ApiToken:
    now = timezone.now()
    token = (
        ApiToken.objects.filter(key_hash=hash_token(raw), is_active=True)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .first()
    )
    if token is None:
        raise AuthenticationFailed()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        try:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        except DatabaseError as exc:
            # A read served by a replica while the primary is down (a failover) still answers:
            # the use is recorded at the token's next request that reaches the primary.
            logger.warning("could not record the API token's use: %s", type(exc).__name__)
    return token


class ApiTokenAuthentication(BaseAuthentication):
    """Resolves the caller: an `ApiToken` or an `access_manager.Principal` in `request.auth`."""

    def authenticate(self, request):
        if not settings.PLUGIN_AUTH_ENABLED:
            return None
        raw = access_manager.bearer_token(request.headers.get("Authorization", ""))
        if not raw:
            raise NotAuthenticated()
        if not settings.PLUGIN_AUTH_ADDRESS:
            return (None, _api_token(raw))
        try:
            return (None, access_manager.principal(raw))
        except access_manager.Unauthenticated:
            raise AuthenticationFailed() from None
        except access_manager.Unavailable:
            raise _unavailable() from None

    def authenticate_header(self, request) -> str:
        return "Bearer"


class HasResourcePermission(BasePermission):
    """Runs after the organization and path ids are resolved (`crm.api.tenancy`)."""

    def has_permission(self, request, view) -> bool:
        if not settings.PLUGIN_AUTH_ENABLED:
            return True
        caller = request.auth
        if not isinstance(caller, ApiToken | access_manager.Principal):
            raise NotAuthenticated()
        if not caller.allows_organization(request.organization_id):
            if request.path_ids:  # an object route: never confirm that the object exists
                raise CRMError(view.not_found_code)
            raise PermissionDenied()
        action = request.method.lower()
        if isinstance(caller, ApiToken):
            allowed = caller.allows(view.resource, action)
        else:
            try:
                allowed = access_manager.authorize(caller, view.resource, action)
            except access_manager.Unauthenticated:
                raise AuthenticationFailed() from None
            except access_manager.Unavailable:
                raise _unavailable() from None
        if not allowed:
            raise PermissionDenied()
        return True
