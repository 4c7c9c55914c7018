"""The audit trail's hash chain (crm/lifecycle/chain.py, docs/api.md §12): entries are sealed
in order under a keyed hash, `manage.py verify_audit` recomputes every link and names the
first entry changed, removed or reordered by raw SQL, and an erasure's redaction keeps the
chain verifiable."""

import hashlib
import hmac
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from crm.lifecycle import chain
from crm.models import AuditEntry, AuditVerification
from tests.factories import alias_payload, holder_payload

pytestmark = pytest.mark.django_db

TABLE = AuditEntry._meta.db_table


def write_trail(api) -> tuple[str, str]:
    """A holder with an alias, an update and a soft delete: seven entries or so."""
    holder_id = api.post("/v1/holders", holder_payload()).json()["id"]
    alias_id = api.post(f"/v1/holders/{holder_id}/aliases", alias_payload()).json()["id"]
    api.patch(f"/v1/holders/{holder_id}", {"metadata": {"tier": "gold"}})
    api.patch(f"/v1/holders/{holder_id}/aliases/{alias_id}", {"metadata": {"x": "1"}})
    other = api.post("/v1/holders", holder_payload(document="39053344705")).json()["id"]
    api.delete(f"/v1/holders/{other}")
    return holder_id, alias_id


def sql(statement: str, *params) -> None:
    """Run raw SQL on the audit table, as someone with database access would (ids as the
    database stores them)."""
    id_field = AuditEntry._meta.pk
    values = [
        id_field.get_db_prep_value(value, connection) if hasattr(value, "hex") else value
        for value in params
    ]
    with connection.cursor() as cursor:
        cursor.execute(statement.format(table=connection.ops.quote_name(TABLE)), values)


def verify_audit() -> tuple[int, str, str]:
    """(exit status, stdout, stderr) of `manage.py verify_audit`."""
    out, err = StringIO(), StringIO()
    try:
        call_command("verify_audit", stdout=out, stderr=err)
    except SystemExit as exit_:
        return exit_.code, out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


def sealed() -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(seq__isnull=False).order_by("seq"))


def test_entries_are_written_unsealed_and_sealed_in_order(api):
    write_trail(api)
    assert AuditEntry.objects.filter(seq__isnull=True).count() == AuditEntry.objects.count() >= 6

    assert chain.seal() == AuditEntry.objects.count()

    entries = sealed()
    assert [e.seq for e in entries] == list(range(1, len(entries) + 1))
    order = list(AuditEntry.objects.order_by("created_at", "id").values_list("id", flat=True))
    assert [e.id for e in entries] == order
    key_id, key = chain.current_key()
    previous = chain.GENESIS
    for entry in AuditEntry.objects.filter(seq__isnull=False).order_by("seq").values(*chain.READ):
        assert entry["chain_key"] == key_id
        assert entry["body_hash"] == chain.body_hash(entry, key)
        assert entry["chain_hash"] == chain.link(previous, entry, entry["body_hash"], key)
        previous = entry["chain_hash"]
    assert chain.seal() == 0  # nothing new


def test_verify_audit_passes_on_an_untouched_trail_and_records_it(api):
    write_trail(api)

    status, out, _ = verify_audit()

    assert status == 0
    total = AuditEntry.objects.count()
    assert f"Sealed {total} new entries." in out
    assert f"{total}/{total} verified" in out  # the progress line
    assert f"The audit trail verifies: {total} entries" in out
    run = AuditVerification.objects.get()
    assert (run.ok, run.entries, run.head_seq, run.problem) == (True, total, total, "")


def test_verify_audit_names_an_entry_changed_by_sql(api):
    write_trail(api)
    chain.seal()
    target = sealed()[3]
    sql("UPDATE {table} SET actor = %s WHERE id = %s", "someone-else", target.id)

    status, _, err = verify_audit()

    assert status == 1
    assert f"entry {target.id} at position 4 was modified" in err
    assert AuditVerification.objects.get().ok is False


def test_verify_audit_notices_a_changed_body_too(api):
    write_trail(api)
    chain.seal()
    target = next(e for e in sealed() if e.changed_fields)
    AuditEntry.objects.filter(id=target.id).update(changed_fields=["nothing"])

    status, _, err = verify_audit()

    assert status == 1
    assert f"entry {target.id} at position {target.seq} was modified" in err


def test_verify_audit_names_a_removed_entry(api):
    write_trail(api)
    chain.seal()
    removed, following = sealed()[2], sealed()[3]
    sql("DELETE FROM {table} WHERE id = %s", removed.id)

    status, _, err = verify_audit()

    assert status == 1
    assert f"position 3 is missing (the chain goes on at entry {following.id}" in err


def test_verify_audit_notices_a_reorder(api):
    write_trail(api)
    chain.seal()
    first, second = sealed()[1], sealed()[2]
    # Swap the two entries' places in the chain (through a free position: seq is unique).
    sql("UPDATE {table} SET seq = -1 WHERE id = %s", first.id)
    sql("UPDATE {table} SET seq = %s WHERE id = %s", first.seq, second.id)
    sql("UPDATE {table} SET seq = %s WHERE id = %s", second.seq, first.id)

    status, _, err = verify_audit()

    assert status == 1
    assert (
        f"entry {second.id} at position {first.seq} was modified, or entries were reordered" in err
    )


def test_verify_audit_notices_entries_removed_from_the_end_since_the_last_run(api):
    write_trail(api)
    assert verify_audit()[0] == 0
    last = sealed()[-1]
    sql("DELETE FROM {table} WHERE id = %s", last.id)

    status, _, err = verify_audit()

    assert status == 1
    assert "entries were removed from its end" in err


def test_an_entry_cleared_without_an_erasure_is_found(api):
    write_trail(api)
    chain.seal()
    target = next(e for e in sealed() if e.changed_fields)
    AuditEntry.objects.filter(id=target.id).update(changed_fields=[], redacted=True)

    status, _, err = verify_audit()

    assert status == 1
    assert f"entry {target.id} at position {target.seq} was cleared although its record" in err


def test_an_erasure_after_sealing_keeps_the_chain_verifiable(api):
    holder_id, alias_id = write_trail(api)
    chain.seal()
    before = {e.id: e.body_hash for e in sealed()}

    api.delete(f"/v1/holders/{holder_id}/aliases/{alias_id}")
    assert (
        api.delete(f"/v1/holders/{holder_id}/aliases/{alias_id}?hard_delete=true").status_code
        == 204
    )

    cleared = AuditEntry.objects.filter(object_id=alias_id, redacted=True)
    assert cleared.count() >= 2
    assert {(tuple(e.changed_fields), e.reason, e.request_id) for e in cleared} == {((), "", "")}
    # Each cleared entry keeps the hash of the body it had when it was sealed.
    assert all(e.body_hash == before[e.id] for e in cleared if e.id in before)
    status, out, err = verify_audit()
    assert (status, err) == (0, "")
    assert "The audit trail verifies" in out


def test_an_erasure_before_sealing_verifies_too(api):
    holder_id, alias_id = write_trail(api)
    api.delete(f"/v1/holders/{holder_id}/aliases/{alias_id}")
    api.delete(f"/v1/holders/{holder_id}/aliases/{alias_id}?hard_delete=true")

    assert verify_audit()[0] == 0


def test_entries_sealed_under_a_previous_hash_key_verify_while_it_is_configured(api, settings):
    write_trail(api)
    chain.seal()
    old = settings.LCRYPTO_HASH_SECRET_KEY
    settings.LCRYPTO_HASH_SECRET_KEY = "a-new-hash-key-of-at-least-32-characters"
    settings.LCRYPTO_PREVIOUS_HASH_SECRET_KEYS = [old]
    api.post("/v1/holders", holder_payload(document="11144477735"))  # sealed under the new key
    assert verify_audit()[0] == 0
    assert len({e.chain_key for e in sealed()}) == 2

    settings.LCRYPTO_PREVIOUS_HASH_SECRET_KEYS = []
    status, _, err = verify_audit()
    assert status == 1
    assert "sealed with a key that is not configured" in err

    settings.AUDIT_CHAIN_RETIRED_KEYS = [old]
    assert verify_audit()[0] == 0


def test_the_chain_key_is_not_the_search_hash_key(settings):
    _, key = chain.current_key()
    assert key != settings.LCRYPTO_HASH_SECRET_KEY.encode()
    entry = {name: None for name in chain.READ} | {
        "changed_fields": [],
        "request_id": "",
        "details": {},
        "reason": "",
    }
    plain = hmac.new(
        settings.LCRYPTO_HASH_SECRET_KEY.encode(), chain.body_text(entry).encode(), hashlib.sha256
    ).hexdigest()
    assert chain.body_hash(entry, key) != plain


def test_seal_audit_command_reports_what_it_sealed(api):
    write_trail(api)
    out = StringIO()
    call_command("seal_audit", stdout=out)
    total = AuditEntry.objects.count()
    assert f"Sealed {total} entries; the chain holds {total}." in out.getvalue()


def test_the_dashboard_shows_the_last_verification(admin_client, api):
    page = reverse("crm-dashboard")
    assert "has never been verified" in admin_client.get(page).text
    write_trail(api)
    verify_audit()
    assert "hash chain verified on" in admin_client.get(page).text

    AuditEntry.objects.filter(seq=2).update(actor="forged")
    verify_audit()
    text = admin_client.get(page).text
    assert "did NOT verify" in text and "at position 2 was modified" in text


def test_verify_batches_cross_their_boundaries(api):
    write_trail(api)
    chain.seal(batch_size=2)
    assert [e.seq for e in sealed()] == list(range(1, AuditEntry.objects.count() + 1))
    result = chain.verify(batch_size=3)
    assert result.ok and result.entries == AuditEntry.objects.count()
    AuditEntry.objects.filter(seq=4).update(action="export")
    assert "at position 4 was modified" in chain.verify(batch_size=3).problem
