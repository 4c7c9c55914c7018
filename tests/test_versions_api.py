"""Reading the past over the API (docs/api.md §12; issue 27, deliverable 2): a record's versions
(newest first, paged like every list, no personal values), one version's body, and the body as
of an instant, at its boundaries (before the create, between versions, at a body's own
`updatedAt`, after a soft delete, after an erasure); malformed input is a 400 in the error shape;
another organization's record, or an alias under another holder, is the record's own 404."""

import datetime as dt
import json
import time
import uuid

import pytest

from tests.factories import alias_payload, holder_payload

NAME = "Helena Passado Presente"
DOCUMENT = "52998224725"
EMAIL = "helena.passado@example.com"


def instant(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def rfc3339(value: dt.datetime) -> str:
    return value.isoformat(timespec="microseconds").replace("+00:00", "Z")


def next_millisecond(after: str) -> None:
    """Wait until the clock is past the millisecond of `after` (a body's timestamp), so that the
    next change falls in a later millisecond and an instant between the two exists."""
    bound = instant(after) + dt.timedelta(milliseconds=2)
    while dt.datetime.now(dt.UTC) < bound:
        time.sleep(0.001)


@pytest.fixture
def history(api) -> dict:
    """A holder changed three times (a millisecond apart at least), then soft-deleted: its id
    and the body after each version (as the API answered it)."""
    created = api.post(
        "/v1/holders", holder_payload(name=NAME, document=DOCUMENT, contact={"primaryEmail": EMAIL})
    ).json()
    path = f"/v1/holders/{created['id']}"
    bodies = [created]
    for change in ({"externalId": "V2"}, {"metadata": {"segment": "private"}}):
        next_millisecond(bodies[-1]["updatedAt"])
        bodies.append(api.patch(path, change).json())
    next_millisecond(bodies[-1]["updatedAt"])
    assert api.delete(path).status_code == 204
    bodies.append(api.get(f"{path}?include_deleted=true").json())
    return {"id": created["id"], "path": path, "bodies": bodies}


# --- The list ------------------------------------------------------------------------------------


def test_versions_are_listed_newest_first_with_no_personal_value(api, history):
    response = api.get(f"{history['path']}/versions")

    assert response.status_code == 200
    page = response.json()
    assert (page["page"], page["limit"]) == (1, 10)
    assert [item["version"] for item in page["items"]] == [4, 3, 2, 1]
    assert [item["action"] for item in page["items"]] == [
        "soft_delete",
        "update",
        "update",
        "create",
    ]
    assert [item["fields"] for item in page["items"]] == [
        ["deletedAt"],
        ["metadata"],
        ["externalId"],
        ["contact", "document", "name", "type"],
    ]
    assert [item["changedAt"] for item in page["items"]] == [
        body["updatedAt"] for body in reversed(history["bodies"])
    ]
    assert {json.dumps(item["actor"]) for item in page["items"]} == {
        json.dumps({"type": "api", "name": "anonymous"})
    }
    for value in (NAME, DOCUMENT, EMAIL, "private", "V2"):
        assert value not in response.content.decode()


def test_versions_page_by_offset_and_cursor_in_both_orders(api, history):
    path = f"{history['path']}/versions"

    assert [i["version"] for i in api.get(path, {"limit": 3, "page": 2}).json()["items"]] == [1]
    oldest = api.get(path, {"sort_order": "asc", "limit": 3}).json()
    assert [i["version"] for i in oldest["items"]] == [1, 2, 3]

    first = api.get(path, {"cursor": "", "limit": 3}).json()
    assert [i["version"] for i in first["items"]] == [4, 3, 2]
    assert "prev_cursor" not in first
    second = api.get(path, {"cursor": first["next_cursor"], "limit": 3}).json()
    assert [i["version"] for i in second["items"]] == [1]
    assert "next_cursor" not in second
    back = api.get(path, {"cursor": second["prev_cursor"], "limit": 3}).json()
    assert [i["version"] for i in back["items"]] == [4, 3, 2]
    ascending = api.get(path, {"cursor": "", "limit": 2, "sort_order": "asc"}).json()
    onwards = api.get(path, {"cursor": ascending["next_cursor"], "sort_order": "asc"}).json()
    assert [i["version"] for i in onwards["items"]] == [3, 4]


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ({"limit": "0"}, "CRM-0016"),
        ({"limit": "101"}, "CRM-0009"),
        ({"sort_order": "up"}, "CRM-0011"),
    ],
)
def test_bad_list_parameters_are_the_lists_400s(api, history, query, code):
    response = api.get(f"{history['path']}/versions", query)

    assert response.status_code == 400
    assert response.json()["code"] == code


def test_a_cursor_of_another_list_is_a_position_past_every_version(api, history):
    """A cursor is only a position: one from the holder list (a UUIDv7, far past any version
    number) pages the versions as such a position, never a 500."""
    api.post("/v1/holders", holder_payload())
    api.post("/v1/holders", holder_payload())
    cursor = api.get("/v1/holders", {"cursor": "", "limit": 1}).json()["next_cursor"]
    path = f"{history['path']}/versions"

    newest_first = api.get(path, {"cursor": cursor})
    oldest_first = api.get(path, {"cursor": cursor, "sort_order": "asc"})

    assert [i["version"] for i in newest_first.json()["items"]] == [4, 3, 2, 1]
    assert (oldest_first.status_code, oldest_first.json()["items"]) == (200, [])


# --- One version ---------------------------------------------------------------------------------


def test_each_version_reads_back_as_the_body_it_was_with_its_etag(api, history):
    for number, body in enumerate(history["bodies"], start=1):
        response = api.get(f"{history['path']}/versions/{number}")
        assert response.status_code == 200
        assert response.json() == body
        assert response["ETag"] == f'"{number}"'


@pytest.mark.parametrize("number", ["5", "2147483647"])
def test_a_version_the_record_never_had_is_its_404(api, history, number):
    response = api.get(f"{history['path']}/versions/{number}")

    assert response.status_code == 404
    assert response.json()["code"] == "CRM-0006"


@pytest.mark.parametrize("number", ["0", "-1", "1.0", "abc", "2147483648", "9" * 30])
def test_a_version_number_that_is_not_one_is_400_crm_0005(api, history, number):
    response = api.get(f"{history['path']}/versions/{number}")

    assert response.status_code == 400
    assert response.json()["code"] == "CRM-0005"
    assert "number" in response.json()["fields"]


# --- As of an instant ----------------------------------------------------------------------------


def as_of(api, history, when: str, **query):
    return api.get(history["path"], {"as_of": when, **query})


def test_as_of_gives_the_body_at_that_instant_at_every_boundary(api, history):
    bodies = history["bodies"]
    created = instant(bodies[0]["createdAt"])
    second = instant(bodies[1]["updatedAt"])

    before = as_of(api, history, rfc3339(created - dt.timedelta(milliseconds=1)))
    assert before.status_code == 404 and before.json()["code"] == "CRM-0006"
    # At a body's own `updatedAt` (to the millisecond, as the wire shows it): that body.
    for number, body in enumerate(bodies[:3], start=1):
        response = as_of(api, history, body["updatedAt"])
        assert (response.status_code, response.json(), response["ETag"]) == (
            200,
            body,
            f'"{number}"',
        )
    # Between two versions: the earlier one, to the end of its millisecond.
    between = as_of(api, history, rfc3339(second - dt.timedelta(microseconds=1)))
    assert between.json() == bodies[0]
    last_of_first = rfc3339(instant(bodies[0]["updatedAt"]) + dt.timedelta(microseconds=999))
    assert as_of(api, history, last_of_first).json() == bodies[0]


def test_as_of_after_a_soft_delete_is_404_unless_deleted_records_are_asked_for(api, history):
    deleted = history["bodies"][-1]
    later = rfc3339(instant(deleted["deletedAt"]) + dt.timedelta(days=1))

    assert as_of(api, history, later).json()["code"] == "CRM-0006"
    response = as_of(api, history, later, include_deleted="true")
    assert (response.status_code, response.json()) == (200, deleted)
    # Before the deletion the live body answers either way.
    assert as_of(api, history, history["bodies"][2]["updatedAt"]).json() == history["bodies"][2]


def test_after_an_erasure_every_read_of_the_past_is_404(api, history):
    assert api.delete(f"{history['path']}?hard_delete=true").status_code == 204
    when = history["bodies"][1]["updatedAt"]  # an instant at which it existed

    for response in (
        as_of(api, history, when, include_deleted="true"),
        api.get(f"{history['path']}/versions"),
        api.get(f"{history['path']}/versions/1"),
    ):
        assert response.status_code == 404
        assert response.json()["code"] == "CRM-0006"


@pytest.mark.parametrize(
    "when",
    [
        "2024-03-01T12:00:00+00:00",  # the canonical forms
        "2024-03-01T09:00:00-03:00",
        "2024-03-01t12:00:00.000000001z",
        "2024-03-01T12:00:00 00:00",  # a "+" sent unencoded in the query string
    ],
)
def test_as_of_reads_rfc_3339_with_any_offset(api, history, when):
    """All the same instant, long before the record existed: its 404, not a 400."""
    response = as_of(api, history, when)

    assert response.status_code == 404
    assert response.json()["code"] == "CRM-0006"


@pytest.mark.parametrize(
    "when",
    [
        "",
        "yesterday",
        "2024-03-01",  # a date, no time
        "2024-03-01T12:00:00",  # no offset
        "2024-02-30T12:00:00Z",
        "2024-03-01T25:00:00Z",
        "0000-01-01T00:00:00Z",
        "0001-01-01T00:00:00+01:00",  # before year 1 in UTC
        "2024-03-01T12:00:00+24:00",
        "2024-03-01T12:00:00Z" + "0" * 100,
    ],
)
def test_a_malformed_as_of_is_400_crm_0016_naming_it(api, history, when):
    response = as_of(api, history, when)

    assert response.status_code == 400
    assert response.json()["code"] == "CRM-0016"
    assert "as_of" in response.json()["fields"]


def test_as_of_far_in_the_future_is_the_latest_version(api, history):
    response = as_of(api, history, "9999-12-31T23:59:59.999999Z", include_deleted="true")

    assert response.json() == history["bodies"][-1]


# --- Alias accounts ------------------------------------------------------------------------------


def test_an_alias_has_its_past_under_its_own_holder_only(api):
    holder_id = api.post("/v1/holders", holder_payload()).json()["id"]
    other_holder = api.post("/v1/holders", holder_payload()).json()["id"]
    created = api.post(f"/v1/holders/{holder_id}/aliases", alias_payload()).json()
    path = f"/v1/holders/{holder_id}/aliases/{created['id']}"
    next_millisecond(created["updatedAt"])
    patched = api.patch(path, {"bankingDetails": {"iban": "BR1800360305000010009795493C1"}})

    listed = api.get(f"{path}/versions").json()["items"]
    assert [(i["version"], i["fields"]) for i in listed] == [
        (2, ["bankingDetails.iban"]),
        (1, ["accountId", "bankingDetails", "document", "ledgerId", "type"]),
    ]
    assert api.get(f"{path}/versions/1").json() == created
    assert api.get(path, {"as_of": created["updatedAt"]}).json() == created
    assert api.get(path, {"as_of": patched.json()["updatedAt"]})["ETag"] == '"2"'

    wrong = f"/v1/holders/{other_holder}/aliases/{created['id']}"
    for response in (
        api.get(f"{wrong}/versions"),
        api.get(f"{wrong}/versions/1"),
        api.get(wrong, {"as_of": patched.json()["updatedAt"]}),
    ):
        assert response.status_code == 404
        assert response.json()["code"] == "CRM-0008"


# --- Tenancy -------------------------------------------------------------------------------------


def test_another_organization_gets_the_records_404_for_its_past(api, api_b, history):
    holder_id = history["id"]
    alias_holder = api.post("/v1/holders", holder_payload()).json()["id"]
    alias = api.post(f"/v1/holders/{alias_holder}/aliases", alias_payload()).json()
    alias_path = f"/v1/holders/{alias_holder}/aliases/{alias['id']}"
    when = "9999-01-01T00:00:00Z"

    for response, code in (
        (api_b.get(f"/v1/holders/{holder_id}/versions"), "CRM-0006"),
        (api_b.get(f"/v1/holders/{holder_id}/versions/1"), "CRM-0006"),
        (
            api_b.get(f"/v1/holders/{holder_id}", {"as_of": when, "include_deleted": "true"}),
            "CRM-0006",
        ),
        (api_b.get(f"{alias_path}/versions"), "CRM-0008"),
        (api_b.get(f"{alias_path}/versions/1"), "CRM-0008"),
        (api_b.get(alias_path, {"as_of": when}), "CRM-0008"),
    ):
        assert response.status_code == 404
        assert response.json()["code"] == code
    assert api.get(f"{alias_path}/versions/1").status_code == 200  # its own organization reads it


def test_a_malformed_record_id_is_400_crm_0005(api):
    assert api.get("/v1/holders/nope/versions").json()["code"] == "CRM-0005"
    assert api.get(f"/v1/holders/{uuid.uuid4()}/versions").json()["code"] == "CRM-0006"
