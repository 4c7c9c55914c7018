"""Base models of the kernel: UUIDv7 keys, organization scoping, timestamps and soft delete.

Lifecycle of every registry row: created live (`deleted_at` null) -> soft-deleted (`deleted_at`
set, hidden from `objects`, still in `all_objects`, restorable) -> hard-deleted (row gone).
Soft and hard deletes happen only through the `<entity>_soft_delete` / `<entity>_hard_delete`
services; `Model.delete()` is deliberately not overridden.
"""

import uuid
from dataclasses import dataclass, replace
from typing import Any, ClassVar

from django.db import connections, models, router
from django.db.models import Q
from django.db.transaction import TransactionManagementError
from django.utils import timezone
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from crm.crypto.encryption import EncryptedJSONField, EncryptedTextField
from crm.crypto.keycheck import KeyCheck  # noqa: F401 (the key check's table: its home)
from crm.db.internals import CompiledRead, compile_read
from crm.db.postgresql.base import PreparedSQL
from crm.ids import uuid7

# The soft-delete condition, spelled once: querysets, constraints and partial indexes use these.
LIVE = Q(deleted_at__isnull=True)
DELETED = Q(deleted_at__isnull=False)


class SoftDeleteQuerySet(models.QuerySet):
    """Set-level operations shared by every registry model."""

    def for_organization(self, organization_id: uuid.UUID) -> "SoftDeleteQuerySet":
        return self.filter(organization_id=organization_id)

    def live(self) -> "SoftDeleteQuerySet":
        return self.filter(LIVE)

    def deleted(self) -> "SoftDeleteQuerySet":
        return self.filter(DELETED)

    def with_deleted(self, include_deleted: bool) -> "SoftDeleteQuerySet":
        return self if include_deleted else self.live()


@dataclass(frozen=True)
class _CompiledRead:
    """One single-row read compiled to SQL for one connection (`crm.db.internals.compile_read`)
    and which id fills each of its parameters."""

    compiled: CompiledRead
    slots: tuple[tuple[str, models.Field], ...]  # (id name, its field) per parameter

    def fetch(self, connection, ids: dict[str, uuid.UUID]) -> "RegistryModel | None":
        params = [field.get_db_prep_value(ids[name], connection) for name, field in self.slots]
        with connection.cursor() as cursor:
            cursor.execute(self.compiled.sql, params)
            row = cursor.fetchone()
        return None if row is None else self.compiled.instance(connection, row)


def _compile_read(
    connection, model: type[models.Model], shape: tuple[tuple[str, ...], bool, bool, tuple]
) -> _CompiledRead:
    """Compile the read with a distinct placeholder id per name, so each parameter of the SQL
    is matched to the id it stands for (never guessed from equal values). A read by primary
    key is marked to be prepared on the server (`crm.db.postgresql`, `prepared_writes`):
    its plan is the key's index whatever the ids, so the generic plan PostgreSQL settles on
    is the right one, and the server no longer parses and plans it on every call (the
    backend's CPU per GET holder 120 → 33 to 67 µs; docs/performance.md)."""
    names, include_deleted, for_update, columns = shape
    placeholders = {name: uuid.uuid4() for name in names}
    queryset = model.all_objects.using(connection.alias).filter(**placeholders)
    queryset = queryset.with_deleted(include_deleted)
    if for_update:
        queryset = queryset.select_for_update()
    if columns:
        queryset = queryset.only(*columns)
    compiled = compile_read(connection, queryset.order_by("pk")[:1])
    if model._meta.pk.name in names:
        compiled = replace(compiled, sql=PreparedSQL(compiled.sql))
    slot_of = {
        model._meta.get_field(name).get_db_prep_value(value, connection): name
        for name, value in placeholders.items()
    }
    return _CompiledRead(
        compiled=compiled,
        # a parameter that is not one of the ids fails here (KeyError), never at a request
        slots=tuple(
            (slot_of[param], model._meta.get_field(slot_of[param])) for param in compiled.params
        ),
    )


def one_or_error(
    model: type["RegistryModel"],
    not_found_code: str,
    *,
    include_deleted: bool = False,
    for_update: bool = False,
    columns: tuple[str, ...] = (),
    **ids: uuid.UUID,
) -> "RegistryModel":
    """The single row of `model` whose UUID columns equal `ids` (the organization
    among them), or the CRM 404 `not_found_code`; live only unless `include_deleted`.
    `for_update` locks it; `columns` loads only those columns (erasure must work even on
    a row no key decrypts).

    The read of every GET, PATCH and DELETE by id: its SQL is compiled once per shape and
    connection (`_compile_read`) and reused with the new ids, because building and compiling the
    same query through the ORM was a third of a GET's time."""
    from crm.api.errors import CRMError

    if for_update:
        alias = router.db_for_write(model)
        if connections[alias].get_autocommit():  # as the ORM's select_for_update() says
            raise TransactionManagementError(
                "select_for_update cannot be used outside of a transaction."
            )
    else:
        alias = router.db_for_read(model)
    connection = connections[alias]
    shape = (tuple(sorted(ids)), include_deleted, for_update, columns)
    # Compiled per connection (each thread has its own): the converters are bound to it.
    reads = connection.__dict__.setdefault("_crm_compiled_reads", {})
    read = reads.get((model, shape))
    if read is None:
        read = reads[(model, shape)] = _compile_read(connection, model, shape)
    row = read.fetch(connection, ids)
    if row is None:
        raise CRMError(not_found_code)
    return row


class LiveManager(models.Manager.from_queryset(SoftDeleteQuerySet)):
    """`Model.objects`: live rows only."""

    def get_queryset(self) -> SoftDeleteQuerySet:
        return super().get_queryset().live()


AllRowsManager = models.Manager.from_queryset(SoftDeleteQuerySet)


# What an erasure loads of a row: never a personal (encrypted) column (the version, for a
# hard delete's `If-Match`).
ERASURE_COLUMNS = ("id", "organization_id", "deleted_at", "version")


class RegistryModel(models.Model):
    """Abstract base: UUIDv7 primary key, owning organization, timestamps, soft delete."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    organization_id = models.UUIDField(_("organization id"), editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now, editable=False)
    # A record is created live (the database's default: `crm.db.rows` leaves a column with a
    # database default out of every insert, one parameter fewer per create).
    deleted_at = models.DateTimeField(
        _("deleted at"), null=True, blank=True, editable=False, default=None, db_default=None
    )
    # The number of the record's latest version (`RecordVersion`): 1 when created, one more
    # with every change (`crm.lifecycle.writes`). The API's `ETag`; `If-Match` compares it.
    # Also the column's default in the database, for rows written outside the ORM (bulk
    # loads, the benchmark's floor) and for every insert of `crm.db.rows`.
    version = models.PositiveIntegerField(_("version"), default=1, db_default=1, editable=False)

    objects = LiveManager()
    all_objects = AllRowsManager()

    # Declared by each concrete kind and read by `crm.lifecycle.kinds`: the name on audit
    # entries and change events ("holder"), the command line's selector ("holders"), and the
    # plaintext columns an erasure plan shows.
    record_kind: ClassVar[str]
    record_kind_plural: ClassVar[str]
    erasure_details: ClassVar[tuple[str, ...]] = ()

    class Meta:
        abstract = True
        ordering = ["id"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not args and "created_at" not in kwargs and "updated_at" not in kwargs:
            # A new record: one clock reading for both (two defaults could differ by a tick).
            self.updated_at = self.created_at

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class AuditEntry(models.Model):
    """One write to the registry: who, when, what, which fields - never the values.

    Written by the services for the API, the admin and the commands alike. Entries are sealed
    into a hash chain after they are written (`crm.lifecycle.chain`: `seq`, `body_hash`,
    `chain_hash`, `chain_key`), so an entry changed, removed or reordered later is found by
    `manage.py verify_audit`. A hard delete keeps the erased record's entries but *redacts*
    their body (changed field names, request id, details, reason: `redacted`), keeping the body's
    hash so the chain still verifies, and adds one `hard_delete` entry (docs/api.md §12).
    """

    class Action(models.TextChoices):
        CREATE = "create", pgettext_lazy("audit action", "Create")
        UPDATE = "update", pgettext_lazy("audit action", "Update")
        SOFT_DELETE = "soft_delete", pgettext_lazy("audit action", "Soft Delete")
        RESTORE = "restore", pgettext_lazy("audit action", "Restore")
        HARD_DELETE = "hard_delete", pgettext_lazy("audit action", "Hard Delete")
        ROTATE_KEYS = "rotate_keys", pgettext_lazy("audit action", "Rotate Keys")
        EXPORT = "export", pgettext_lazy("audit action", "Export")
        VIEW_DOCUMENT = "view_document", pgettext_lazy("audit action", "View Document")
        PLACE_HOLD = "place_hold", pgettext_lazy("audit action", "Place Hold")
        LIFT_HOLD = "lift_hold", pgettext_lazy("audit action", "Lift Hold")
        # Four eyes on erasure (crm.lifecycle.approval).
        REQUEST_ERASURE = "request_erasure", pgettext_lazy("audit action", "Request Erasure")
        APPROVE_ERASURE = "approve_erasure", pgettext_lazy("audit action", "Approve Erasure")
        REJECT_ERASURE = "reject_erasure", pgettext_lazy("audit action", "Reject Erasure")

    class ActorType(models.TextChoices):
        """Who can act: an anonymous API call (access control off), an API token or Access
        Manager subject, a back-office user, a management command, the system itself."""

        API = "api", _("API (no token)")
        TOKEN = "token", _("API token")
        STAFF = "staff", _("staff")
        COMMAND = "command", _("command")
        SYSTEM = "system", _("system")

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    created_at = models.DateTimeField(_("when (UTC)"), default=timezone.now, db_index=True)
    organization_id = models.UUIDField(_("organization"), null=True, blank=True)
    actor_type = models.CharField(_("actor type"), max_length=16, choices=ActorType.choices)
    actor = models.CharField(_("actor"), max_length=150)
    action = models.CharField(_("action"), max_length=16, choices=Action.choices)
    object_type = models.CharField(_("object type"), max_length=32)
    object_id = models.UUIDField(_("object id"), null=True, blank=True)
    changed_fields = models.JSONField(_("changed fields"), default=list, blank=True)
    request_id = models.CharField(_("request id"), max_length=128, blank=True, default="")
    # Facts about the action that are not personal data: an export's row count and filters.
    details = models.JSONField(_("details"), default=dict, blank=True)
    # Why, in the actor's words or as a legal basis ("LGPD Art. 18 VI"): required for a hard
    # delete by staff or an operator, optional for a soft delete. Free text written by staff:
    # the admin asks for a reason, never for personal data.
    reason = models.TextField(_("reason"), blank=True, default="")
    # The body above (changed_fields, request_id, details, reason) was cleared by an erasure;
    # `body_hash` still holds its hash (crm.lifecycle.chain). Set by an erasure's update only:
    # an insert leaves it to the database's default.
    redacted = models.BooleanField(_("redacted"), default=False, db_default=False)
    # The hash chain, filled in by the sealer (crm.lifecycle.chain.seal), never by a write:
    # position, keyed hash of the body, keyed hash of (previous chain hash, frame, body hash),
    # and which key made them (the first 8 hex digits of a hash of the chain key). Their
    # database defaults let a write's insert leave them out (`crm.db.rows`: parameters fewer
    # keep a create's one statement within the 50 psycopg parses once, not on every call).
    seq = models.BigIntegerField(
        null=True, blank=True, unique=True, editable=False, default=None, db_default=None
    )
    body_hash = models.CharField(
        max_length=64, blank=True, default="", db_default="", editable=False
    )
    chain_hash = models.CharField(
        max_length=64, blank=True, default="", db_default="", editable=False
    )
    chain_key = models.CharField(
        max_length=8, blank=True, default="", db_default="", editable=False
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The sealer's queue: entries not yet in the chain, oldest first.
            models.Index(
                fields=["created_at", "id"],
                name="audit_unsealed_idx",
                condition=Q(seq__isnull=True),
            ),
            models.Index(fields=["object_type", "object_id"], name="audit_object_idx"),
            models.Index(fields=["organization_id", "created_at"], name="audit_org_time_idx"),
            # The dashboard's "recent erasures": the newest entries of one action.
            models.Index(fields=["action", "created_at"], name="audit_action_time_idx"),
        ]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")

    def __str__(self) -> str:
        # Plain and value-free; the admin titles entries with `crm.admin.audit.entry_title`.
        target = f" {self.object_id}" if self.object_id is not None else ""
        return gettext("%(action)s: %(kind)s%(target)s, by %(actor)s") % {
            "action": self.get_action_display(),
            "kind": self.object_type,
            "target": target,
            "actor": self.actor,
        }

    @property
    def actor_type_label(self) -> str:
        """`actor_type` as staff read it ("API token", "staff"), in the page's language."""
        return str(self.get_actor_type_display())


class RecordVersion(models.Model):
    """One version of a registry record: the state it was left in by one change (create,
    update, soft delete, restore), written in the change's transaction by
    `crm.lifecycle.versions` (docs/api.md §12).

    Keyed by kind (`object_type`, the audit's name), record id and organization, numbered 1,
    2, … per record (`number`: the record's `version` after the change). It keeps what the
    audit entry keeps — when, who, the action, the *names* of the changed fields — and the
    record's whole API body after the change (`body`: the JSON a GET returned then), encrypted
    like the record's own personal columns, so reading the past needs no serializer of the
    past and the store holds no personal value in plaintext and no search hash. Version `n`
    and `n - 1` are the "after" and "before" of change `n`. Erased with its record."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    organization_id = models.UUIDField(_("organization"))
    object_type = models.CharField(_("object type"), max_length=32)
    object_id = models.UUIDField(_("object id"))
    number = models.PositiveIntegerField(_("version"))
    changed_at = models.DateTimeField(_("changed at (UTC)"))
    actor_type = models.CharField(_("actor type"), max_length=16)
    actor = models.CharField(_("actor"), max_length=150)
    # One of `crm.lifecycle.versions.VERSIONED` (the audit actions that change a record).
    action = models.CharField(_("action"), max_length=16)
    changed_fields = models.JSONField(default=list, blank=True)
    body = EncryptedJSONField()

    class Meta:
        ordering = ["object_id", "-number"]
        constraints = [
            # One row per version; the index every read of a record's versions uses.
            models.UniqueConstraint(fields=["object_id", "number"], name="version_object_number")
        ]
        verbose_name = _("record version")
        verbose_name_plural = _("record versions")

    def __str__(self) -> str:
        return f"{self.object_type} {self.object_id} v{self.number} ({self.action})"


class AuditVerification(models.Model):
    """One run of `manage.py verify_audit`: its result, and the chain's head it saw (so the
    next run notices entries removed from the end since). The dashboard shows the latest."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    ok = models.BooleanField(default=False)
    entries = models.BigIntegerField(default=0)
    head_seq = models.BigIntegerField(null=True, blank=True)
    head_hash = models.CharField(max_length=64, blank=True, default="")
    # The first problem found, in plain words (an entry id and a position; never its content).
    problem = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-started_at"]
        get_latest_by = "started_at"
        verbose_name = _("audit verification")
        verbose_name_plural = _("audit verifications")

    def __str__(self) -> str:
        return f"{'ok' if self.ok else 'FAILED'} {self.started_at:%Y-%m-%d %H:%M}"


class LegalHold(models.Model):
    """A record no erasure path may remove while the hold stands (docs/api.md §12): placed and
    lifted by a data-protection officer with a reason, both audited. Holding a record holds
    what belongs to it (a holder's accounts) too."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    organization_id = models.UUIDField(_("organization"))
    object_type = models.CharField(_("object type"), max_length=32)
    object_id = models.UUIDField(_("object id"))
    reason = models.TextField(_("reason"))
    placed_by = models.CharField(_("placed by"), max_length=150)
    placed_at = models.DateTimeField(_("placed at"), default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["object_type", "object_id"], name="one_hold_per_record")
        ]
        verbose_name = _("legal hold")
        verbose_name_plural = _("legal holds")

    def __str__(self) -> str:
        return f"{self.object_type} {self.object_id}"


class ErasureRequest(models.Model):
    """A hard delete asked for in the admin, waiting for a second data-protection officer
    (`ERASURE_APPROVAL`; `crm.lifecycle.approval`, docs/admin.md "Four eyes").

    Lifecycle: *pending* when requested (audited `request_erasure`, with the reason); then
    either approved by another officer — the record is erased through the ordinary erasure
    path, and this row goes with it, like everything else about the record, leaving the audit
    trail's `request_erasure`, `approve_erasure` and `hard_delete` entries — or *rejected*
    (audited `reject_erasure`, with the rejecting officer's reason), which leaves the record as
    it was. One pending request per record.

    No personal data: ids, the record's version and a hash of what the erasure removed when it
    was requested (kinds, ids and states: `plan_digest`, so a request whose record changed
    since is recognised), counts, staff user names, and reasons, which are staff text like the
    hard delete's own reason (the page asks never to write personal data there)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("waiting for approval")
        REJECTED = "rejected", _("rejected")

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    organization_id = models.UUIDField(_("organization"))
    object_type = models.CharField(_("object type"), max_length=32)
    object_id = models.UUIDField(_("object id"))
    version = models.PositiveIntegerField(_("version"))
    plan_digest = models.CharField(max_length=64)
    plan_counts = models.JSONField(default=dict)
    reason = models.TextField(_("reason"))
    requested_by = models.CharField(_("requested by"), max_length=150)
    requested_at = models.DateTimeField(_("requested at (UTC)"), default=timezone.now)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.PENDING
    )
    decided_by = models.CharField(_("decided by"), max_length=150, blank=True, default="")
    decided_at = models.DateTimeField(_("decided at (UTC)"), null=True, blank=True)
    decision_reason = models.TextField(_("reason for the decision"), blank=True, default="")

    class Meta:
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["object_type", "object_id"],
                condition=Q(status="pending"),
                name="one_pending_erasure_per_record",
            )
        ]
        indexes = [models.Index(fields=["status", "requested_at"], name="erasure_request_queue")]
        verbose_name = _("erasure request")
        verbose_name_plural = _("erasure requests")

    def __str__(self) -> str:
        return f"erasure of {self.object_type} {self.object_id} ({self.status})"


class ApiToken(models.Model):
    """An integration's credential (docs/api.md §10): the organizations it may touch and the
    `resource:action` pairs it may use, until `expires_at` (none: until deactivated). Only a
    SHA-256 of the secret is stored; `last_used_at` is kept to the minute (`crm.access.auth`)."""

    ACTIONS = ("get", "post", "patch", "delete")

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    name = models.CharField(_("name"), max_length=100, unique=True)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    key_prefix = models.CharField(_("key prefix"), max_length=12, editable=False)
    all_organizations = models.BooleanField(_("all organizations"), default=False)
    organizations = models.JSONField(
        _("organizations"),
        default=list,
        blank=True,
        help_text=_("Organization UUIDs this token may access."),
    )
    permissions = models.JSONField(
        _("permissions"),
        default=list,
        blank=True,
        help_text=_(
            'Allowed "resource:action" pairs: each kind\'s plural with get, post, patch or delete.'
        ),
    )
    is_active = models.BooleanField(_("active"), default=True)
    expires_at = models.DateTimeField(
        _("expires at"),
        null=True,
        blank=True,
        help_text=_("After this moment the token is refused (401)."),
    )
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.name} ({self.key_prefix}…)"

    def allows_organization(self, organization_id: uuid.UUID) -> bool:
        return self.all_organizations or str(organization_id) in {
            str(org).lower() for org in self.organizations
        }

    def allows(self, resource: str, action: str) -> bool:
        return f"{resource}:{action}" in set(self.permissions)


# --- Idempotency records (crm/api/idempotency.py) -------------------------------------------------


class IdempotencyRecord(models.Model):
    """One `Idempotency-Key` of one organization and what it answered (`crm.api.idempotency`).

    The raw key is never stored, only a SHA-256 of organization + key; the response body is
    encrypted (it is a holder or alias with personal data). `object_kind`/`object_id` name the
    record the response is about, so erasing that record erases this row too. A row without a
    `status_code` is a request still in progress; `session` is the database session that
    reserved it (`crm.db.sessions`), so a retry can see that session is gone and take the key
    over at once ("" where sessions are unknown: then only the in-progress timeout frees it).
    `etag` is the answer's `ETag` (the record's version then), so a replay carries it too.
    """

    class State(models.TextChoices):
        IN_PROGRESS = "in_progress"
        COMPLETED = "completed"

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    organization_id = models.UUIDField()
    key_hash = models.CharField(max_length=64)
    fingerprint = models.CharField(max_length=64)  # HMAC (search-hash key) of the request
    state = models.CharField(max_length=16, choices=State.choices, default=State.IN_PROGRESS)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = EncryptedTextField(null=True, blank=True)
    object_kind = models.CharField(max_length=32, blank=True, default="")
    object_id = models.UUIDField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    session = models.CharField(max_length=64, blank=True, default="")
    etag = models.CharField(max_length=16, blank=True, default="")  # the answer's ETag, replayed

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization_id", "key_hash"], name="idempotency_org_key_uniq"
            )
        ]
        indexes = [
            models.Index(fields=["created_at"], name="idempotency_created_idx"),
            models.Index(fields=["object_id"], name="idempotency_object_idx"),
        ]

    def __str__(self) -> str:
        return f"idempotency key {self.key_hash[:12]}… ({self.state})"


class Organization(models.Model):
    """A human label for an organization (tenant) id, for staff: filters, list columns and
    headings show "Banco Exemplo" instead of a UUID. Optional: records of an organization
    without a row here are shown by id. Not personal data, and no record refers to it by a
    foreign key (the API keys every row by the bare `X-Organization-Id`)."""

    id = models.UUIDField(
        _("organization id"),
        primary_key=True,
        help_text=_("The organization id (X-Organization-Id)."),
    )
    label = models.CharField(_("label"), max_length=100, help_text=_("The name staff know it by."))

    class Meta:
        ordering = ["label", "id"]
        verbose_name = _("organization")
        verbose_name_plural = _("organizations")

    def __str__(self) -> str:
        return f"{self.label} ({self.id})"


def organization_labels(ids) -> dict[uuid.UUID, str]:
    """The labels of these organization ids, in one query (ids without a label left out)."""
    ids = {value for value in ids if value is not None}
    if not ids:
        return {}
    return dict(Organization.objects.filter(id__in=ids).values_list("id", "label"))
