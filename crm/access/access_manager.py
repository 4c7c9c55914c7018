"""Access Manager mode (docs/api.md §10, docs/api.md §10): every `/v1` decision is delegated to the
Lerian Access Manager (`plugin-auth`), as Midaz does through lib-auth.

The protocol, as lib-auth's `Authorize(product, resource, action)` speaks it:

* The bearer token is parsed as a JWT **without** verifying it (the Access Manager is the trust
  anchor) unless `PLUGIN_AUTH_JWKS_URL` is set, then its signature, expiry (and issuer/audience
  when configured) are verified with PyJWT against that key set first.
* The subject: a token whose `type` claim is not `normal-user` is a machine token and acts as
  `admin/<product>-editor-role` (`admin/plugin-crm-editor-role` for Midaz CRM v3,
  `admin/midaz-editor-role` for v4); a `normal-user` token is `<owner>/<sub>`, and a missing
  `owner` or `sub` is a 401.
* `POST {PLUGIN_AUTH_ADDRESS}/v1/authorize` with `{"sub", "resource", "action"}` (plus
  `"product"` for normal users), the caller's `Authorization` forwarded; a 2xx answers
  `{"authorized": true|false, "timestamp": …}`.

What is ours: a pooled HTTP client (connection reuse, `PLUGIN_AUTH_TIMEOUT_SECONDS` bounding the
whole call — connect, send, headers and body — not each read: `crm.access.deadline_transport`,
so an Access Manager trickling its answer is cut off like a silent one; no redirects followed),
a short decision cache keyed by a SHA-256 of the token (never the token), and fail-closed
outcomes in the contract's codes: an unreachable, slow, erroring or garbling Access Manager is
503 CRM-0908, never a pass. With telemetry on, each call is a client span and carries the
request's `traceparent` (crm.observability.tracing).
"""

import hashlib
import logging
import os
import threading
import time
import uuid
from dataclasses import dataclass, field
from enum import Enum
from urllib.parse import urlsplit, urlunsplit

import httpx
import jwt
from django.conf import settings
from django.core.cache import cache

from crm.access.deadline_transport import DeadlineTransport
from crm.observability import metrics, tracing

logger = logging.getLogger("crm.access.access_manager")

NORMAL_USER = "normal-user"


class Unauthenticated(Exception):
    """The token is missing, unreadable, or names nobody: 401 CRM-0901."""


class Unavailable(Exception):
    """The Access Manager (or the JWKS endpoint) gave no usable answer: 503 CRM-0908."""


class Decision(Enum):
    ALLOW = "allow"
    DENY = "deny"


@dataclass(frozen=True)
class Principal:
    """The caller as the Access Manager sees it. `name` is what the audit trail records as the
    actor (a subject is an identifier, never a person's name). `organizations` is None when the
    token carries no organization claim (no restriction beyond the Access Manager's)."""

    token: str = field(repr=False)
    subject: str
    normal_user: bool
    organizations: frozenset[str] | None

    @property
    def name(self) -> str:
        return self.subject

    def allows_organization(self, organization_id: uuid.UUID) -> bool:
        return self.organizations is None or str(organization_id) in self.organizations


# --- Mode ----------------------------------------------------------------------------------------


def mode() -> str:
    """The access-control mode in force: "access_manager", "api_tokens" or "off"."""
    if not settings.PLUGIN_AUTH_ENABLED:
        return "off"
    return "access_manager" if settings.PLUGIN_AUTH_ADDRESS else "api_tokens"


def public_address(address: str) -> str:
    """The address without credentials, query or fragment: safe to log and to show."""
    parts = urlsplit(address)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def describe() -> dict[str, str]:
    """The mode for `/readyz` and the start-up log line: no secret, no token."""
    described = {"mode": mode()}
    if described["mode"] == "access_manager":
        described["address"] = public_address(settings.PLUGIN_AUTH_ADDRESS)
        described["product"] = settings.PLUGIN_AUTH_PRODUCT
        described["signatureVerification"] = "jwks" if settings.PLUGIN_AUTH_JWKS_URL else "off"
    return described


# --- The token -----------------------------------------------------------------------------------


def bearer_token(header: str) -> str:
    """The token of an `Authorization` header: `Bearer <token>` or the bare token (as the
    reference accepts); "" when there is none."""
    header = header.strip()
    return header[7:].strip() if header.lower().startswith("bearer ") else header


_jwks_client: jwt.PyJWKClient | None = None
_jwks_lock = threading.Lock()


def _jwks() -> jwt.PyJWKClient:
    global _jwks_client
    with _jwks_lock:
        if _jwks_client is None or _jwks_client.uri != settings.PLUGIN_AUTH_JWKS_URL:
            _jwks_client = jwt.PyJWKClient(
                settings.PLUGIN_AUTH_JWKS_URL,
                cache_keys=True,
                lifespan=settings.PLUGIN_AUTH_JWKS_CACHE_SECONDS,
                timeout=settings.PLUGIN_AUTH_TIMEOUT_SECONDS,
            )
        return _jwks_client


def _claims(token: str) -> dict:
    if not settings.PLUGIN_AUTH_JWKS_URL:
        try:
            claims = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError as exc:
            raise Unauthenticated("not a JWT") from exc
    else:
        try:
            key = _jwks().get_signing_key_from_jwt(token)
        except jwt.PyJWKClientConnectionError as exc:
            raise Unavailable("JWKS endpoint unreachable") from exc
        except jwt.PyJWTError as exc:  # malformed token, unknown key id
            raise Unauthenticated("no signing key for this token") from exc
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=settings.PLUGIN_AUTH_JWT_ALGORITHMS,
                issuer=settings.PLUGIN_AUTH_JWT_ISSUER or None,
                audience=settings.PLUGIN_AUTH_JWT_AUDIENCE or None,
                options={
                    "require": ["exp"],
                    "verify_aud": bool(settings.PLUGIN_AUTH_JWT_AUDIENCE),
                },
            )
        except jwt.PyJWTError as exc:
            raise Unauthenticated("signature or claims rejected") from exc
    if not isinstance(claims, dict):
        raise Unauthenticated("claims are not an object")
    return claims


def _organizations(claims: dict) -> frozenset[str] | None:
    """The organizations the token names in any of `PLUGIN_AUTH_ORGANIZATION_CLAIMS` (a UUID or
    a list of them); None when it names none. A claim that is present but holds no valid UUID
    allows nothing (fail closed)."""
    present = [claims[name] for name in settings.PLUGIN_AUTH_ORGANIZATION_CLAIMS if name in claims]
    if not present:
        return None
    found: set[str] = set()
    for value in present:
        for item in value if isinstance(value, list) else [value]:
            try:
                found.add(str(uuid.UUID(str(item))))
            except ValueError:
                continue
    return frozenset(found)


def principal(token: str) -> Principal:
    """The caller of `token`, with the subject derived exactly as lib-auth derives it."""
    if not token:
        raise Unauthenticated("missing token")
    claims = _claims(token)
    if claims.get("type") != NORMAL_USER:
        subject = f"admin/{settings.PLUGIN_AUTH_PRODUCT}-editor-role"
        normal_user = False
    else:
        owner, sub = claims.get("owner"), claims.get("sub")
        if not (isinstance(owner, str) and owner and isinstance(sub, str) and sub):
            raise Unauthenticated("owner or sub claim missing")
        subject, normal_user = f"{owner}/{sub}", True
    return Principal(token, subject, normal_user, _organizations(claims))


# --- The HTTP client -----------------------------------------------------------------------------

_client: httpx.Client | None = None
_client_pid: int | None = None
_client_lock = threading.Lock()


def client() -> httpx.Client:
    """One pooled, thread-safe client per process (gthread workers share it): connections to
    the Access Manager are kept alive and reused. Created lazily, and again after a fork.
    Each call ends within `PLUGIN_AUTH_TIMEOUT_SECONDS` as a whole (`DeadlineTransport`)."""
    global _client, _client_pid
    with _client_lock:
        if _client is None or _client_pid != os.getpid():
            bound = settings.PLUGIN_AUTH_TIMEOUT_SECONDS
            _client = httpx.Client(
                timeout=httpx.Timeout(bound),
                transport=DeadlineTransport(
                    total_seconds=bound,
                    limits=httpx.Limits(
                        max_connections=settings.PLUGIN_AUTH_MAX_CONNECTIONS,
                        max_keepalive_connections=settings.PLUGIN_AUTH_MAX_CONNECTIONS,
                        keepalive_expiry=30,
                    ),
                ),
                follow_redirects=False,  # a redirect is never a decision (lib-auth v5 too)
                # No proxy from the environment between us and the decider: the transport is
                # ours, and `trust_env=False` keeps httpx from mounting a proxy transport.
                trust_env=False,
            )
            _client_pid = os.getpid()
        return _client


def reset_client() -> None:
    """Drop the pooled client (tests change the address or timeout)."""
    global _client
    with _client_lock:
        if _client is not None:
            _client.close()
        _client = None


# --- Asking --------------------------------------------------------------------------------------

# During an outage every request fails: one warning per WARN_EVERY_SECONDS per process (with the
# number of failures since the last one) rather than one line per request.
WARN_EVERY_SECONDS = 10.0
_warned_at = 0.0
_unwarned = 0
_warn_lock = threading.Lock()


def _warn(reason: str) -> None:
    global _warned_at, _unwarned
    with _warn_lock:
        now = time.monotonic()
        if _warned_at and now - _warned_at < WARN_EVERY_SECONDS:
            _unwarned += 1
            return
        since, _unwarned, _warned_at = _unwarned, 0, now
    suffix = f" ({since} more failures since the last warning)" if since else ""
    logger.warning("access manager gave no decision: %s%s", reason, suffix)


def reset_warning_throttle() -> None:
    """Forget the last outage warning: the next failure warns at once (tests that look at the
    warning; in a running process the throttle only ever delays a line)."""
    global _warned_at, _unwarned
    with _warn_lock:
        _warned_at, _unwarned = 0.0, 0


def resource_name(resource: str) -> str:
    """Our resource (`holders`, `aliases`) as the Access Manager names it (v4: `instruments`)."""
    return settings.PLUGIN_AUTH_RESOURCES.get(resource, resource)


def cache_key(token: str, resource: str, action: str) -> str:
    digest = hashlib.sha256(token.encode()).hexdigest()
    return f"crm:am:{digest}:{settings.PLUGIN_AUTH_PRODUCT}:{resource}:{action}"


def _ask(who: Principal, resource: str, action: str) -> Decision:
    body = {"sub": who.subject, "resource": resource, "action": action}
    if who.normal_user and settings.PLUGIN_AUTH_PRODUCT:
        body["product"] = settings.PLUGIN_AUTH_PRODUCT
    url = settings.PLUGIN_AUTH_ADDRESS.rstrip("/") + "/v1/authorize"
    try:
        headers = tracing.inject({"Authorization": f"Bearer {who.token}"})  # + traceparent
        response = client().post(url, json=body, headers=headers)
    except httpx.HTTPError as exc:
        _warn(f"unreachable ({type(exc).__name__})")
        raise Unavailable(type(exc).__name__) from exc
    status = response.status_code
    if status in (401, 404):  # the token is invalid, or names no subject the manager knows
        raise Unauthenticated(f"access manager answered {status}")
    if status == 403:
        return Decision.DENY
    if not 200 <= status < 300:  # 3xx, other 4xx (the manager refused *our* request), 5xx
        _warn(f"status {status}")
        raise Unavailable(f"status {status}")
    try:
        answer = response.json()
    except ValueError as exc:
        _warn("a body that is not JSON")
        raise Unavailable("not JSON") from exc
    authorized = answer.get("authorized") if isinstance(answer, dict) else None
    if not isinstance(authorized, bool):
        _warn("no boolean 'authorized' in the answer")
        raise Unavailable("no decision")
    return Decision.ALLOW if authorized else Decision.DENY


def _failure_reason(failure: Unavailable) -> str:
    cause = failure.__cause__
    if isinstance(cause, httpx.TimeoutException):
        return "timeout"
    return "unreachable" if isinstance(cause, httpx.HTTPError) else "bad_answer"


def _measured_ask(who: Principal, resource: str, action: str) -> Decision:
    """`_ask`, with its duration, decision or failure recorded (docs/operations.md "Metrics")."""
    started = time.perf_counter()
    outcome = "unavailable"
    try:
        decision = _ask(who, resource, action)
        outcome = decision.value
        metrics.access_manager_decided(outcome, source="manager")
        return decision
    except Unauthenticated:
        outcome = "unauthenticated"
        raise
    except Unavailable as failure:
        metrics.access_manager_failed(_failure_reason(failure))
        raise
    finally:
        metrics.access_manager_called(outcome, time.perf_counter() - started)


def _span_attributes(resource: str, action: str) -> dict[str, str | int] | None:
    """The attributes of the Access Manager call's span (None with telemetry off): what was
    asked and where, never who asked (the subject) nor the token."""
    if not tracing.enabled():
        return None
    parts = urlsplit(settings.PLUGIN_AUTH_ADDRESS)
    attributes: dict[str, str | int] = {
        "http.request.method": "POST",
        "server.address": parts.hostname or "",
        "crm.access.resource": resource,
        "crm.access.action": action,
    }
    if parts.port:
        attributes["server.port"] = parts.port
    return attributes


def authorize(who: Principal, resource: str, action: str) -> bool:
    """May `who` perform `action` on `resource`? Answers from the decision cache when it can
    (`PLUGIN_AUTH_CACHE_SECONDS`; 0 turns it off), else asks the Access Manager. Raises
    `Unauthenticated` or `Unavailable`; only authoritative answers are cached."""
    resource = resource_name(resource)
    ttl = settings.PLUGIN_AUTH_CACHE_SECONDS
    key = cache_key(who.token, resource, action)
    if ttl > 0:
        cached = cache.get(key)
        if cached is not None:
            metrics.access_manager_decided(cached, source="cache")
            return cached == Decision.ALLOW.value
    attributes = _span_attributes(resource, action)
    with tracing.span("access_manager authorize", kind="client", attributes=attributes) as span:
        decision = _measured_ask(who, resource, action)
        span.set_attribute("crm.access.decision", decision.value)
    if ttl > 0:
        cache.set(key, decision.value, ttl)
    return decision is Decision.ALLOW
