"""Idempotent writes: `Idempotency-Key` on `POST` and `PATCH` under `/v1` (docs/api.md §6).

The IETF draft `draft-ietf-httpapi-idempotency-key-header`; Midaz v4's `X-Idempotency` is the
same header (both sent must agree). One home: `IdempotentViewMixin`, a base of
`crm.api.viewsets.RegistryViewSet`, whose `initial()` ends with `claim_idempotency_key()` — after
the method check (a method the route does not serve is a 405 before any of this), the body size,
authentication, the organization, path ids, token rights, throttling and the body check, so a
request refused by those burns no key. Without a key, or on other methods, nothing changes.

1. **Key**: 1-255 printable ASCII characters, else 400 CRM-0022 "Invalid Header Value" with
   `fields` (the contract's code for a malformed header, as for `X-Organization-Id`). Only a
   SHA-256 of organization + key is stored, never the key.
2. **Claim**: an in-progress `IdempotencyRecord` is INSERTed under the unique constraint
   (organization, key hash) in its own transaction, committed before the action runs, so a
   concurrent duplicate sees it at once (this relies on `ATOMIC_REQUESTS` being off: inside a
   request-wide transaction a duplicate would wait for the first to finish, then replay). If
   the insert loses:
   * the key was used for another request (fingerprint: a keyed hash of method + path + the
     canonical JSON of the parsed body, so whitespace and key order do not matter)
     -> 422 CRM-0909;
   * it is still in progress -> 409 CRM-0910 (with `Retry-After`; nobody waits);
   * it is completed -> **replay**: the stored status and body, `Idempotent-Replayed: true`
     (and Midaz's `X-Idempotency-Replayed: true`). Fresh answers say `false`. The record is
     read under a row lock, so the replay's commit waits for the synchronous standby like a
     write's: a replay never acknowledges what a failover may still lose.
   A record older than `IDEMPOTENCY_TTL_SECONDS` (24 h) is expired: the key is new again. An
   in-progress record whose database session is gone (`crm.db.sessions`: the reservation
   survived a failover or a crash, its request did not) is taken over by the retry at once;
   where the session cannot be known, after `IDEMPOTENCY_IN_PROGRESS_TIMEOUT_SECONDS`.
3. **Execute**: the action runs in one transaction that also completes the record (status,
   encrypted body, the record it is about), so a write and its record commit together or not
   at all. Completing only a record still ours and in progress: if a retry took it over
   meanwhile, the write is rolled back (409 CRM-0910), so a request never runs twice.
4. **Errors**: a 4xx the action answers (validation 400, 404, 409 CRM-0010, ...) is a final
   answer: it is stored and replayed like a success (the draft allows it; the same request
   would get the same answer), so a corrected body needs a new key (same key -> 422). A 5xx
   (500, 503) is not stored: the reservation is deleted and a retry runs again. Errors before
   the claim (credentials, headers, throttling, unparseable JSON) and this module's own 409/422
   store nothing.
5. **Expiry and purge**: expired rows are treated as absent and purged opportunistically:
   every new claim deletes up to `PURGE_BATCH` expired rows (an index range on `created_at`),
   so the table holds about one TTL of keys. `purge_expired()` deletes them all at once.
6. **Personal data**: the stored body is encrypted (`EncryptedTextField`, rotated by
   `rotate_encryption_keys` like every encrypted column); every erasure
   (`crm.lifecycle.erasure`) deletes the records about the holders and aliases it erases (an
   alias is erased with its holder), so a hard delete leaves none behind and the same key
   then runs anew. The fingerprint, derived from the body, is an HMAC with the search-hash key
   (`crm.crypto.search`, organization-scoped like every search hash), never a plain digest: a
   refused request's record (a 409 or 400 about no record, kept until it expires) cannot be
   matched against a guessed name and document without the key.
7. **Hash-key rotation**: a claim's fingerprint is compared under the current and every
   previous hash key (`LCRYPTO_PREVIOUS_HASH_SECRET_KEYS`), so a retry that straddles the switch
   still replays. Records are not re-hashed (the body is not kept): once a previous key is
   dropped, a retry of a request first sent under it is answered 422 CRM-0909 (never run a
   second time, never another request's answer). Keep previous keys for at least
   `IDEMPOTENCY_TTL_SECONDS` after the switch (docs/api.md §7.3).

Mechanics: DRF view sets bind `self.post`/`self.patch` to the action per request, and
`claim_idempotency_key` rebinds that handler to the replay or to `_run_claimed` (the action
plus the completion); `finalize_response` stores a 4xx the action raised or releases after a
5xx, and `dispatch` releases the key should an exception escape DRF altogether.
"""

import functools
import hashlib
import json
import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from crm import lifecycle
from crm.api.errors import CRMError
from crm.crypto import search
from crm.db.sessions import session_alive, session_id
from crm.ids import parse_uuid
from crm.models import IdempotencyRecord
from crm.observability import metrics

logger = logging.getLogger("crm.api.idempotency")

KEY_HEADERS = ("Idempotency-Key", "X-Idempotency")  # the draft's name first, then Midaz v4's
REPLAYED_HEADERS = ("Idempotent-Replayed", "X-Idempotency-Replayed")
METHODS = frozenset({"POST", "PATCH"})
MAX_KEY_LENGTH = 255
PURGE_BATCH = 100
_CLAIM_ATTEMPTS = 3
IN_PROGRESS = IdempotencyRecord.State.IN_PROGRESS
COMPLETED = IdempotencyRecord.State.COMPLETED


def ttl() -> timedelta:
    return timedelta(seconds=settings.IDEMPOTENCY_TTL_SECONDS)


def in_progress_timeout() -> timedelta:
    return timedelta(seconds=settings.IDEMPOTENCY_IN_PROGRESS_TIMEOUT_SECONDS)


# --- The request's key and fingerprint ---------------------------------------------------------


def request_key(request: Request) -> str | None:
    """The key sent in `Idempotency-Key` or `X-Idempotency` (None when neither is sent)."""
    sent = {name: request.headers.get(name) for name in KEY_HEADERS}
    sent = {name: value for name, value in sent.items() if value is not None}
    if not sent:
        return None
    if len(set(sent.values())) > 1:
        raise CRMError(
            "CRM-0022",
            "Idempotency-Key and X-Idempotency carry different keys; send one key.",
            fields={name: "differs from the other idempotency header" for name in sent},
        )
    name, key = next(iter(sent.items()))
    if not (0 < len(key) <= MAX_KEY_LENGTH and key.isascii() and key.isprintable()):
        raise CRMError(
            "CRM-0022",
            f"The {name} header must be 1 to {MAX_KEY_LENGTH} printable ASCII characters.",
            fields={name: f"must be 1 to {MAX_KEY_LENGTH} printable ASCII characters"},
        )
    return key


def key_hash(organization_id: uuid.UUID, key: str) -> str:
    return hashlib.sha256(f"{organization_id}\n{key}".encode()).hexdigest()


FINGERPRINT_FIELD = "idempotency-fingerprint"  # the search hash's field name: its own domain


def _canonical_request(method: str, path: str, body: Any) -> str:
    """Method + path (trailing slash and letter case ignored, as the router does for UUIDs) +
    the parsed body, as canonical JSON (sorted keys, no whitespace)."""
    return json.dumps(
        {"method": method.upper(), "path": path.rstrip("/").lower(), "body": body},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=True,
        default=str,
    )


def fingerprint(organization_id: uuid.UUID, method: str, path: str, body: Any) -> str:
    """The fingerprint stored for a request: HMAC-SHA256 with the current search-hash key."""
    canonical = _canonical_request(method, path, body)
    return search.search_hash(organization_id, FINGERPRINT_FIELD, canonical, form=search.exact)


def fingerprints(organization_id: uuid.UUID, method: str, path: str, body: Any) -> list[str]:
    """Every fingerprint a stored record of this request may carry: current key first, then
    the previous hash keys (a rotation in progress)."""
    canonical = _canonical_request(method, path, body)
    return search.lookup_hashes(organization_id, FINGERPRINT_FIELD, canonical, form=search.exact)


# --- Claim, complete, release ------------------------------------------------------------------


@dataclass
class Claim:
    """A reservation this request holds; `done` once completed, released or taken over."""

    record_id: uuid.UUID
    done: bool = False
    stored: bool = False

    def _ours(self):
        return IdempotencyRecord.objects.filter(pk=self.record_id, state=IN_PROGRESS)

    def complete(self, response: Response, subject: tuple[str, uuid.UUID | None]) -> bool:
        """Store the answer (status, body, `ETag`); False when the reservation is no longer
        ours (taken over)."""
        kind, object_id = subject
        updated = self._ours().update(
            state=COMPLETED,
            status_code=response.status_code,
            response_body=_body_text(response),
            etag=response.get("ETag", ""),
            object_kind=kind,
            object_id=object_id,
        )
        self.done = True
        self.stored = updated == 1
        return self.stored

    def release(self) -> None:
        """Delete the reservation so that a retry runs (never fails the response)."""
        self.done = True
        try:
            self._ours().delete()
        except DatabaseError:
            logger.warning(
                "could not release idempotency record %s; a retry takes it over once its "
                "database session is gone (else after %ss)",
                self.record_id,
                settings.IDEMPOTENCY_IN_PROGRESS_TIMEOUT_SECONDS,
            )


def _taken_over(existing: IdempotencyRecord) -> bool:
    """Delete `existing` when it is expired, or in progress while its request is gone: the
    database session that reserved it no longer exists (`crm.db.sessions`: a failover, a
    crashed server or worker), or, where that cannot be known, it has been in progress for
    longer than the timeout. True when the claim should be tried again."""
    now = timezone.now()
    if existing.created_at < now - ttl():
        IdempotencyRecord.objects.filter(pk=existing.pk, created_at__lt=now - ttl()).delete()
        return True
    if existing.state == IN_PROGRESS and (
        existing.created_at < now - in_progress_timeout()
        or session_alive(connection, existing.session) is False
    ):
        IdempotencyRecord.objects.filter(pk=existing.pk, state=IN_PROGRESS).delete()
        return True
    return False


def claim(organization_id: uuid.UUID, key: str, request_fingerprints: list[str]):
    """Reserve `key` for this request: a `Claim` (run it) or the completed record (replay it).
    `request_fingerprints` are the request's `fingerprints()`: the first is stored, any of them
    matches. 422 CRM-0909 when the key belongs to another request, 409 CRM-0910 while it runs."""
    hashed = key_hash(organization_id, key)
    for _ in range(_CLAIM_ATTEMPTS):
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    organization_id=organization_id,
                    key_hash=hashed,
                    fingerprint=request_fingerprints[0],
                    session=session_id(connection),
                )
        except IntegrityError:
            existing = _holder_of_the_key(organization_id, hashed, request_fingerprints)
            if existing is None:
                continue  # released, expired or taken over meanwhile: claim again
            return existing
        _purge_quietly()
        return Claim(record.pk)
    raise CRMError("CRM-0910", headers={"Retry-After": "1"})


def _holder_of_the_key(
    organization_id: uuid.UUID, hashed: str, request_fingerprints: list[str]
) -> IdempotencyRecord | None:
    """The completed record that holds the key, to replay; None when the key is free again
    (released, expired, taken over); 422 CRM-0909 (another request's key) or 409 CRM-0910
    (still running) otherwise.

    The record is read under a row lock, and that is what makes a replay safe after a
    failover: taking the lock writes WAL, so this transaction's commit waits for the
    synchronous standby, as a write's does (docs/high-availability.md). A primary that
    restarts after a crash can show, until it is demoted, a record whose commit it wrote but
    the standby never received (that request got a 503); replaying it without the wait
    answered 201 for a holder the promoted standby does not have."""
    with transaction.atomic():
        existing = (
            IdempotencyRecord.objects.select_for_update(no_key=True)
            .filter(organization_id=organization_id, key_hash=hashed)
            .first()
        )
        if existing is None or _taken_over(existing):
            return None
        if existing.fingerprint not in request_fingerprints:
            raise CRMError("CRM-0909")
        if existing.state == IN_PROGRESS:
            raise CRMError("CRM-0910", headers={"Retry-After": "1"})
        return existing


def _purge_quietly() -> None:
    """The opportunistic purge of a new claim: a failure must not orphan the claim."""
    try:
        with transaction.atomic():
            purge_expired(batch=PURGE_BATCH)
    except DatabaseError:
        logger.warning("could not purge expired idempotency records")


def purge_expired(*, batch: int | None = None) -> int:
    """Delete expired records (all, or the oldest `batch`); returns how many."""
    expired = IdempotencyRecord.objects.filter(created_at__lt=timezone.now() - ttl())
    if batch is not None:
        ids = list(expired.order_by("created_at").values_list("pk", flat=True)[:batch])
        if not ids:
            return 0
        expired = IdempotencyRecord.objects.filter(pk__in=ids)
    return expired.delete()[0]


# --- The view set side -------------------------------------------------------------------------


def _body_text(response: Response) -> str:
    return JSONRenderer().render(response.data).decode("utf-8")


def _replay(record: IdempotencyRecord) -> Response:
    """The stored answer again: status, body and the `ETag` it carried."""
    data = json.loads(record.response_body) if record.response_body else None
    response = Response(data, status=record.status_code)
    if record.etag:
        response["ETag"] = record.etag
    return response


class IdempotentViewMixin:
    """Base of `RegistryViewSet`: runs POST/PATCH with an idempotency key once (see above)."""

    _idempotency: Claim | IdempotencyRecord | None = None

    def claim_idempotency_key(self, request: Request) -> None:
        """Called last in `initial()`: claim the key, or swap the action for the replay."""
        if request.method not in METHODS or self.action is None:
            return
        key = request_key(request)
        if key is None:
            return
        outcome = claim(
            request.organization_id,
            key,
            fingerprints(request.organization_id, request.method, request.path, request.data),
        )
        self._idempotency = outcome
        method = request.method.lower()
        if isinstance(outcome, Claim):
            setattr(self, method, functools.partial(self._run_claimed, getattr(self, method)))
        else:
            metrics.idempotency_replayed(request.method)
            setattr(self, method, lambda *args, **kwargs: _replay(outcome))

    def _run_claimed(self, action, request: Request, *args: Any, **kwargs: Any) -> Response:
        """The action and the completion of its record, in one transaction."""
        claimed = self._idempotency
        try:
            with transaction.atomic():
                response = action(request, *args, **kwargs)
                if response.status_code < 500 and not claimed.complete(
                    response, self._subject(response)
                ):
                    raise CRMError(
                        "CRM-0910",
                        "A retry took this Idempotency-Key over; this request was rolled back.",
                        headers={"Retry-After": "1"},
                    )
        except Exception:
            if claimed.stored:  # the completion rolled back with the write: still ours
                claimed.done = claimed.stored = False
            raise
        return response

    def _subject(self, response: Response) -> tuple[str, uuid.UUID | None]:
        """The record a response is about (erased with it): the `id` in the body, else the
        path's own id (e.g. a PATCH refused with 400), else the parent's id in the path (an
        alias create under a holder refused with 400 is about that holder, and goes with it)."""
        own = next((k for k in lifecycle.kinds() if k.plural == self.resource), None)
        if own is None:
            return "", None
        data = response.data
        object_id = parse_uuid(data.get("id")) if isinstance(data, dict) else None
        path_ids = getattr(self.request, "path_ids", {})
        if object_id is None:
            object_id = path_ids.get(self.lookup_url_kwarg or "")
        if object_id is None and own.parent and path_ids.get(f"{own.parent}_id"):
            return own.parent, path_ids[f"{own.parent}_id"]
        return own.name, object_id

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        state = self._idempotency
        if isinstance(state, Claim) and not state.done:
            # The action raised: store a final 4xx answer, release after a 5xx.
            if response.status_code < 500 and isinstance(response, Response):
                try:
                    state.complete(response, self._subject(response))
                except DatabaseError:
                    state.release()
            else:
                state.release()
        if isinstance(state, IdempotencyRecord) or (isinstance(state, Claim) and state.stored):
            replayed = "true" if isinstance(state, IdempotencyRecord) else "false"
            for name in REPLAYED_HEADERS:
                response[name] = replayed
        return response

    def dispatch(self, request, *args, **kwargs):
        try:
            return super().dispatch(request, *args, **kwargs)
        finally:  # an exception escaped DRF: never leave the key reserved
            if isinstance(self._idempotency, Claim) and not self._idempotency.done:
                self._idempotency.release()
