"""The metadata pair index: one row per (record, metadata key, string value).

`?metadata.<key>=<value>` must be flat whatever the value's frequency: a page of ten in id
order. A GIN index on the metadata column returns every match unordered (a value matching 2,000
of a million rows means 2,000 rows fetched and sorted for ten), and walking the organization in
id order instead costs 1/frequency rows; between the two the cost grows with the table. A btree
on `(organization_id, pair_hash, record_id)` serves the organization, the match and the id order
at once: the list reads its page and stops, and a keyset page (`cursor`) starts where it left.

`pair_hash` is SHA-256 over organization, key and value (a btree entry must stay small, while a
metadata value may be 2,000 characters; with the organization in it, the column's statistics
say how often a value occurs *in that organization*, so a value used only by another
organization is estimated as rare, not common). It is not a secret (metadata is stored and
filtered in clear, it is not personal data in the contract), so it is unkeyed and needs no
rotation. Only string
values are indexed, which is what the filter has always matched: `metadata.k=5` is the string
"5", never the number 5.

Written with a new record (`metadata_pair_rows`), kept in step on update
(`metadata_pair_replacement`), written in bulk by the importer (the same rows), erased with
the record (a lifecycle part; CASCADE too)."""

import hashlib
from typing import Any

from django.db import connections, models
from django.db.models import QuerySet
from django.db.models.fields.json import KeyTransform

from crm.db.rows import Replace, Row


def pair_hash(organization_id: Any, key: str, value: str) -> str:
    return hashlib.sha256(
        f"{str(organization_id).lower()}\x00{key}\x00{value}".encode()
    ).hexdigest()


def pair_hashes(organization_id: Any, metadata: dict[str, Any] | None) -> list[str]:
    """The hashes of a metadata dict's string pairs, sorted (stable insert order)."""
    return sorted(
        pair_hash(organization_id, key, value)
        for key, value in (metadata or {}).items()
        if isinstance(value, str)
    )


class MetadataPair(models.Model):
    """Abstract base of the per-kind pair tables (a foreign key to the record is added by the
    concrete model, with `related_name="metadata_pairs"`)."""

    organization_id = models.UUIDField()
    pair_hash = models.CharField(max_length=64)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return "Metadata pair"


def metadata_pair_replacement(record: models.Model) -> Replace:
    """The stored pairs of a saved record made those of its metadata, as a part of the write
    that changes the metadata (`crm.lifecycle.update`): nothing read first. (A new record's
    pairs are written with it: `metadata_pair_rows`.)"""
    fk = type(record).metadata_pairs.field.attname
    return Replace(
        type(record).metadata_pairs.field.model,
        (fk, record.pk),
        "pair_hash",
        metadata_pair_rows(record),
    )


def metadata_pair_values(record: models.Model) -> list[dict[str, Any]]:
    """The field values (by attribute name) of a record's pair rows."""
    fk = type(record).metadata_pairs.field.attname
    return [
        {fk: record.pk, "organization_id": record.organization_id, "pair_hash": digest}
        for digest in pair_hashes(record.organization_id, record.metadata)
    ]


def metadata_pair_rows(record: models.Model) -> list[Row]:
    """A record's pair rows, to insert (`crm.db.rows.insert_rows`)."""
    model = type(record).metadata_pairs.field.model
    return [Row(model, values) for values in metadata_pair_values(record)]


def filter_metadata_pairs(
    queryset: QuerySet,
    organization_id: Any,
    metadata: dict[str, str],
    keyset: tuple[Any, bool] | None = None,
) -> QuerySet:
    """Every `metadata.<k>=<v>` filter (AND) as a join to the pair index, one per pair.

    `keyset` is a keyset page's (boundary id, increasing): the bound is put on the pair rows
    too. PostgreSQL carries equalities across a join but not inequalities, so with the bound
    on the record alone the index would be read from the first match up to the cursor."""
    if connections[queryset.db].vendor == "sqlite":
        # SQLite's planner reads the pair index and then sorts every match by the record's
        # id (it does not carry the order across the join); walking the organization in id
        # order with a JSON lookup reads only up to the page there (the embedded default).
        for index, (key, value) in enumerate(metadata.items()):
            alias = f"metadata_filter_{index}"
            queryset = queryset.alias(**{alias: KeyTransform(key, "metadata")})
            queryset = queryset.filter(**{alias: value})
        return queryset
    fk = queryset.model.metadata_pairs.field.name
    for key, value in metadata.items():
        conditions = {
            "metadata_pairs__organization_id": organization_id,
            "metadata_pairs__pair_hash": pair_hash(organization_id, key, value),
        }
        if keyset is not None and keyset[0] is not None:
            boundary, increasing = keyset
            conditions[f"metadata_pairs__{fk}__{'gt' if increasing else 'lt'}"] = boundary
        queryset = queryset.filter(**conditions)
    return queryset
