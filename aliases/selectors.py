"""Alias reads: one organization's alias accounts, by id (under their holder) or all of them
(the list endpoint filters them with `aliases.filtersets.AliasFilterSet`).

Every read is scoped to the organization; an alias of another organization, or under
another holder than the path names, is simply not found (404 CRM-0008).
"""

import uuid

from django.db.models import Prefetch

from aliases.models import AliasAccount, RelatedParty
from crm.models import SoftDeleteQuerySet, one_or_error


def alias_queryset(
    *, organization_id: uuid.UUID, include_deleted: bool = False
) -> SoftDeleteQuerySet:
    """The organization's aliases: live ones, or all with `include_deleted`."""
    return AliasAccount.all_objects.for_organization(organization_id).with_deleted(include_deleted)


def with_related_parties(queryset: SoftDeleteQuerySet) -> SoftDeleteQuerySet:
    """One extra query for a whole page of aliases (no N+1)."""
    return queryset.prefetch_related(
        Prefetch("related_parties", queryset=RelatedParty.objects.order_by("id"))
    )


def alias_get(
    *,
    organization_id: uuid.UUID,
    holder_id: uuid.UUID,
    alias_id: uuid.UUID,
    include_deleted: bool = False,
    for_update: bool = False,
    columns: tuple[str, ...] = (),
) -> AliasAccount:
    """The organization's alias under `holder_id`, or 404 CRM-0008 (also when it belongs to
    another holder or another organization); `for_update` and `columns` as in
    `crm.models.one_or_error`."""
    return one_or_error(
        AliasAccount,
        "CRM-0008",
        include_deleted=include_deleted,
        for_update=for_update,
        columns=columns,
        organization_id=organization_id,
        id=alias_id,
        holder_id=holder_id,
    )


def alias_list(*, organization_id: uuid.UUID, include_deleted: bool = False) -> SoftDeleteQuerySet:
    """The organization's aliases as a list page shows them, related parties prefetched; the
    list endpoint filters it with `AliasFilterSet` (the view set's `filterset_class`)."""
    return with_related_parties(
        alias_queryset(organization_id=organization_id, include_deleted=include_deleted)
    )


def related_parties_of(alias_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[RelatedParty]]:
    """The related parties of these aliases by alias id, each alias's by id: one query for a
    whole list page (no N+1), none for an empty one."""
    parties: dict[uuid.UUID, list[RelatedParty]] = {alias_id: [] for alias_id in alias_ids}
    if alias_ids:
        for party in RelatedParty.objects.filter(alias_id__in=alias_ids).order_by("id"):
            parties[party.alias_id].append(party)
    return parties


def alias_account_in_use(*, organization_id: uuid.UUID, account_id: str) -> bool:
    """True when a live alias of the organization uses this account id (index-backed). The
    unique constraint stays the authority; this read lets a form say so before writing."""
    return alias_queryset(organization_id=organization_id).filter(account_id=account_id).exists()
