"""The audit trail's hash chain: sealing entries into it, verifying it, redacting an entry.

Why a sealer and not a hash computed by each write: a write appends its audit entry in the
same single statement as its record (`crm.db.rows.insert_rows`, the importer's COPY); chaining
there would serialise every writer of the registry on the chain's head and add a round trip to
each. So entries are written unchained and `seal()` links them afterwards, oldest first, in
batches: each gets the next position (`seq`), a keyed hash of its *body* and a keyed hash of
(previous chain hash, its *frame*, its body hash). `verify()` walks the chain in order and
recomputes every link. The window between a write and its sealing is the time to the next
`seal_audit` (or `verify_audit`, which seals first): run `seal_audit --follow` beside the
web servers to keep it to seconds (docs/operations.md).

One chain for the whole registry (not one per organization): the entries without an
organization (key rotations, exports over several organizations) belong in it too, a global
order is what an auditor reads, and sealing is a single batch job, so its lock costs no writer.

* The *frame* is what an entry always keeps: id, time, organization, actor, action and object.
* The *body* is what an erasure may clear (`redact`): changed field names, request id,
  details and the staff's reason. A redacted entry keeps its `body_hash`, so the chain still
  verifies; the verifier accepts a redacted body only on an entry whose object was erased (a
  sealed `hard_delete` entry names it).

The hashes are HMAC-SHA256 under a key derived from `LCRYPTO_HASH_SECRET_KEY` (never stored in
the database): someone who can write to the database but holds no key cannot forge a chain
that verifies. A hash-key rotation keeps old links verifiable as long as the old key stays in
`LCRYPTO_PREVIOUS_HASH_SECRET_KEYS`, or, once retired from searches, in
`AUDIT_CHAIN_RETIRED_KEYS` (each entry names its key by `chain_key`).
"""

import datetime as dt
import hashlib
import hmac
import json
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from crm.models import AuditEntry, AuditVerification

GENESIS = "0" * 64
BATCH_SIZE = 5000
# The row the sealers of several processes serialise on (PostgreSQL advisory lock id).
SEAL_LOCK = 0x6372_6D61_7564  # "crmaud"

FRAME = ("id", "created_at", "organization_id", "actor_type", "actor", "action", "object_type")
FRAME_ID = "object_id"
BODY = ("changed_fields", "request_id", "details", "reason")
READ = (*FRAME, FRAME_ID, *BODY, "redacted", "seq", "body_hash", "chain_hash", "chain_key")


# --- Keys ---------------------------------------------------------------------------------------


@lru_cache(maxsize=8)
def _chain_key(secret: str) -> tuple[str, bytes]:
    """(key id, key) derived from a hash secret: the chain never uses the search-hash key
    itself, so no chain hash can be compared with a search hash."""
    key = hmac.new(secret.encode(), b"crm.audit.chain", hashlib.sha256).digest()
    return hashlib.sha256(key).hexdigest()[:8], key


def current_key() -> tuple[str, bytes]:
    return _chain_key(settings.LCRYPTO_HASH_SECRET_KEY)


def known_keys() -> dict[str, bytes]:
    """Every configured key by id: the current one and the previous ones."""
    secrets = [
        settings.LCRYPTO_HASH_SECRET_KEY,
        *settings.LCRYPTO_PREVIOUS_HASH_SECRET_KEYS,
        *settings.AUDIT_CHAIN_RETIRED_KEYS,
    ]
    return dict(_chain_key(secret) for secret in secrets if secret)


# --- Hashes -------------------------------------------------------------------------------------


def _text(value) -> str | None:
    if value is None:
        return None
    if hasattr(value, "isoformat"):
        return value.astimezone(dt.UTC).isoformat()
    return str(value)


def frame_text(entry: dict) -> str:
    return json.dumps(
        [_text(entry[name]) for name in (*FRAME, FRAME_ID)],
        ensure_ascii=False,
        separators=(",", ":"),
    )


def body_text(entry: dict) -> str:
    body = [sorted(entry["changed_fields"] or []), entry["request_id"], entry["details"] or {}]
    return json.dumps(
        [*body, entry["reason"]], ensure_ascii=False, sort_keys=True, separators=(",", ":")
    )


def body_hash(entry: dict, key: bytes) -> str:
    return hmac.new(key, body_text(entry).encode(), hashlib.sha256).hexdigest()


def link(previous: str, entry: dict, entry_body_hash: str, key: bytes) -> str:
    """The chain hash of `entry` after `previous`."""
    message = f"{previous}\n{frame_text(entry)}\n{entry_body_hash}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


# --- Sealing ------------------------------------------------------------------------------------


def _lock_sealers() -> None:
    """One sealer at a time (PostgreSQL: an advisory lock for the transaction; SQLite's
    writers already queue behind one another)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SEAL_LOCK])


def head() -> tuple[int, str]:
    """(position, chain hash) of the last sealed entry; (0, GENESIS) for an empty chain."""
    last = (
        AuditEntry.objects.filter(seq__isnull=False)
        .order_by("-seq")
        .values_list("seq", "chain_hash")
        .first()
    )
    return last if last else (0, GENESIS)


def seal_batch(batch_size: int = BATCH_SIZE) -> int:
    """Seal the oldest `batch_size` unsealed entries in one transaction; returns how many."""
    key_id, key = current_key()
    with transaction.atomic():
        _lock_sealers()
        seq, previous = head()
        entries = list(
            AuditEntry.objects.filter(seq__isnull=True)
            .order_by("created_at", "id")
            .values(*READ)[:batch_size]
        )
        sealed = []
        for entry in entries:
            seq += 1
            entry_body_hash = body_hash(entry, key)
            previous = link(previous, entry, entry_body_hash, key)
            sealed.append(
                AuditEntry(
                    id=entry["id"],
                    seq=seq,
                    body_hash=entry_body_hash,
                    chain_hash=previous,
                    chain_key=key_id,
                )
            )
        _write_seals(sealed)
    return len(sealed)


def _write_seals(sealed: list[AuditEntry]) -> None:
    """PostgreSQL: one `UPDATE … FROM unnest(…)` per batch (Django's `bulk_update` builds a
    `CASE` per column with a branch per row, quadratic in the batch); elsewhere `bulk_update`."""
    if connection.vendor != "postgresql":
        AuditEntry.objects.bulk_update(
            sealed, ["seq", "body_hash", "chain_hash", "chain_key"], batch_size=500
        )
        return
    table = connection.ops.quote_name(AuditEntry._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS e SET seq = s.seq, body_hash = s.body_hash, "  # noqa: S608
            "chain_hash = s.chain_hash, chain_key = s.chain_key "
            "FROM unnest(%s::uuid[], %s::bigint[], %s::text[], %s::text[], %s::text[]) "
            "AS s(id, seq, body_hash, chain_hash, chain_key) WHERE e.id = s.id",
            [
                [entry.id for entry in sealed],
                [entry.seq for entry in sealed],
                [entry.body_hash for entry in sealed],
                [entry.chain_hash for entry in sealed],
                [entry.chain_key for entry in sealed],
            ],
        )


def seal(*, batch_size: int = BATCH_SIZE, progress: Callable[[int], None] | None = None) -> int:
    """Seal every entry written so far, batch by batch; returns how many were sealed."""
    total = 0
    while number := seal_batch(batch_size):
        total += number
        if progress:
            progress(total)
    return total


def unsealed() -> int:
    return AuditEntry.objects.filter(seq__isnull=True).count()


# --- Redaction ----------------------------------------------------------------------------------


def redact(object_type: str, object_ids: Iterable[uuid.UUID]) -> int:
    """Clear the body of every entry about erased records, keeping each sealed entry's body
    hash (an unsealed one is sealed later with its cleared body). Returns entries redacted."""
    return (
        AuditEntry.objects.filter(object_type=object_type, object_id__in=list(object_ids))
        .exclude(redacted=True)
        .update(changed_fields=[], request_id="", details={}, reason="", redacted=True)
    )


# --- Verification -------------------------------------------------------------------------------


@dataclass
class Verification:
    entries: int = 0
    head_seq: int = 0
    head_hash: str = GENESIS
    problem: str = ""

    @property
    def ok(self) -> bool:
        return not self.problem


def _erased_objects(object_ids: set) -> set:
    """Which of `object_ids` have a sealed `hard_delete` entry (their redaction is legitimate)."""
    if not object_ids:
        return set()
    return set(
        AuditEntry.objects.filter(
            action=AuditEntry.Action.HARD_DELETE, object_id__in=list(object_ids), seq__isnull=False
        ).values_list("object_id", flat=True)
    )


def _check_previous_head(result: Verification) -> None:
    """The head the last successful run saw must still be in the chain, unchanged: entries
    removed from the end since then would otherwise go unnoticed."""
    last = AuditVerification.objects.filter(ok=True, head_seq__isnull=False).first()
    if last is None or result.problem:
        return
    if last.head_seq > result.head_seq:
        result.problem = (
            f"the chain ends at position {result.head_seq}, but the verification of "
            f"{last.started_at:%Y-%m-%d %H:%M:%S} UTC saw it reach {last.head_seq}: "
            "entries were removed from its end"
        )
        return
    still = (
        AuditEntry.objects.filter(seq=last.head_seq).values_list("chain_hash", flat=True).first()
    )
    if still != last.head_hash:
        result.problem = (
            f"the entry at position {last.head_seq}, the chain's end at the verification of "
            f"{last.started_at:%Y-%m-%d %H:%M:%S} UTC, is not what it was"
        )


def verify(
    *, batch_size: int = BATCH_SIZE, progress: Callable[[Verification], None] | None = None
) -> Verification:
    """Walk the chain from its start and recompute every link; stop at the first entry that
    was modified, removed or reordered (`problem` says which, by id and position)."""
    keys = known_keys()
    result = Verification()
    previous, expected_seq = GENESIS, 1
    while not result.problem:
        entries = list(
            AuditEntry.objects.filter(seq__gte=expected_seq)
            .order_by("seq")
            .values(*READ)[:batch_size]
        )
        if not entries:
            break
        redacted = {entry["object_id"] for entry in entries if entry["redacted"]}
        erased = _erased_objects(redacted)
        for entry in entries:
            where = f"entry {entry['id']} at position {entry['seq']}"
            if entry["seq"] != expected_seq:
                result.problem = (
                    f"position {expected_seq} is missing (the chain goes on at {where}): "
                    "an entry was removed"
                )
                break
            key = keys.get(entry["chain_key"])
            if key is None:
                result.problem = (
                    f"{where} was sealed with a key that is not configured (key id "
                    f"{entry['chain_key'] or 'none'}): add it to "
                    "LCRYPTO_PREVIOUS_HASH_SECRET_KEYS"
                )
                break
            if entry["redacted"]:
                if entry["object_id"] not in erased:
                    result.problem = f"{where} was cleared although its record was never erased"
                    break
                entry_body_hash = entry["body_hash"]
            else:
                entry_body_hash = body_hash(entry, key)
            chained = link(previous, entry, entry_body_hash, key)
            if chained != entry["chain_hash"] or entry_body_hash != entry["body_hash"]:
                result.problem = f"{where} was modified, or entries were reordered there"
                break
            previous, expected_seq = chained, expected_seq + 1
            result.entries += 1
            result.head_seq, result.head_hash = entry["seq"], chained
        if progress:
            progress(result)
    _check_previous_head(result)
    return result


def record_verification(result: Verification, started_at) -> AuditVerification:
    """Keep a run's result (the dashboard shows the latest)."""
    return AuditVerification.objects.create(
        started_at=started_at,
        finished_at=timezone.now(),
        ok=result.ok,
        entries=result.entries,
        head_seq=result.head_seq or None,
        head_hash=result.head_hash if result.head_seq else "",
        problem=result.problem,
    )
