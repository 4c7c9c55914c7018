"""A holder PATCH on PostgreSQL reads the holder without a lock and writes in one statement
that locks it and checks it is still live at the version read (`crm.lifecycle.change`). These
tests change the holder in another session between the two, and check that the PATCH never
writes over that change: it applies to the holder as it now is, or answers what that state
calls for (404 once deleted, 412 when `If-Match` names the old version), with nothing of its
own written."""

import pytest
from django.db import connection

from crm.lifecycle import UNLOCKED_ATTEMPTS
from crm.models import AuditEntry, RecordVersion
from holders import services
from holders.models import Holder, HolderMetadataPair
from tests.conftest import ORG_A, OrgClient
from tests.factories import HolderFactory
from tests.sessions import answer_after_another_session_commits, concurrently

pytestmark = [pytest.mark.postgresql, pytest.mark.django_db(transaction=True)]


def _patch_while_another_session_holds_the_holder(holder, change_sql, body, **headers):
    """PATCH `body` while another session has run `change_sql` on the holder, uncommitted:
    the PATCH waits for it at its write, and answers once the session has committed."""
    return answer_after_another_session_commits(
        [(change_sql, [holder.id])],
        lambda: OrgClient(ORG_A).patch(f"/v1/holders/{holder.id}", body, **headers),
    )


def test_a_patch_applies_to_the_holder_as_another_session_changed_it():
    holder = HolderFactory(organization_id=ORG_A, external_id="mine-before", metadata={"k": "v"})

    answer = _patch_while_another_session_holds_the_holder(
        holder,
        "UPDATE holders_holder SET external_id = 'theirs', version = version + 1 WHERE id = %s",
        {"metadata": {"mine": "1"}},
    )

    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert (body["externalId"], body["metadata"]) == ("theirs", {"k": "v", "mine": "1"})
    assert answer["ETag"] == '"3"'
    holder.refresh_from_db()
    assert (holder.version, holder.external_id) == (3, "theirs")
    assert holder.metadata == {"k": "v", "mine": "1"}
    assert HolderMetadataPair.objects.filter(holder=holder).count() == 2
    # The PATCH's version is the third: the other session's change is never overwritten.
    assert RecordVersion.objects.filter(object_id=holder.id, number=3).count() == 1
    assert AuditEntry.objects.filter(object_id=holder.id, action="update").count() == 1


def test_a_patch_of_a_holder_deleted_meanwhile_is_a_404_with_nothing_written():
    holder = HolderFactory(organization_id=ORG_A)

    answer = _patch_while_another_session_holds_the_holder(
        holder,
        "UPDATE holders_holder SET deleted_at = now(), version = version + 1 WHERE id = %s",
        {"metadata": {"mine": "1"}},
    )

    assert (answer.status_code, answer.json()["code"]) == (404, "CRM-0006")
    holder = Holder.all_objects.get(pk=holder.pk)
    assert (holder.version, holder.metadata) == (2, {})
    assert not HolderMetadataPair.objects.filter(holder=holder).exists()
    assert not AuditEntry.objects.filter(object_id=holder.id, action="update").exists()
    assert not RecordVersion.objects.filter(object_id=holder.id, number__gt=1).exists()


def test_an_if_match_patch_compares_with_the_version_another_session_wrote():
    holder = HolderFactory(organization_id=ORG_A)

    answer = _patch_while_another_session_holds_the_holder(
        holder,
        "UPDATE holders_holder SET external_id = 'theirs', version = version + 1 WHERE id = %s",
        {"metadata": {"mine": "1"}},
        HTTP_IF_MATCH='"1"',
    )

    assert (answer.status_code, answer.json()["code"]) == (412, "CRM-0911")
    holder.refresh_from_db()
    assert (holder.version, holder.external_id, holder.metadata) == (2, "theirs", {})
    assert not AuditEntry.objects.filter(object_id=holder.id, action="update").exists()


def test_a_holder_changed_at_every_unlocked_attempt_is_patched_under_its_lock(monkeypatch):
    """Three unlocked reads each find the holder changed at their write (another session
    changes it right after each read); the fourth attempt reads it locked, in a transaction,
    and the PATCH applies to everything the other session wrote."""
    holder = HolderFactory(organization_id=ORG_A)
    other = connection.copy()
    reads = []
    read = services.holder_get

    def read_then_changed_elsewhere(*, for_update=False, **ids):
        found = read(for_update=for_update, **ids)
        reads.append("locked" if for_update else "unlocked")
        if not for_update:
            with other.cursor() as cursor:
                cursor.execute(
                    "UPDATE holders_holder SET external_id = %s, version = version + 1"
                    " WHERE id = %s",
                    [f"theirs-{len(reads)}", holder.id],
                )
        return found

    monkeypatch.setattr(services, "holder_get", read_then_changed_elsewhere)
    try:
        answer = OrgClient(ORG_A).patch(f"/v1/holders/{holder.id}", {"metadata": {"mine": "1"}})
    finally:
        other.close()

    assert answer.status_code == 200, answer.content
    assert reads == ["unlocked"] * UNLOCKED_ATTEMPTS + ["locked"]
    holder.refresh_from_db()
    assert holder.version == 1 + UNLOCKED_ATTEMPTS + 1
    assert (holder.external_id, holder.metadata) == (f"theirs-{UNLOCKED_ATTEMPTS}", {"mine": "1"})
    assert AuditEntry.objects.filter(object_id=holder.id, action="update").count() == 1


def test_concurrent_patches_of_one_holder_lose_nothing():
    """Eight PATCHes of one holder at once, each adding its own metadata key: whichever way
    their reads and writes interleave (retried, or under the lock at last), every key is
    there and every PATCH wrote its own version."""
    holder = HolderFactory(organization_id=ORG_A)
    count = 8

    answers = concurrently(
        count,
        lambda i: OrgClient(ORG_A).patch(f"/v1/holders/{holder.id}", {"metadata": {f"k{i}": "v"}}),
    )

    assert [answer.status_code for answer in answers] == [200] * count
    holder.refresh_from_db()
    assert holder.metadata == {f"k{i}": "v" for i in range(count)}
    assert holder.version == 1 + count
    numbers = RecordVersion.objects.filter(object_id=holder.id).values_list("number", flat=True)
    assert sorted(numbers) == list(range(1, count + 2))
    assert HolderMetadataPair.objects.filter(holder=holder).count() == count
