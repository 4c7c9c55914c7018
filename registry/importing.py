"""Bulk import of holders with their alias accounts (`manage.py import_holders`).

One input line is one `POST /v1/holders` body, optionally with an `"aliases"` list of
`POST /v1/holders/{id}/aliases` bodies (JSON Lines), or one CSV row (`CSV_COLUMNS`). A line is
all or nothing: if the holder or any of its aliases is refused, nothing of the line is written
and the line is reported (line number, CRM code, field *names*; never a value).

One write path: bodies go through `validate_input` with the API serializers and
`validate_related_parties`; records are built by `holder_build`, `alias_build` and
`related_parties_build`, and the rows written are exactly those `holder_create` and
`alias_create` write, as `holder_creation_rows` / `alias_creation_rows` describe them (the
record, its search index entries and parts, its audit entry, its version 1 with the encrypted
body, its change event): a rule added there holds here. Only the writing differs: each row's
values are prepared by the fields' own `get_db_prep_save` (the encryption happens there, as in
`save()`) in the workers, and written in batches (`COPY` on PostgreSQL, `executemany` elsewhere).

Pipeline: the parent reads the input in chunks and hands them to worker processes (parsing,
validation, encryption and hashing are CPU-bound: one worker per core); results come back in
input order, and the parent alone decides and writes, one transaction per chunk:

* a document seen earlier in the file is CRM-0010 for the later line, an account id seen
  earlier CRM-0013 (only lines that were accepted count);
* a document that already belongs to a live holder of the organization means "imported
  before": the holder is skipped (resuming after a crash), and so are its aliases whose account
  id already exists under it; its new aliases are created under the existing holder;
* an account id that is live under another holder is CRM-0013.
"""

from __future__ import annotations

import csv
import datetime as dt
import gc
import io
import json
import multiprocessing
import os
import random
import re
import sys
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from django.apps import apps
from django.conf import settings
from django.db import (
    DEFAULT_DB_ALIAS,
    IntegrityError,
    connection,
    connections,
    models,
    transaction,
)
from psycopg import Binary
from psycopg.types.json import Jsonb

from aliases.models import AliasAccount
from aliases.serializers import AliasCreateSerializer
from aliases.services import (
    alias_build,
    alias_creation_rows,
    related_parties_build,
    validate_related_parties,
)
from crm.api.documents import set_path
from crm.api.errors import CRMError
from crm.api.parsers import parse_json_object
from crm.api.serializers import validate_input
from crm.crypto.search import lookup_hashes
from crm.db.rows import Row, insert_fields, relax_commit, save_preparer
from crm.lifecycle import audit
from holders.models import DOCUMENT_FIELD, Holder
from holders.serializers import HolderCreateSerializer
from holders.services import holder_build, holder_creation_rows

FORMATS = ("jsonl", "csv")

# CSV column -> path in the request body. One row is one holder and at most one alias (the
# alias is present when any alias column has a value); an empty cell is an absent field.
# `metadata.<key>` and `aliasMetadata.<key>` columns fill the holder's / the alias's metadata.
HOLDER_COLUMNS: dict[str, tuple[str, ...]] = {
    "type": ("type",),
    "name": ("name",),
    "document": ("document",),
    "externalId": ("externalId",),
    "email": ("contact", "primaryEmail"),
    "secondaryEmail": ("contact", "secondaryEmail"),
    "mobilePhone": ("contact", "mobilePhone"),
    "otherPhone": ("contact", "otherPhone"),
    "line1": ("addresses", "primary", "line1"),
    "line2": ("addresses", "primary", "line2"),
    "zipCode": ("addresses", "primary", "zipCode"),
    "city": ("addresses", "primary", "city"),
    "state": ("addresses", "primary", "state"),
    "country": ("addresses", "primary", "country"),
    "birthDate": ("naturalPerson", "birthDate"),
    "motherName": ("naturalPerson", "motherName"),
    "fatherName": ("naturalPerson", "fatherName"),
    "gender": ("naturalPerson", "gender"),
    "nationality": ("naturalPerson", "nationality"),
    "tradeName": ("legalPerson", "tradeName"),
    "activity": ("legalPerson", "activity"),
    "foundingDate": ("legalPerson", "foundingDate"),
}
ALIAS_COLUMNS: dict[str, tuple[str, ...]] = {
    "ledgerId": ("ledgerId",),
    "accountId": ("accountId",),
    "branch": ("bankingDetails", "branch"),
    "account": ("bankingDetails", "account"),
    "accountType": ("bankingDetails", "type"),
    "openingDate": ("bankingDetails", "openingDate"),
    "iban": ("bankingDetails", "iban"),
    "countryCode": ("bankingDetails", "countryCode"),
    "bankId": ("bankingDetails", "bankId"),
    "participantDocument": ("regulatoryFields", "participantDocument"),
}
METADATA_PREFIX = "metadata."
ALIAS_METADATA_PREFIX = "aliasMetadata."
CSV_COLUMNS = (*HOLDER_COLUMNS, *ALIAS_COLUMNS)


class InputError(ValueError):
    """The input cannot be read (unknown CSV column, ...) or a batch cannot be written: the
    import stops (exit status 2); what earlier batches wrote stays, and a new run resumes."""


# --- Reading -----------------------------------------------------------------------------------


class CountingLines:
    """The lines of a binary stream, counting the bytes read (for the progress line)."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.bytes_read = 0

    def __iter__(self) -> Iterator[bytes]:
        for line in self.stream:
            self.bytes_read += len(line)
            yield line


def jsonl_records(lines: Iterable[bytes]) -> Iterator[tuple[int, Any]]:
    """(line number, raw line) for every non-blank line."""
    for number, line in enumerate(lines, start=1):
        if line.strip():
            yield number, line


def csv_records(lines: Iterable[bytes]) -> Iterator[tuple[int, Any]]:
    """(line number where the row starts, {column: cell}) for every row after the header."""
    reader = csv.reader(_decoded(lines))
    header = next(reader, None)
    if header is None:
        return
    unknown = [
        name
        for name in header
        if name not in HOLDER_COLUMNS
        and name not in ALIAS_COLUMNS
        and not name.startswith((METADATA_PREFIX, ALIAS_METADATA_PREFIX))
    ]
    if unknown:
        raise InputError(f"unknown CSV column(s): {', '.join(unknown)} (see --help)")
    start = reader.line_num + 1
    for row in reader:
        if any(cell for cell in row):
            yield start, dict(zip(header, row, strict=False))
        start = reader.line_num + 1


def _decoded(lines: Iterable[bytes]) -> Iterator[str]:
    for number, line in enumerate(lines, start=1):
        try:
            yield line.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError:
            raise InputError(f"line {number} is not UTF-8 text") from None


def csv_body(row: dict[str, str]) -> dict[str, Any]:
    """The JSON Lines body (holder with an optional one-element `aliases`) of a CSV row."""
    holder: dict[str, Any] = {}
    alias: dict[str, Any] = {}
    for column, cell in row.items():
        if cell == "" or column is None:
            continue
        if column in HOLDER_COLUMNS:
            set_path(holder, HOLDER_COLUMNS[column], cell)
        elif column in ALIAS_COLUMNS:
            set_path(alias, ALIAS_COLUMNS[column], cell)
        elif column.startswith(METADATA_PREFIX):
            set_path(holder, ("metadata", column.removeprefix(METADATA_PREFIX)), cell)
        elif column.startswith(ALIAS_METADATA_PREFIX):
            set_path(alias, ("metadata", column.removeprefix(ALIAS_METADATA_PREFIX)), cell)
    if alias:
        holder["aliases"] = [alias]
    return holder


# --- Validating and building (in the workers) --------------------------------------------------


@dataclass(frozen=True)
class Rejection:
    """Why a line was refused: a CRM code and the names of the fields, never their values."""

    line: int
    code: str
    title: str
    fields: tuple[str, ...] = ()

    @classmethod
    def of(cls, line: int, error: CRMError, prefix: str = "") -> Rejection:
        names = tuple(f"{prefix}{name}"[:200] for name in (error.fields or {}))
        return cls(line, error.code, error.spec.title, names)

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "code": self.code, "title": self.title, "fields": self.fields}


@dataclass
class BuiltAlias:
    account_id: str
    rows: dict[str, list]  # table name -> rows as `Tables.packed` makes them


@dataclass
class BuiltLine:
    """A valid line, as prepared rows ready to write."""

    line: int
    document_hashes: list[str]  # the current-key hash first, then previous hash keys'
    rows: dict[str, list]
    aliases: list[BuiltAlias]


def validated_line(body: Any) -> tuple[dict[str, Any], list[tuple[dict[str, Any], list]]]:
    """Validate one line's body exactly as the API validates the two requests: the holder's
    `POST /v1/holders` body, then each alias's `POST .../aliases` body and related-party rules.
    Raises `(prefix, CRMError)` as `LineError`."""
    if not isinstance(body, dict):
        raise LineError("", CRMError("CRM-0004", "The line must be a JSON object."))
    holder_body = dict(body)
    alias_bodies = holder_body.pop("aliases", None)
    if alias_bodies is None:
        alias_bodies = []
    elif not isinstance(alias_bodies, list):
        raise LineError("", CRMError("CRM-0004", fields={"aliases": "expected array"}))
    try:
        holder_data = validate_input(HOLDER_SERIALIZER, holder_body)
    except CRMError as error:
        raise LineError("", error) from None
    aliases = []
    for index, alias_body in enumerate(alias_bodies):
        try:
            data = validate_input(ALIAS_SERIALIZER, alias_body)
            parties = validate_related_parties(data.get("relatedParties"))
        except CRMError as error:
            raise LineError(f"aliases[{index}].", error) from None
        aliases.append((data, parties))
    return holder_data, aliases


class ReusedSerializer:
    """Stands in for a serializer class in `validate_input`: returns one instance per process,
    reset for the new data, so the field tree is built (deep-copied by DRF) once instead of
    per line (that copy is most of a validation's cost). Same serializer, same rules."""

    def __init__(self, serializer_class: type) -> None:
        self.serializer_class = serializer_class
        self.instance = None

    def __call__(self, *, data: Any):
        if self.instance is None:
            self.instance = self.serializer_class(data=data)
        serializer = self.instance
        for cached in ("_validated_data", "_errors", "_data"):
            serializer.__dict__.pop(cached, None)
        serializer.initial_data = data
        return serializer


HOLDER_SERIALIZER = ReusedSerializer(HolderCreateSerializer)
ALIAS_SERIALIZER = ReusedSerializer(AliasCreateSerializer)


class LineError(Exception):
    def __init__(self, prefix: str, error: CRMError) -> None:
        super().__init__(error.code)
        self.prefix = prefix
        self.error = error


def parse_body(fmt: str, payload: Any) -> dict[str, Any]:
    if fmt == "csv":
        return csv_body(payload)
    return parse_json_object(payload)


class Tables:
    """The tables an import writes, with the columns `bulk_create` would insert and each
    row prepared by the fields' own `get_db_prep_save` (encryption included).

    A row leaves a worker as what the parent writes as it is: on PostgreSQL one line of
    `COPY … FROM STDIN` text (`_copy_text`), so the parent neither unpickles values
    nor formats them (both were most of its time); elsewhere a tuple for `executemany`.
    The tables are those of the rows the services' `*_creation_rows` describe, learnt as they
    come (parent and workers see the same models)."""

    def __init__(self) -> None:
        self.fields: dict[str, list] = {}
        # Per table, per column: (field, value -> what the row holds).
        self.columns: dict[str, list] = {}
        # The wrapper itself, not the `connection` proxy (a thread-local lookup per access).
        self.connection = connections[DEFAULT_DB_ALIAS]
        self.copy = self.connection.vendor == "postgresql"

    def learn(self, model: type[models.Model]) -> str:
        """The table of `model`, its columns prepared once."""
        table = model._meta.db_table
        if table not in self.columns:
            fields = list(insert_fields(model))
            db = self.connection
            self.fields[table] = fields
            self.columns[table] = [(f, self._column(save_preparer(f, db))) for f in fields]
        return table

    def _column(self, prepare: Callable[[Any, Any], Any]) -> Callable[[Any], Any]:
        db = self.connection
        if self.copy:
            return lambda value: _copy_text(prepare(value, db))
        return lambda value: _plain(prepare(value, db))

    def rows_by_model(self, rows: list[Row]) -> dict[str, list]:
        """The rows a service describes (`holder_creation_rows`, ...), by model label, each
        as one `COPY` line or tuple, packed for the trip to the parent (`packed`)."""
        by_model: dict[str, list] = {}
        for row in rows:
            table = self.learn(row.model)
            by_model.setdefault(row.model._meta.label_lower, []).append(
                self._line([column(row.value(f)) for f, column in self.columns[table]])
            )
        return self.packed(by_model)

    def packed(self, rows: dict[str, list]) -> dict[str, list]:
        """One record's rows, by model, as they travel to the parent: on PostgreSQL each
        model's lines as one block of `COPY` text (fewer objects to pickle and unpickle)."""
        if self.copy:
            return {label: [b"".join(lines)] for label, lines in rows.items() if lines}
        return rows

    def _line(self, cells: list[Any]) -> bytes | tuple:
        if self.copy:
            return ("\t".join(cells) + "\n").encode()
        return tuple(cells)


def _plain(value: Any) -> Any:
    return bytes(value) if type(value) is memoryview else value


def _copy_text(value: Any) -> str:
    """A prepared value in PostgreSQL's `COPY` text format (columns are joined by tabs, rows
    end with a newline): `\\N` for NULL; backslash, tab, newline and carriage return
    escaped; `bytea` as `\\x` and hex digits. Values as `get_db_prep_save` returns them for
    psycopg; any other type is an error, never a guess."""
    kind = type(value)
    if kind is str:
        return value.translate(_COPY_ESCAPES) if _COPY_SPECIAL.search(value) else value
    if value is None:
        return "\\N"
    if kind is uuid.UUID:
        return value.hex
    if kind is bytes or kind is memoryview:
        return "\\\\x" + value.hex()
    if kind is bool:
        return "t" if value else "f"
    if isinstance(value, int):  # psycopg's sized integers (Int8, ...) included
        return int.__repr__(value)
    if isinstance(value, str):  # a choices enum: its value
        return _copy_text(str.__str__(value))
    if kind is dt.datetime or kind is dt.date:  # datetimes keep their offset
        return str(value)
    if isinstance(value, Jsonb):
        return _copy_text((value.dumps or json.dumps)(value.obj))
    if isinstance(value, Binary):
        return _copy_text(bytes(value.obj))
    raise TypeError(f"no COPY text form for a {kind.__name__} value")


_COPY_SPECIAL = re.compile(r"[\\\t\n\r]")
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_tables: Tables | None = None


def tables() -> Tables:
    global _tables
    if _tables is None:
        _tables = Tables()
    return _tables


@dataclass(frozen=True)
class Task:
    organization_id: uuid.UUID
    fmt: str
    actor: tuple[str, str]
    records: list[tuple[int, Any]]
    offset: int = 0  # input bytes read up to the end of this chunk


def build_alias(holder: Holder, data: dict[str, Any], parties: list) -> BuiltAlias:
    """An alias of a valid line as the rows `alias_create` writes (`alias_creation_rows`)."""
    alias = alias_build(holder=holder, data=data)
    rows = alias_creation_rows(alias, related_parties_build(alias, parties))
    return BuiltAlias(account_id=alias.account_id, rows=tables().rows_by_model(rows))


def process(task: Task) -> list[BuiltLine | Rejection]:
    """Validate and build one chunk of lines (runs in a worker process), the audit entries
    naming the importing actor."""
    with audit.acting_as(audit.Actor(*task.actor)):
        return _process(task)


def _process(task: Task) -> list[BuiltLine | Rejection]:
    table = tables()
    previous_hash_keys = bool(settings.LCRYPTO_PREVIOUS_HASH_SECRET_KEYS)
    out: list[BuiltLine | Rejection] = []
    for line, payload in task.records:
        try:
            body = parse_body(task.fmt, payload)
            holder_data, aliases = validated_line(body)
        except CRMError as error:
            out.append(Rejection.of(line, error))
            continue
        except LineError as failure:
            out.append(Rejection.of(line, failure.error, failure.prefix))
            continue
        holder = holder_build(organization_id=task.organization_id, data=holder_data)
        hashes = [holder.document_hash]
        if previous_hash_keys:
            hashes = lookup_hashes(task.organization_id, DOCUMENT_FIELD, holder.document)
        out.append(
            BuiltLine(
                line=line,
                document_hashes=hashes,
                rows=table.rows_by_model(holder_creation_rows(holder)),
                aliases=[build_alias(holder, data, parties) for data, parties in aliases],
            )
        )
    return out


def _worker_init() -> None:
    import django
    from django.apps import apps

    if not apps.ready:  # "spawn" start method: a fresh interpreter
        django.setup()
    # A chunk allocates many short-lived objects and keeps none: move what exists now (Django,
    # the field trees) out of the collector's way and collect the young generation less often.
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)


# --- Deciding and writing (in the parent) ------------------------------------------------------


@dataclass
class Counts:
    lines: int = 0
    holders_created: int = 0
    holders_skipped: int = 0
    aliases_created: int = 0
    aliases_skipped: int = 0
    rejected: int = 0
    bytes_done: int = 0


@dataclass
class Importer:
    """Imports an input into one organization. `report(rejection)` is called per refused line,
    `progress(counts)` after every chunk."""

    organization_id: uuid.UUID
    fmt: str = "jsonl"
    dry_run: bool = False
    workers: int = 0
    batch_size: int = 2000
    actor: tuple[str, str] = ("command", "import_holders")
    report: Callable[[Rejection], None] = lambda rejection: None
    progress: Callable[[Counts], None] = lambda counts: None
    counts: Counts = field(default_factory=Counts)
    _seen_documents: set[int] = field(default_factory=set)
    _seen_accounts: set[str] = field(default_factory=set)

    def run(self, lines: Iterable[bytes]) -> Counts:
        records = csv_records(lines) if self.fmt == "csv" else jsonl_records(lines)
        tasks = (
            Task(
                self.organization_id,
                self.fmt,
                self.actor,
                chunk,
                getattr(lines, "bytes_read", 0),
            )
            for chunk in _chunks(records, self.batch_size)
        )
        if self.workers <= 0:
            for task in tasks:
                self._handle(task, process(task))
            return self.counts
        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
        with context.Pool(self.workers, initializer=_worker_init) as pool:
            pending: deque = deque()
            for task in tasks:  # a bounded number of chunks in flight: memory stays flat
                pending.append((task, pool.apply_async(process, (task,))))
                if len(pending) > 2 * self.workers:
                    task, result = pending.popleft()
                    self._handle(task, result.get())
            while pending:
                task, result = pending.popleft()
                self._handle(task, result.get())
        return self.counts

    def _handle(self, task: Task, results: list[BuiltLine | Rejection]) -> None:
        built = [result for result in results if isinstance(result, BuiltLine)]
        existing_holders = self._existing_holders(
            [digest for line in built for digest in line.document_hashes]
        )
        existing_accounts = self._existing_accounts(
            [alias.account_id for line in built for alias in line.aliases]
        )
        rows: dict[str, list] = defaultdict(list)
        resumed: list[tuple[int, uuid.UUID, list[int]]] = []
        for result in results:
            self.counts.lines += 1
            if isinstance(result, Rejection):
                self._reject(result)
                continue
            outcome = self._decide(result, existing_holders, existing_accounts)
            if isinstance(outcome, Rejection):
                self._reject(outcome)
                continue
            holder_id, new_aliases = outcome
            if holder_id is None:
                self.counts.holders_created += 1
                _extend(rows, result.rows)
                for alias in result.aliases:
                    _extend(rows, alias.rows)
            else:
                self.counts.holders_skipped += 1
                if new_aliases:
                    resumed.append((result.line, holder_id, new_aliases))
            self.counts.aliases_created += len(new_aliases)
            self.counts.aliases_skipped += len(result.aliases) - len(new_aliases)
        if resumed:
            self._build_under_existing(task, resumed, rows)
        if not self.dry_run:
            try:
                with transaction.atomic():
                    relax_commit()
                    for label, model_rows in rows.items():
                        write_rows(label, model_rows)
            except IntegrityError as exc:
                # Someone else (the API) took a document or account id of this batch since
                # it was checked: the batch is rolled back; a new run resumes from here.
                raise InputError(
                    f"a concurrent write conflicts with the batch ending at line "
                    f"{task.records[-1][0]}; nothing of that batch was written. Run the "
                    "command again to resume."
                ) from exc
        self.counts.bytes_done = task.offset
        self.progress(self.counts)

    def _decide(self, line: BuiltLine, existing_holders, existing_accounts):
        """(existing holder id or None, indexes of the aliases to create), or a Rejection."""
        document = int(line.document_hashes[0][:32], 16)
        if document in self._seen_documents:
            return Rejection.of(line.line, CRMError("CRM-0010", fields={"document": ""}))
        accounts = [alias.account_id for alias in line.aliases]
        for index, account in enumerate(accounts):
            if account in self._seen_accounts or account in accounts[:index]:
                return _account_taken(line.line, index)
        holder_id = next(
            (existing_holders[d] for d in line.document_hashes if d in existing_holders), None
        )
        new_aliases = []
        for index, account in enumerate(accounts):
            owner = existing_accounts.get(account)
            if owner is None:
                new_aliases.append(index)
            elif owner != holder_id:
                return _account_taken(line.line, index)
        self._seen_documents.add(document)
        self._seen_accounts.update(accounts)
        return holder_id, new_aliases

    def _build_under_existing(self, task: Task, resumed, rows) -> None:
        """Aliases of a holder imported earlier (or created through the API): built under
        the stored holder, whose document and type they copy, as `alias_create` does."""
        payloads = dict(task.records)
        holders = Holder.objects.in_bulk([holder_id for _, holder_id, _ in resumed])
        with audit.acting_as(audit.Actor(*self.actor)):
            self._build_aliases(task.fmt, payloads, holders, resumed, rows)

    def _build_aliases(self, fmt, payloads, holders, resumed, rows) -> None:
        for line, holder_id, indexes in resumed:
            _, aliases = validated_line(parse_body(fmt, payloads[line]))
            for index in indexes:
                data, parties = aliases[index]
                _extend(rows, build_alias(holders[holder_id], data, parties).rows)

    def _existing_holders(self, hashes: list[str]) -> dict[str, uuid.UUID]:
        found: dict[str, uuid.UUID] = {}
        for part in _slices(hashes):
            found.update(
                Holder.objects.filter(
                    organization_id=self.organization_id, document_hash__in=part
                ).values_list("document_hash", "id")
            )
        return found

    def _existing_accounts(self, accounts: list[str]) -> dict[str, uuid.UUID]:
        found: dict[str, uuid.UUID] = {}
        for part in _slices(accounts):
            found.update(
                AliasAccount.objects.filter(
                    organization_id=self.organization_id, account_id__in=part
                ).values_list("account_id", "holder_id")
            )
        return found

    def _reject(self, rejection: Rejection) -> None:
        self.counts.rejected += 1
        self.report(rejection)


def _account_taken(line: int, index: int) -> Rejection:
    return Rejection.of(line, CRMError("CRM-0013", fields={f"aliases[{index}].accountId": ""}))


def _extend(rows: dict[str, list], more: dict[str, list]) -> None:
    for table, table_rows in more.items():
        rows[table].extend(table_rows)


def _slices(values: list, size: int = 500) -> Iterator[list]:
    unique = list(dict.fromkeys(values))
    for start in range(0, len(unique), size):
        yield unique[start : start + size]


def _chunks(records: Iterator[tuple[int, Any]], size: int) -> Iterator[list[tuple[int, Any]]]:
    chunk: list[tuple[int, Any]] = []
    for record in records:
        chunk.append(record)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def write_rows(label: str, rows: list[bytes] | list[tuple]) -> None:
    """Insert the rows of one model (by label) as `Tables.packed` made them: blocks of `COPY`
    text on PostgreSQL (sent as one), tuples for one `executemany` elsewhere."""
    if not rows:
        return
    table = tables().learn(apps.get_model(label))
    columns = [f.column for f in tables().fields[table]]
    quote = connection.ops.quote_name
    names = ", ".join(quote(column) for column in columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.copy(f"COPY {quote(table)} ({names}) FROM STDIN") as copy:
                copy.write(b"".join(rows))
        else:
            marks = ", ".join(["%s"] * len(columns))
            sql = f"INSERT INTO {quote(table)} ({names}) VALUES ({marks})"  # noqa: S608 (names quoted)
            cursor.executemany(sql, rows)


# --- Progress ----------------------------------------------------------------------------------


class Progress:
    """A progress line on a stream at most every `interval` seconds: lines, percent and ETA
    (when the input size is known), rate, and the counts so far."""

    def __init__(self, stream: IO[str], total_bytes: int | None, interval: float = 2.0) -> None:
        self.stream = stream
        self.total = total_bytes
        self.interval = interval
        self.started = time.monotonic()
        self.last = 0.0

    def __call__(self, counts: Counts, *, final: bool = False) -> None:
        now = time.monotonic()
        if not final and now - self.last < self.interval:
            return
        self.last = now
        elapsed = max(now - self.started, 1e-9)
        rate = counts.lines / elapsed
        parts = [f"{counts.lines:,} lines", f"{rate:,.0f} lines/s"]
        if self.total and counts.bytes_done:
            done = min(counts.bytes_done / self.total, 1.0)
            eta = elapsed * (1 - done) / done if done else 0
            parts.insert(1, f"{done:.1%}")
            parts.append(f"ETA {_duration(eta)}")
        parts.append(f"elapsed {_duration(elapsed)}")
        parts.append(
            f"holders +{counts.holders_created:,} ={counts.holders_skipped:,}, "
            f"aliases +{counts.aliases_created:,} ={counts.aliases_skipped:,}, "
            f"rejected {counts.rejected:,}"
        )
        self.stream.write("import_holders: " + ", ".join(parts) + "\n")
        self.stream.flush()


def _duration(seconds: float) -> str:
    return str(dt.timedelta(seconds=round(seconds)))


def input_size(stream: IO[bytes]) -> int | None:
    try:
        stat = os.fstat(stream.fileno())
    except (OSError, AttributeError, io.UnsupportedOperation):
        return None
    return stat.st_size if stat.st_size and os.path.isfile(getattr(stream, "name", "")) else None


# --- Sample data (tests and benchmarks) --------------------------------------------------------

FIRST_NAMES = [
    "Maria",
    "José",
    "Ana",
    "João",
    "Antônio",
    "Francisca",
    "Carlos",
    "Paula",
    "Luís",
    "Conceição",
    "Marcos",
    "Juliana",
    "Pedro",
    "Fernanda",
    "Raimundo",
]
LAST_NAMES = [
    "Silva",
    "Santos",
    "Oliveira",
    "Souza",
    "Rodrigues",
    "Ferreira",
    "Alves",
    "Pereira",
    "Lima",
    "Gomes",
    "Araújo",
    "Ribeiro",
    "Carvalho",
    "Almeida",
]
SAMPLE_LEDGER = "0196a3f4-0000-7000-8000-00000000e001"


def cpf(number: int) -> str:
    """The valid CPF (two check digits) of a 9-digit base number."""
    base = [int(d) for d in f"{number % 1_000_000_000:09d}"]
    for length in (9, 10):
        total = sum(d * w for d, w in zip(base, range(length + 1, 1, -1), strict=True))
        base.append(0 if total % 11 < 2 else 11 - total % 11)
    return "".join(map(str, base))


def sample_bodies(count: int, *, seed: int = 0, start: int = 0) -> Iterator[dict[str, Any]]:
    """`count` valid JSON Lines bodies (a natural person with contact, address, birth date,
    metadata and one alias with banking details), unique documents and account ids from
    `start` on; deterministic for a seed."""
    rng = random.Random(seed)
    for number in range(start, start + count):
        name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)} {rng.choice(LAST_NAMES)}"
        yield {
            "type": "NATURAL_PERSON",
            "name": name,
            "document": cpf(100_000_000 + number),
            "externalId": f"CUST-{number}",
            "contact": {
                "primaryEmail": f"customer{number}@example.com",
                "mobilePhone": f"+55119{number % 100_000_000:08d}",
            },
            "addresses": {
                "primary": {
                    "line1": f"Rua {rng.choice(LAST_NAMES)}, {number % 2000}",
                    "zipCode": "01310-100",
                    "city": "São Paulo",
                    "state": "SP",
                    "country": "BR",
                }
            },
            "naturalPerson": {
                "birthDate": f"{1950 + number % 50}-0{1 + number % 9}-1{number % 9}",
                "motherName": f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
            },
            "metadata": {"segment": rng.choice(["retail", "private", "business"])},
            "aliases": [
                {
                    "ledgerId": SAMPLE_LEDGER,
                    "accountId": str(uuid.UUID(int=(0x0196 << 112) | number)),
                    "bankingDetails": {
                        "branch": f"{number % 9999:04d}",
                        "account": f"{number:09d}-{number % 10}",
                        "type": "CACC",
                        "openingDate": "2024-01-15",
                    },
                    "metadata": {"channel": "import"},
                }
            ],
        }


def write_sample_jsonl(stream: IO[bytes], count: int, **kwargs: Any) -> None:
    for body in sample_bodies(count, **kwargs):
        stream.write(json.dumps(body, ensure_ascii=False).encode() + b"\n")


def stdin_bytes() -> IO[bytes]:
    return sys.stdin.buffer
