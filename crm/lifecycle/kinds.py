"""The registry's kinds of record, read from the models themselves.

A *kind* is a concrete subclass of `crm.models.RegistryModel` (a holder, an alias account). The
kernel imports no domain app: it finds the kinds among the installed models and reads what it
needs from their declarations, so a new kind needs no registration anywhere:

* `record_kind` / `record_kind_plural` (class attributes): the name on audit entries, change
  events and idempotency records ("alias"), and the selector on the command line ("aliases");
* a foreign key to another kind makes that kind its *parent* (an alias belongs to its holder);
* the models with a cascading foreign key to a kind are its *parts* (name tokens, metadata pairs,
  related parties): rows derived from the record and erased with it. A part that declares
  `erasure_label` (and optionally `erasure_columns`, plaintext only) is listed on erasure plans;
* `erasure_details` (class attribute): plaintext columns an erasure plan shows.
"""

import functools
from dataclasses import dataclass

from django.apps import apps
from django.db import models
from django.utils.text import capfirst

from crm.models import RegistryModel


@dataclass(frozen=True)
class Part:
    """Rows derived from a record and erased with it (a name word index, related parties).

    `label` names the rows on an erasure plan (one line each, with the plaintext `columns` as
    details); parts without a label are erased but not listed."""

    model: type[models.Model]
    fk: str
    label: str = ""
    columns: tuple[str, ...] = ()


@dataclass(frozen=True)
class Kind:
    """A registry model as the lifecycle core sees it.

    `name` is its audit object type ("holder"), `plural` its selector on the command line
    ("holders"); `parent`/`parent_fk` link it to the kind it belongs to (an alias to its holder);
    `details` are plaintext columns shown on an erasure plan."""

    name: str
    plural: str
    label: str
    model: type[RegistryModel]
    parent: str | None = None
    parent_fk: str | None = None
    details: tuple[str, ...] = ()
    parts: tuple[Part, ...] = ()


def _parent_link(model: type[RegistryModel]) -> models.ForeignKey | None:
    return next(
        (
            field
            for field in model._meta.concrete_fields
            if isinstance(field, models.ForeignKey)
            and issubclass(field.related_model, RegistryModel)
        ),
        None,
    )


def _parts(model: type[RegistryModel]) -> tuple[Part, ...]:
    return tuple(
        Part(
            relation.related_model,
            fk=relation.field.attname,
            label=getattr(relation.related_model, "erasure_label", ""),
            columns=getattr(relation.related_model, "erasure_columns", ()),
        )
        for relation in model._meta.related_objects
        if relation.one_to_many
        and relation.on_delete is models.CASCADE
        and not issubclass(relation.related_model, RegistryModel)
    )


def _kind(model: type[RegistryModel]) -> Kind:
    link = _parent_link(model)
    return Kind(
        name=model.record_kind,
        plural=model.record_kind_plural,
        label=capfirst(model._meta.verbose_name),  # lazy: in the language of each use
        model=model,
        parent=link.related_model.record_kind if link else None,
        parent_fk=link.attname if link else None,
        details=getattr(model, "erasure_details", ()),
        parts=_parts(model),
    )


@functools.cache
def _kinds() -> dict[str, Kind]:
    """Every kind, parents before children (read once, after the app registry is ready)."""
    found = [_kind(model) for model in apps.get_models() if issubclass(model, RegistryModel)]
    by_name = {kind.name: kind for kind in found}

    def depth(kind: Kind) -> int:
        return 0 if kind.parent is None else 1 + depth(by_name[kind.parent])

    return {kind.name: kind for kind in sorted(found, key=lambda kind: (depth(kind), kind.name))}


def kinds() -> list[Kind]:
    """Every kind, parents before children."""
    return list(_kinds().values())


def kind(name: str) -> Kind:
    return _kinds()[name]


def kind_of(model: type[models.Model]) -> Kind:
    for candidate in _kinds().values():
        if candidate.model is model:
            return candidate
    raise LookupError(f"{model.__name__} is not a registry kind")


def kind_by_plural(plural: str) -> Kind:
    return next(candidate for candidate in _kinds().values() if candidate.plural == plural)


def children(of: Kind) -> list[Kind]:
    return [candidate for candidate in _kinds().values() if candidate.parent == of.name]


def registry_models() -> list[type[models.Model]]:
    """The models that hold registry data: every kind and its parts (for statistics after
    bulk writes and for read replicas)."""
    return [model for of in kinds() for model in (of.model, *(part.model for part in of.parts))]
