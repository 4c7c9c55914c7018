"""Key rotation: re-encrypt every encrypted column and recompute every search hash.

Generic over the installed models, so the kernel imports no domain app:
* a model takes part in the *encryption* rotation when it has `EncryptedMixin` fields;
* it takes part in the *hash* rotation when it defines `recompute_search_hashes(self) -> list[str]`
  (recomputes its hash columns with the current hash key and names the ones that changed).

Both walks go through the table in primary-key order, one batch per transaction, and skip rows
already under the current key, so an interrupted run is simply run again (resumable). Encrypted
values are read as raw bytes and re-encrypted without being unpickled or instantiated; rows are
written with `QuerySet.update()`/`save(update_fields=...)`, which leaves `updated_at` alone.
A row that no configured key opens (or whose new hash collides with a live row) is skipped,
counted and reported by id - never a crash half way.
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from django.apps import apps
from django.db import IntegrityError, models, transaction
from django.db.models import ExpressionWrapper, F, Value
from django_cryptography.fields import EncryptedMixin

from crm.crypto.encryption import DecryptionError, keyring
from crm.lifecycle import audit

ENCRYPTION = "encryption"
HASHES = "hashes"

Progress = Callable[["ModelRotation"], None]


@dataclass
class ModelRotation:
    """What one pass over one model found and did (counts and ids only, never values)."""

    model: type[models.Model]
    kind: str  # ENCRYPTION | HASHES
    total: int = 0
    checked: int = 0
    stale: int = 0  # rows not under the current key (rotated unless dry run)
    batches: int = 0
    columns: set[str] = field(default_factory=set)
    undecryptable: list = field(default_factory=list)
    conflicts: list = field(default_factory=list)

    @property
    def label(self) -> str:
        return self.model._meta.label

    @property
    def failed(self) -> list:
        return self.undecryptable + self.conflicts


def encrypted_fields(model: type[models.Model]) -> list[models.Field]:
    return [f for f in model._meta.concrete_fields if isinstance(f, EncryptedMixin)]


def _rotatable(model: type[models.Model]) -> bool:
    return model._meta.managed and not model._meta.proxy


def encryption_models() -> list[type[models.Model]]:
    return [m for m in apps.get_models() if _rotatable(m) and encrypted_fields(m)]


def hash_models() -> list[type[models.Model]]:
    return [
        m
        for m in apps.get_models()
        if _rotatable(m) and callable(getattr(m, "recompute_search_hashes", None))
    ]


def _each_batch(
    model: type[models.Model],
    result: ModelRotation,
    handle: Callable[[list[tuple]], None],
    *columns: models.Expression | str,
    batch_size: int,
    dry_run: bool,
    progress: Progress | None,
) -> ModelRotation:
    """Call `handle(rows)` with rows (pk, *columns) in primary-key order, one batch at a time,
    each batch in its own transaction: rows are locked against concurrent writers, and a dry
    run rolls the batch back."""
    last_pk = None
    while True:
        with transaction.atomic():
            queryset = model._base_manager.order_by("pk")
            if last_pk is not None:
                queryset = queryset.filter(pk__gt=last_pk)
            if not dry_run:
                queryset = queryset.select_for_update()
            rows = list(queryset.values_list("pk", *columns)[:batch_size])
            if not rows:
                return result
            handle(rows)
            if dry_run:
                transaction.set_rollback(True)
        last_pk = rows[-1][0]
        result.checked += len(rows)
        result.batches += 1
        if progress:
            progress(result)


def rotate_encryption(
    model: type[models.Model], *, batch_size: int, dry_run: bool, progress: Progress | None = None
) -> ModelRotation:
    """Re-encrypt with the current key every value of `model` written under a previous key."""
    ring = keyring()
    fields = encrypted_fields(model)
    raw_columns = [
        ExpressionWrapper(F(f.attname), output_field=models.BinaryField()) for f in fields
    ]
    result = ModelRotation(model, ENCRYPTION, total=model._base_manager.count())

    def handle(rows: list[tuple]) -> None:
        for pk, *values in rows:
            updates: dict[str, Value] = {}
            try:
                for f, value in zip(fields, values, strict=True):
                    if value is None:
                        continue
                    token = bytes(value)
                    if ring.is_current(token):
                        continue
                    plaintext, _ = ring.decrypt_with_index(token)
                    updates[f.attname] = Value(
                        ring.encrypt(plaintext), output_field=models.BinaryField()
                    )
            except DecryptionError:
                result.undecryptable.append(pk)
                continue
            if updates:
                result.stale += 1
                result.columns.update(updates)
                if not dry_run:
                    model._base_manager.filter(pk=pk).update(**updates)

    return _each_batch(
        model,
        result,
        handle,
        *raw_columns,
        batch_size=batch_size,
        dry_run=dry_run,
        progress=progress,
    )


def _load(model: type[models.Model], pks: list, *, result: ModelRotation) -> list:
    """Instances for `pks`; rows that cannot be decrypted are recorded and left out."""
    queryset = model._base_manager.order_by("pk")
    try:
        return list(queryset.filter(pk__in=pks))
    except DecryptionError:
        pass
    instances = []
    for pk in pks:
        try:
            instances.extend(queryset.filter(pk=pk))
        except DecryptionError:
            result.undecryptable.append(pk)
    return instances


def rotate_hashes(
    model: type[models.Model], *, batch_size: int, dry_run: bool, progress: Progress | None = None
) -> ModelRotation:
    """Recompute with the current hash key every search hash of `model`.

    `recompute_search_hashes()` may also rewrite derived rows itself (e.g. a word index in
    its own table) and name them; only the names that are concrete columns are saved here.
    Each row runs in a savepoint, so a hash collision skips that row only.
    """
    result = ModelRotation(model, HASHES, total=model._base_manager.count())
    columns = {f.attname for f in model._meta.concrete_fields}

    def handle(rows: list[tuple]) -> None:
        for instance in _load(model, [pk for (pk,) in rows], result=result):
            try:
                with transaction.atomic():
                    changed = instance.recompute_search_hashes()
                    to_save = [name for name in changed if name in columns]
                    if to_save:
                        instance.save(update_fields=to_save)
            except IntegrityError:
                # Two live rows that only differed by hash key (created during the rotation
                # window): the new hash would break a uniqueness constraint.
                result.conflicts.append(instance.pk)
                continue
            if changed:
                result.stale += 1
                result.columns.update(changed)

    return _each_batch(
        model, result, handle, batch_size=batch_size, dry_run=dry_run, progress=progress
    )


def record_rotation(result: ModelRotation) -> None:
    """One audit entry per model and pass: which columns were rotated, never a value."""
    audit.record(
        audit.AuditEntry.Action.ROTATE_KEYS,
        object_type=result.model._meta.label_lower[:32],
        object_id=None,
        organization_id=None,
        changed_fields=sorted(result.columns),
    )


def format_ids(ids: list[uuid.UUID], limit: int = 20) -> str:
    shown = ", ".join(str(pk) for pk in ids[:limit])
    return shown + (f", … (+{len(ids) - limit} more)" if len(ids) > limit else "")
