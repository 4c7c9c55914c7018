"""Keyset (cursor) pages, opt-in with `cursor` (docs/api.md §11 deep pages, docs/api.md §3.2 field
names):
walks forward and back under filters and include_deleted, stability under inserts, bad cursors,
and a constant number of queries. Offset pages stay exactly as they were."""

import base64
import json
import uuid

import pytest

from holders.models import Holder
from holders.services import holder_soft_delete
from tests.conftest import ORG_B
from tests.factories import AliasFactory, HolderFactory


def _walk(api, path: str, params: dict) -> tuple[list[str], list[str], list[dict]]:
    """Walk every page forward from `cursor=` (empty), then back from the last page with
    `prev_cursor`; returns the ids seen each way (in list order) and the forward envelopes."""
    forward: list[str] = []
    pages: list[dict] = []
    body = api.get(path, {**params, "cursor": ""}).json()
    while True:
        pages.append(body)
        forward += [item["id"] for item in body["items"]]
        if "next_cursor" not in body:
            break
        body = api.get(path, {**params, "cursor": body["next_cursor"]}).json()
        assert len(pages) < 100, "the walk does not end"
    backward: list[str] = []
    body = pages[-1]
    while "prev_cursor" in body:
        body = api.get(path, {**params, "cursor": body["prev_cursor"]}).json()
        backward = [item["id"] for item in body["items"]] + backward
    return forward, backward + [item["id"] for item in pages[-1]["items"]], pages


@pytest.fixture
def holders(db):
    """13 holders of organization A: every third has metadata tier=gold, one gold one is
    soft-deleted; plus a gold holder of organization B that must never show up."""
    rows = [HolderFactory(metadata={"tier": "gold" if i % 3 == 0 else "plain"}) for i in range(13)]
    holder_soft_delete(organization_id=rows[3].organization_id, holder_id=rows[3].id)
    HolderFactory(organization_id=ORG_B, metadata={"tier": "gold"})
    return rows


def _expected(sort_order="asc", include_deleted=False, **metadata) -> list[str]:
    """Organization A's holder ids in list order, computed without the API."""
    qs = Holder.all_objects.exclude(organization_id=ORG_B)
    if not include_deleted:
        qs = qs.live()
    ids = sorted(
        str(h.id)
        for h in qs
        if all(h.metadata.get(key) == value for key, value in metadata.items())
    )
    return ids if sort_order == "asc" else ids[::-1]


@pytest.mark.parametrize("sort_order", ["asc", "desc"])
@pytest.mark.parametrize("limit", [1, 2, 5, 13])
def test_walks_every_holder_page_forward_and_back(api, holders, sort_order, limit):
    expected = _expected(sort_order)

    forward, backward, pages = _walk(api, "/v1/holders", {"limit": limit, "sort_order": sort_order})

    assert forward == expected
    assert backward == expected
    assert "prev_cursor" not in pages[0]
    assert all("page" not in body and body["limit"] == limit for body in pages)
    assert all(len(body["items"]) == limit for body in pages[:-1])


@pytest.mark.parametrize("sort_order", ["asc", "desc"])
@pytest.mark.parametrize("include_deleted", ["true", "false"])
def test_walks_a_metadata_filter_with_include_deleted(api, holders, sort_order, include_deleted):
    expected = _expected(sort_order, include_deleted == "true", tier="gold")
    params = {
        "limit": 2,
        "sort_order": sort_order,
        "include_deleted": include_deleted,
        "metadata.tier": "gold",
    }

    forward, backward, _ = _walk(api, "/v1/holders", params)

    assert forward == expected
    assert backward == expected
    assert len(expected) == (5 if include_deleted == "true" else 4)


def test_keyset_pages_match_offset_pages(api, holders):
    offset = [
        item["id"]
        for page in (1, 2, 3)
        for item in api.get("/v1/holders", {"limit": 5, "page": page}).json()["items"]
    ]

    forward, _, _ = _walk(api, "/v1/holders", {"limit": 5})

    assert forward == offset


def test_walks_aliases_with_filters(api, db):
    holder = HolderFactory()
    party = {"name": "P", "startDate": "2024-01-01", "document": "11111111111"}
    aliases = [
        AliasFactory(
            holder=holder if i % 2 else None,
            ledgerId="L1" if i % 3 else "L2",
            relatedParties=[{**party, "role": "PRIMARY_HOLDER" if i % 2 else "RESPONSIBLE_PARTY"}],
        )
        for i in range(9)
    ]
    by_holder = sorted(str(a.id) for a in aliases if a.holder_id == holder.id)
    by_ledger_and_role = sorted(str(a.id) for i, a in enumerate(aliases) if i % 3 and i % 2 == 0)

    forward, backward, _ = _walk(api, "/v1/aliases", {"limit": 2, "holder_id": str(holder.id)})
    assert forward == backward == by_holder
    forward, backward, _ = _walk(
        api,
        "/v1/aliases",
        {"limit": 1, "ledger_id": "L1", "related_party_role": "RESPONSIBLE_PARTY"},
    )
    assert forward == backward == by_ledger_and_role
    forward, backward, _ = _walk(api, "/v1/aliases", {"limit": 4, "sort_order": "desc"})
    assert forward == backward == sorted(str(a.id) for a in aliases)[::-1]


def test_a_walk_is_stable_under_inserts_and_deletes(api, holders):
    before = _expected()
    first = api.get("/v1/holders", {"limit": 4, "cursor": ""}).json()
    holder_soft_delete(organization_id=holders[0].organization_id, holder_id=holders[8].id)
    added = [str(HolderFactory().id) for _ in range(3)]

    seen = [item["id"] for item in first["items"]]
    body = first
    while "next_cursor" in body:
        body = api.get("/v1/holders", {"limit": 4, "cursor": body["next_cursor"]}).json()
        seen += [item["id"] for item in body["items"]]

    # Nothing seen twice, nothing skipped: every row live at the start is seen once (except the
    # one deleted before its page), and the new rows (newer ids) come at the end.
    assert len(seen) == len(set(seen))
    assert seen == [pk for pk in before if pk != str(holders[8].id)] + added


def test_desc_walk_does_not_show_rows_added_meanwhile(api, holders):
    expected = _expected("desc")[:8]
    first = api.get("/v1/holders", {"limit": 4, "cursor": "", "sort_order": "desc"}).json()
    HolderFactory()
    second = api.get(
        "/v1/holders", {"limit": 4, "cursor": first["next_cursor"], "sort_order": "desc"}
    ).json()

    assert [i["id"] for i in first["items"] + second["items"]] == expected


def test_cursor_past_a_deleted_boundary_still_works(api, holders):
    expected = _expected()[2:4]
    first = api.get("/v1/holders", {"limit": 2, "cursor": ""}).json()
    boundary = uuid.UUID(first["items"][-1]["id"])
    holder_soft_delete(organization_id=holders[0].organization_id, holder_id=boundary)

    second = api.get("/v1/holders", {"limit": 2, "cursor": first["next_cursor"]}).json()

    assert [i["id"] for i in second["items"]] == expected


def test_empty_result_and_the_end_of_the_list(api, holders):
    empty = api.get("/v1/holders", {"cursor": "", "external_id": "nobody"})
    assert empty.status_code == 200
    assert empty.json() == {"items": [], "limit": 10}

    last = str(max(uuid.UUID(pk) for pk in _expected()))
    cursor = base64.urlsafe_b64encode(
        json.dumps({"id": last, "points_next": True}).encode()
    ).decode()
    body = api.get("/v1/holders", {"cursor": cursor}).json()
    assert body["items"] == []
    assert "next_cursor" not in body
    back = api.get("/v1/holders", {"cursor": body["prev_cursor"], "limit": 3}).json()
    assert [i["id"] for i in back["items"]] == _expected()[-3:]


def test_offset_envelope_is_unchanged_without_cursor(api, holders):
    body = api.get("/v1/holders", {"limit": 2, "page": 2}).json()

    assert set(body) == {"items", "page", "limit"}
    assert body["page"] == 2


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode()


SOME_ID = "0196a3f4-1c2b-7cde-8f00-0000000000ff"
BAD_CURSORS = [
    "garbage",
    "!!!!",
    "a" * 500,
    _b64(b"not json"),
    _b64(b"\xff\xfe\x00"),
    _b64(b"[]"),
    _b64(b'"id"'),
    _b64(json.dumps({"id": "not-a-uuid", "points_next": True}).encode()),
    _b64(json.dumps({"id": SOME_ID, "points_next": "yes"}).encode()),
    _b64(json.dumps({"id": SOME_ID}).encode()),
    _b64(json.dumps({"id": SOME_ID, "points_next": True, "x": 1}).encode()),
    _b64(json.dumps({"id": SOME_ID.upper(), "points_next": True}).encode()),
    _b64(json.dumps({"id": 12, "points_next": True}).encode()),
    "eyJpZCI6IjAxOTZhM2Y0LTFjMmItN2NkZS04ZjAwLTAwMDAwMDAwMDAwYSIsInBvaW50c19uZXh0Ijp0cnVl\n",
]


@pytest.mark.parametrize("cursor", BAD_CURSORS, ids=range(len(BAD_CURSORS)))
@pytest.mark.parametrize("path", ["/v1/holders", "/v1/aliases"])
def test_bad_cursor_is_crm_0016_naming_cursor(api, path, cursor):
    response = api.get(path, {"cursor": cursor})

    assert response.status_code == 400
    assert response.json()["code"] == "CRM-0016"
    assert "cursor" in response.json()["message"]


def test_tampered_cursor_is_400(api, holders):
    cursor = api.get("/v1/holders", {"limit": 2, "cursor": ""}).json()["next_cursor"]
    for position in range(len(cursor)):
        tampered = (
            cursor[:position] + ("A" if cursor[position] != "A" else "B") + cursor[position + 1 :]
        )
        response = api.get("/v1/holders", {"cursor": tampered})
        # A changed character either still decodes to a valid position (200) or is refused;
        # it is never a server error.
        assert response.status_code in (200, 400), position


def test_cursor_with_a_page_number_is_400(api, holders):
    response = api.get("/v1/holders", {"cursor": "", "page": 2})

    assert response.status_code == 400
    assert "cursor" in response.json()["message"]
    assert api.get("/v1/holders", {"cursor": "", "page": 1}).status_code == 200


def test_other_parameters_are_still_validated_with_a_cursor(api, db):
    assert api.get("/v1/holders", {"cursor": "", "limit": 101}).json()["code"] == "CRM-0009"
    assert api.get("/v1/holders", {"cursor": "", "sort_order": "x"}).json()["code"] == "CRM-0011"


@pytest.mark.parametrize("size", [3, 30])
def test_cursor_pages_run_a_constant_number_of_queries(api, django_assert_max_num_queries, size):
    holder = HolderFactory()
    for _ in range(size * 2):
        AliasFactory(holder=holder, metadata={"k": "v"})
    first = api.get("/v1/aliases", {"limit": size, "cursor": ""}).json()
    assert len(first["items"]) == size

    with django_assert_max_num_queries(2):  # the page, and its related parties
        second = api.get(
            "/v1/aliases", {"limit": size, "cursor": first["next_cursor"], "metadata.k": "v"}
        )
    assert len(second.json()["items"]) == size
    with django_assert_max_num_queries(1):
        holders = api.get("/v1/holders", {"limit": size, "cursor": ""})
    assert holders.status_code == 200
