"""How a record is named to staff: the one place every back-office page, message, title,
breadcrumb, History page, audit list, dashboard and erasure plan takes a record's name from.

`staff_name(obj)` is the record's own `display_name` (a holder: its name and masked document;
an alias: its bank account, masked, and its holder's) followed by its organization's label
("Maria Silva · ***.***.789-00 · Banco Exemplo"). Personal data: for pages only. `__str__`,
which Django's log entries and the logs print, stays free of it (the models say so).
"""

import uuid
from collections.abc import Iterable
from typing import Any

from crm import lifecycle
from crm.models import organization_labels


def organization_text(organization_id: uuid.UUID | None, labels: dict | None = None) -> str:
    """An organization as plain text: its label, or its shortened id when it has none."""
    if organization_id is None:
        return ""
    if labels is None:
        labels = organization_labels([organization_id])
    return labels.get(organization_id) or short_text(organization_id)


def short_text(value: Any) -> str:
    """A UUID shortened as staff see it in lists (`01a1fc3f…0879`); shorter values as they are."""
    text = str(value)
    return f"{text[:8]}…{text[-4:]}" if len(text) > 13 else text


def staff_name(obj: Any, labels: dict | None = None) -> str:
    """The record as staff know it: `display_name`, then the organization's label. `labels`
    (organization id -> label) saves the lookup where a page names many records."""
    organization = organization_text(obj.organization_id, labels)
    return f"{obj.display_name} · {organization}" if organization else obj.display_name


def staff_names(objects: Iterable[Any]) -> dict[Any, str]:
    """`staff_name` of many records, with their organizations' labels read in one query."""
    objects = list(objects)
    labels = organization_labels(obj.organization_id for obj in objects)
    return {obj.pk: staff_name(obj, labels) for obj in objects}


def record_names(object_type: str, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
    """`staff_name` of the records `ids` of the kind `object_type` that still exist (one query
    for the records and their parents, one for the organizations' labels); an erased record or
    one of no kind has no name here."""
    if object_type not in {kind.name for kind in lifecycle.kinds()}:
        return {}
    kind = lifecycle.kind(object_type)
    records = kind.model.all_objects.filter(pk__in=set(ids))
    if kind.parent_fk:
        parent = next(
            f.name for f in kind.model._meta.concrete_fields if f.attname == kind.parent_fk
        )
        records = records.select_related(parent)
    return staff_names(records)
