"""A data subject's copy (registry/subject.py, docs/api.md §12; LGPD art. 18): everything held
about one person in one organization — holders, their accounts, the related-party entries naming
them elsewhere, every version, the audit trail about those records — and no other person's data;
audited with the reason; from the command and, for the data-protection officer only, the admin."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from crm.models import AuditEntry
from staff.roles import CLERK, DATA_PROTECTION_OFFICER, SUPERVISOR
from tests.conftest import ORG_A, ORG_B
from tests.factories import alias_payload, holder_payload
from tests.test_admin_bank_work import member_of

pytestmark = pytest.mark.django_db

SUBJECT = "52998224725"
OTHER = "39053344705"
THIRD = "11144477735"


def party(document: str, name: str) -> dict:
    return {
        "document": document,
        "name": name,
        "role": "LEGAL_REPRESENTATIVE",
        "startDate": "2024-01-01",
    }


@pytest.fixture
def registry(api, api_b):
    """The subject with an account whose related parties include someone else; another holder
    whose account names the subject as a representative; the subject's namesake in another
    organization."""
    subject = api.post("/v1/holders", holder_payload(name="Sara Sujeito", document=SUBJECT)).json()
    own = api.post(
        f"/v1/holders/{subject['id']}/aliases",
        alias_payload(
            relatedParties=[party(SUBJECT, "Sara Sujeito"), party(THIRD, "Tom Terceiro")]
        ),
    ).json()
    api.patch(f"/v1/holders/{subject['id']}", {"metadata": {"tier": "gold"}})
    other = api.post("/v1/holders", holder_payload(name="Otto Outro", document=OTHER)).json()
    elsewhere = api.post(
        f"/v1/holders/{other['id']}/aliases",
        alias_payload(
            accountId="acct-elsewhere", relatedParties=[party("529.982.247-25", "Sara Sujeito")]
        ),
    ).json()
    api_b.post("/v1/holders", holder_payload(name="Sara Em Outra Org", document=SUBJECT))
    return {"subject": subject, "own": own, "other": other, "elsewhere": elsewhere}


def export(*args: str) -> dict:
    out, err = StringIO(), StringIO()
    call_command("export_subject", *args, stdout=out, stderr=err)
    return json.loads(out.getvalue())


def test_the_copy_holds_everything_about_the_person_and_nothing_of_others(registry):
    copy = export(
        "--organization", str(ORG_A), "--document", "529.982.247-25", "--reason", "req 77"
    )

    assert [holder["id"] for holder in copy["holders"]] == [registry["subject"]["id"]]
    assert copy["holders"][0]["metadata"] == {"tier": "gold"}
    [account] = copy["aliasAccounts"]
    assert account["id"] == registry["own"]["id"]
    assert [p["name"] for p in account["relatedParties"]] == ["Sara Sujeito"]  # not Tom
    # Every entry naming her: on her own account, and on the other holder's account.
    entries = copy["relatedPartyEntries"]
    assert {(e["aliasId"], e["holderId"]) for e in entries} == {
        (registry["own"]["id"], registry["subject"]["id"]),
        (registry["elsewhere"]["id"], registry["other"]["id"]),
    }
    assert {e["party"]["name"] for e in entries} == {"Sara Sujeito"}
    numbered = [(v["objectType"], v["objectId"], v["version"]) for v in copy["versions"]]
    assert ("holder", registry["subject"]["id"], 1) in numbered
    assert ("holder", registry["subject"]["id"], 2) in numbered
    assert ("alias", registry["own"]["id"], 1) in numbered
    assert {a["objectId"] for a in copy["auditEntries"]} == {
        registry["subject"]["id"],
        registry["own"]["id"],
    }
    text = json.dumps(copy, ensure_ascii=False)
    for someone_else in ("Tom Terceiro", THIRD, "Otto Outro", OTHER, "Em Outra Org"):
        assert someone_else not in text


def test_the_copy_is_audited_with_the_reason_and_counts_never_the_document(registry, tmp_path):
    target = tmp_path / "copy.json"
    call_command(
        "export_subject", "--organization", str(ORG_A), "--document", SUBJECT,
        "--reason", "LGPD art. 18 II, request 2026/77", "--output", str(target), stderr=StringIO(),
    )  # fmt: skip

    copy = json.loads(target.read_text())
    entry = AuditEntry.objects.get(action="export", details__subject_copy=True)
    assert (entry.actor_type, entry.actor, entry.reason) == (
        "command",
        "export_subject",
        "LGPD art. 18 II, request 2026/77",
    )
    assert entry.organization_id == ORG_A
    assert entry.details["holders"] == len(copy["holders"]) == 1
    assert entry.details["versions"] == len(copy["versions"])
    assert SUBJECT not in json.dumps(entry.details) and "529.982" not in entry.reason


def test_nothing_held_writes_nothing_and_audits_nothing(registry):
    with pytest.raises(CommandError, match="Nothing is held"):
        export("--organization", str(ORG_B), "--document", OTHER, "--reason", "req")
    with pytest.raises(CommandError, match="--reason must say why"):
        export("--organization", str(ORG_A), "--document", SUBJECT, "--reason", "  ")
    assert not AuditEntry.objects.filter(action="export").exists()


def test_a_data_protection_officer_downloads_it_from_the_holder_page(client, registry):
    client.force_login(member_of(DATA_PROTECTION_OFFICER, "dpo-lia"))
    holder_id = registry["subject"]["id"]
    page = client.get(reverse("admin:holders_holder_change", args=[holder_id])).text
    url = reverse("admin:holders_holder_subject_copy", args=[holder_id])
    assert url in page

    assert client.post(url, {"reason": " "}).status_code == 200  # asked again
    assert not AuditEntry.objects.filter(action="export").exists()
    response = client.post(url, {"reason": "request 2026/78"})

    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    copy = json.loads(response.content)
    assert [holder["id"] for holder in copy["holders"]] == [holder_id]
    entry = AuditEntry.objects.get(action="export")
    assert (entry.actor_type, entry.actor, entry.reason) == ("staff", "dpo-lia", "request 2026/78")


@pytest.mark.parametrize("role", [CLERK, SUPERVISOR])
def test_other_roles_are_refused(client, registry, role):
    client.force_login(member_of(role))
    holder_id = registry["subject"]["id"]
    url = reverse("admin:holders_holder_subject_copy", args=[holder_id])

    assert client.post(url, {"reason": "mine"}).status_code == 403
    page = client.get(reverse("admin:holders_holder_change", args=[holder_id])).text
    assert url not in page
    assert not AuditEntry.objects.filter(action="export").exists()
