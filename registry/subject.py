"""A data subject's copy (LGPD art. 18 II and V; docs/api.md §12): one JSON document with
everything the registry holds about one person in one organization.

What it holds, for the person found by their document (any formatting: the search hashes):

* `holders` — every holder record with that document, live or soft-deleted, as the API shows it;
* `aliasAccounts` — every alias account of those holders, live or soft-deleted;
* `relatedPartyEntries` — every related-party entry naming the person by document on any alias
  of the organization (the entry itself and which alias and holder it is on: the other holder's
  data is not the subject's);
* `versions` — every version of those holders and accounts (`crm.lifecycle.versions`);
* `auditEntries` — the audit trail about those holders and accounts (who did what and when,
  field names, reasons).

No other person's personal data: the related parties on the subject's own accounts (and in their
versions) are kept only where they are the subject. Writing the copy is audited (an `export`
entry with the reason and the counts, never the document); who may ask is the caller's to check
(the command is an operator's; the admin asks for the data-protection officer's permission).
"""

import datetime as dt
import uuid
from typing import Any

from django.utils import timezone

from aliases.models import RELATED_PARTY_DOCUMENT_FIELD, AliasAccount, RelatedParty
from aliases.serializers import RelatedPartySerializer, alias_body
from crm.api.serializers import representation
from crm.crypto.search import canonical, lookup_hashes
from crm.lifecycle import audit
from crm.models import AuditEntry, RecordVersion
from holders.models import DOCUMENT_FIELD, Holder
from holders.serializers import holder_body

FORMAT = "crm.subject-copy/1"


class NoSuchSubject(LookupError):
    """No holder and no related-party entry with that document in that organization."""


def _iso(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z") if value else None


def _only_the_subject(body: dict[str, Any], document: str) -> dict[str, Any]:
    """An alias body with its related parties reduced to those that are the subject."""
    parties = body.get("relatedParties")
    if not parties:
        return body
    own = [party for party in parties if canonical(party.get("document") or "") == document]
    trimmed = {**body, "relatedParties": own}
    if not own:
        del trimmed["relatedParties"]
    return trimmed


def subject_copy(*, organization_id: uuid.UUID, document: str) -> dict[str, Any]:
    """The copy as a JSON-ready dict; `NoSuchSubject` when the registry holds nothing."""
    wanted = canonical(document)
    holders = list(
        Holder.all_objects.filter(
            organization_id=organization_id,
            document_hash__in=lookup_hashes(organization_id, DOCUMENT_FIELD, document),
        ).order_by("id")
    )
    aliases = list(
        AliasAccount.all_objects.filter(holder__in=[holder.id for holder in holders])
        .prefetch_related("related_parties")
        .order_by("id")
    )
    entries = list(
        RelatedParty.objects.filter(
            organization_id=organization_id,
            document_hash__in=lookup_hashes(
                organization_id, RELATED_PARTY_DOCUMENT_FIELD, document
            ),
        )
        .select_related("alias")
        .order_by("id")
    )
    if not holders and not entries:
        raise NoSuchSubject(document)
    kinds = {holder.id: "holder" for holder in holders} | {alias.id: "alias" for alias in aliases}
    versions = RecordVersion.objects.filter(
        organization_id=organization_id, object_id__in=list(kinds)
    ).order_by("object_id", "number")
    trail = AuditEntry.objects.filter(
        organization_id=organization_id, object_id__in=list(kinds)
    ).order_by("created_at", "id")
    return {
        "format": FORMAT,
        "organizationId": str(organization_id),
        "generatedAt": _iso(timezone.now()),
        "holders": [holder_body(holder) for holder in holders],
        "aliasAccounts": [_only_the_subject(alias_body(alias), wanted) for alias in aliases],
        "relatedPartyEntries": [
            {
                "aliasId": str(entry.alias_id),
                "holderId": str(entry.alias.holder_id),
                "party": representation(RelatedPartySerializer, entry),
            }
            for entry in entries
        ],
        "versions": [
            {
                "objectType": version.object_type,
                "objectId": str(version.object_id),
                "version": version.number,
                "action": version.action,
                "changedAt": _iso(version.changed_at),
                "actor": f"{version.actor_type}:{version.actor}",
                "fields": version.changed_fields,
                "body": _only_the_subject(version.body, wanted)
                if version.object_type == "alias"
                else version.body,
            }
            for version in versions
        ],
        "auditEntries": [
            {
                "id": str(entry.id),
                "at": _iso(entry.created_at),
                "actor": f"{entry.actor_type}:{entry.actor}",
                "action": entry.action,
                "objectType": entry.object_type,
                "objectId": str(entry.object_id),
                "fields": entry.changed_fields,
                "reason": entry.reason,
            }
            for entry in trail
        ],
    }


def record_copy(copy: dict[str, Any], *, reason: str) -> None:
    """The audit entry of a copy handed out: who (the current actor), why, how much; never
    the document."""
    with audit.giving_reason(reason):
        values = audit.entry_values(
            AuditEntry.Action.EXPORT,
            object_type="holder",
            object_id=None,
            organization_id=uuid.UUID(copy["organizationId"]),
        )
        AuditEntry.objects.create(
            **values,
            details={
                "subject_copy": True,
                "holders": len(copy["holders"]),
                "aliasAccounts": len(copy["aliasAccounts"]),
                "relatedPartyEntries": len(copy["relatedPartyEntries"]),
                "versions": len(copy["versions"]),
                "auditEntries": len(copy["auditEntries"]),
            },
        )
