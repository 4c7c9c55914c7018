"""Safe concurrent edits over the API (docs/api.md §12; issue 27, deliverable 3): every response
carrying a record has its version as a strong `ETag`; `PATCH` and `DELETE` honour `If-Match`
(a stale one is 412 CRM-0911 and nothing is written: the row, its index rows, the audit entry,
the change event and the version are all unchanged); without it, the last write wins as in
Midaz. Two writers with the same tag at the same moment: one wins, the other gets the 412."""

import pytest

from aliases.models import AliasAccount, RelatedParty
from crm.models import AuditEntry, IdempotencyRecord, RecordVersion
from events.models import OutboxEvent
from holders.models import Holder, HolderMetadataPair, HolderNameToken
from tests.conftest import ORG_A, OrgClient
from tests.factories import alias_payload, holder_payload
from tests.sessions import concurrently

PARTY = {
    "document": "11144477735",
    "name": "Rep Legal",
    "role": "LEGAL_REPRESENTATIVE",
    "startDate": "2024-01-01",
}


@pytest.fixture
def events_on(settings):
    settings.EVENTS_ENABLED = True


def snapshot() -> dict:
    """Everything a write can touch, as plain values."""
    return {
        "holders": sorted(
            Holder.all_objects.values_list(
                "id", "version", "updated_at", "deleted_at", "external_id", "metadata"
            )
        ),
        "aliases": sorted(
            AliasAccount.all_objects.values_list("id", "version", "updated_at", "deleted_at")
        ),
        "parties": sorted(RelatedParty.objects.values_list("id", flat=True)),
        "tokens": HolderNameToken.objects.count(),
        "pairs": HolderMetadataPair.objects.count(),
        "audit": AuditEntry.objects.count(),
        "events": OutboxEvent.objects.count(),
        "versions": sorted(RecordVersion.objects.values_list("object_id", "number")),
    }


def assert_refused(response) -> None:
    assert response.status_code == 412, response.content
    body = response.json()
    assert body["code"] == "CRM-0911"
    assert body["title"] == "Precondition Failed"
    assert "changed since you read it" in body["message"]


# --- ETag -----------------------------------------------------------------------------------------


def test_every_response_carrying_a_holder_has_its_version_as_etag(api):
    created = api.post("/v1/holders", holder_payload())
    path = f"/v1/holders/{created.json()['id']}"
    assert created["ETag"] == '"1"'
    assert api.get(path)["ETag"] == '"1"'

    patched = api.patch(path, {"externalId": "E1"})
    assert patched["ETag"] == '"2"'
    assert api.get(path)["ETag"] == '"2"'
    api.delete(path)
    assert api.get(path, {"include_deleted": "true"})["ETag"] == '"3"'


def test_every_response_carrying_an_alias_has_its_version_as_etag(api):
    holder_id = api.post("/v1/holders", holder_payload()).json()["id"]
    created = api.post(f"/v1/holders/{holder_id}/aliases", alias_payload(relatedParties=[PARTY]))
    path = f"/v1/holders/{holder_id}/aliases/{created.json()['id']}"
    assert created["ETag"] == '"1"'
    party = created.json()["relatedParties"][0]["id"]

    assert api.delete(f"{path}/related-parties/{party}").status_code == 204
    assert api.get(path)["ETag"] == '"2"'
    assert api.patch(path, {"metadata": {"k": "v"}})["ETag"] == '"3"'


def test_lists_carry_no_etag(api):
    api.post("/v1/holders", holder_payload())
    assert "ETag" not in api.get("/v1/holders")


# --- If-Match: the current version writes, a stale one writes nothing -----------------------------


def test_a_patch_with_the_current_etag_is_applied(api):
    created = api.post("/v1/holders", holder_payload())
    path = f"/v1/holders/{created.json()['id']}"

    response = api.patch(path, {"externalId": "E1"}, HTTP_IF_MATCH=created["ETag"])

    assert response.status_code == 200
    assert response.json()["externalId"] == "E1"


def test_a_patch_with_a_stale_etag_is_412_and_writes_nothing(api, events_on):
    created = api.post("/v1/holders", holder_payload(metadata={"segment": "retail"}))
    path = f"/v1/holders/{created.json()['id']}"
    assert api.patch(path, {"name": "Clerk Correction"}).status_code == 200  # now version 2
    before = snapshot()

    response = api.patch(
        path,
        {"name": "Supervisor Stale Form", "metadata": {"segment": "private"}},
        HTTP_IF_MATCH=created["ETag"],
    )

    assert_refused(response)
    assert snapshot() == before
    assert api.get(path).json()["name"] == "Clerk Correction"


def test_without_if_match_the_last_write_wins_as_in_midaz(api):
    created = api.post("/v1/holders", holder_payload())
    path = f"/v1/holders/{created.json()['id']}"
    api.patch(path, {"externalId": "FIRST"})

    response = api.patch(path, {"externalId": "SECOND"})

    assert response.status_code == 200
    assert api.get(path).json()["externalId"] == "SECOND"


@pytest.mark.parametrize("hard", [False, True], ids=["soft", "hard"])
def test_a_delete_with_a_stale_etag_is_412_and_deletes_nothing(api, events_on, hard):
    created = api.post("/v1/holders", holder_payload())
    path = f"/v1/holders/{created.json()['id']}" + ("?hard_delete=true" if hard else "")
    api.patch(path.split("?")[0], {"externalId": "E1"})
    before = snapshot()

    assert_refused(api.delete(path, HTTP_IF_MATCH='"1"'))
    assert snapshot() == before

    assert api.delete(path, HTTP_IF_MATCH='"2"').status_code == 204
    assert Holder.all_objects.filter(id=created.json()["id"]).exists() is not hard


def test_alias_writes_honour_if_match(api, events_on):
    holder_id = api.post("/v1/holders", holder_payload()).json()["id"]
    created = api.post(f"/v1/holders/{holder_id}/aliases", alias_payload(relatedParties=[PARTY]))
    path = f"/v1/holders/{holder_id}/aliases/{created.json()['id']}"
    party = f"{path}/related-parties/{created.json()['relatedParties'][0]['id']}"
    assert api.patch(path, {"metadata": {"k": "v"}}).status_code == 200  # now version 2
    before = snapshot()

    assert_refused(api.patch(path, {"metadata": {"k": "w"}}, HTTP_IF_MATCH='"1"'))
    assert_refused(api.delete(party, HTTP_IF_MATCH='"1"'))
    assert_refused(api.delete(path, HTTP_IF_MATCH='"1"'))
    assert_refused(api.delete(f"{path}?hard_delete=true", HTTP_IF_MATCH='"1"'))
    assert snapshot() == before

    assert api.delete(party, HTTP_IF_MATCH='"2"').status_code == 204
    assert api.delete(path, HTTP_IF_MATCH='"3"').status_code == 204


@pytest.mark.parametrize(
    ("header", "applied"),
    [
        ("*", True),
        ('"1", "2"', True),
        (' "7" ,, "2" ', True),  # spaces and empty list elements are allowed
        ('"1", "3"', False),
        ('W/"2"', False),  # a weak tag never matches (strong comparison)
        ('"abc"', False),  # a tag this service never made
        ('"02"', False),
    ],
)
def test_if_match_lists_star_and_weak_tags(api, header, applied):
    created = api.post("/v1/holders", holder_payload())
    path = f"/v1/holders/{created.json()['id']}"
    api.patch(path, {"externalId": "E1"})  # version 2

    response = api.patch(path, {"externalId": "E2"}, HTTP_IF_MATCH=header)

    assert response.status_code == (200 if applied else 412), response.content
    assert api.get(path).json()["externalId"] == ("E2" if applied else "E1")


@pytest.mark.parametrize("header", ["", "2", "'2'", '"2', "W/2", '"2" "3"', '"' + "9" * 2000 + '"'])
def test_a_malformed_if_match_is_400_crm_0022_and_burns_no_idempotency_key(api, header):
    created = api.post("/v1/holders", holder_payload())
    path = f"/v1/holders/{created.json()['id']}"

    response = api.patch(
        path, {"externalId": "E2"}, HTTP_IF_MATCH=header, HTTP_IDEMPOTENCY_KEY="key-1"
    )

    assert response.status_code == 400
    assert response.json()["code"] == "CRM-0022"
    assert "If-Match" in response.json()["fields"]
    assert not IdempotencyRecord.objects.exists()
    assert api.get(path)["ETag"] == '"1"'


def test_if_match_on_another_organizations_record_is_its_404(api, api_b):
    created = api.post("/v1/holders", holder_payload())
    path = f"/v1/holders/{created.json()['id']}"

    response = api_b.patch(path, {"externalId": "X"}, HTTP_IF_MATCH=created["ETag"])

    assert response.status_code == 404
    assert response.json()["code"] == "CRM-0006"


def test_cors_exposes_etag_and_allows_if_match(client, settings, db):
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example.com"]

    preflight = client.options(
        "/v1/holders/0196a3f4-1c2b-7cde-8f00-000000000001",
        HTTP_ORIGIN="https://app.example.com",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="PATCH",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="if-match,x-organization-id",
    )
    response = client.get("/health", HTTP_ORIGIN="https://app.example.com")

    assert "if-match" in preflight["Access-Control-Allow-Headers"]
    assert "etag" in response["Access-Control-Expose-Headers"].lower()


# --- Two writers at once --------------------------------------------------------------------------


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_two_writers_with_the_same_etag_one_wins_the_other_gets_412():
    """The comparison is made on the row locked for the write, inside its transaction: of two
    PATCHes sent at once with the tag both read, exactly one is applied."""
    writers = 4
    created = OrgClient(ORG_A).post("/v1/holders", holder_payload())
    path = f"/v1/holders/{created.json()['id']}"
    answers = concurrently(
        writers,
        lambda number: OrgClient(ORG_A).patch(
            path, {"externalId": f"WRITER-{number}"}, HTTP_IF_MATCH=created["ETag"]
        ),
    )

    statuses = [answer.status_code for answer in answers]
    assert sorted(statuses) == [200] + [412] * (writers - 1)
    holder = Holder.objects.get(id=created.json()["id"])
    assert holder.version == 2
    assert sorted(
        RecordVersion.objects.filter(object_id=holder.id).values_list("number", flat=True)
    ) == [1, 2]
