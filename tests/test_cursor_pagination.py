"""Keyset (cursor) pages, opt-in with `cursor` (docs/api.md §11 deep pages, docs/api.md §3.2 field
names):
walks forward and back under filters and include_deleted, stability under inserts, bad cursors,
and a constant number of queries. Offset pages stay exactly as they were."""

import base64
import json
import uuid

import pytest

from crm.api.pagination import cursor_signer, encode_cursor
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
    cursor = encode_cursor(uuid.UUID(last), True)  # signed as the server signs it
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


def _signed(payload) -> str:
    """A payload signed as the server signs cursors: past the signature check, so what is
    refused is its shape."""
    return cursor_signer().sign_object(payload)


SOME_ID = "0196a3f4-1c2b-7cde-8f00-0000000000ff"
GOOD_PAYLOAD = {"id": SOME_ID, "points_next": True}
BAD_PAYLOADS = [
    [],
    "id",
    {"id": "not-a-uuid", "points_next": True},
    {"id": SOME_ID, "points_next": "yes"},
    {"id": SOME_ID},
    {"id": SOME_ID, "points_next": True, "x": 1},
    {"id": SOME_ID.upper(), "points_next": True},
    {"id": 12, "points_next": True},
]
BAD_CURSORS = [
    "garbage",
    "!!!!",
    "a" * 500,
    _b64(b"not json"),
    _b64(b"\xff\xfe\x00"),
    _b64(b"[]"),
    # The shape the cursor had before it was signed, with a good position in it: refused now.
    _b64(json.dumps(GOOD_PAYLOAD).encode()),
    _b64(json.dumps(GOOD_PAYLOAD, separators=(",", ":")).encode()).rstrip("="),
    "eyJpZCI6IjAxOTZhM2Y0LTFjMmItN2NkZS04ZjAwLTAwMDAwMDAwMDAwYSIsInBvaW50c19uZXh0Ijp0cnVl\n",
    _b64(json.dumps(GOOD_PAYLOAD).encode()) + ".",
    "." + _b64(json.dumps(GOOD_PAYLOAD).encode()),
]


def _assert_bad_cursor(response, what) -> None:
    assert response.status_code == 400, (what, response.status_code)
    assert response.json()["code"] == "CRM-0016", what
    assert "cursor" in response.json()["message"], what
    assert response.json()["fields"] == {"cursor": "Invalid cursor."}, what


@pytest.mark.parametrize("cursor", BAD_CURSORS, ids=range(len(BAD_CURSORS)))
@pytest.mark.parametrize("path", ["/v1/holders", "/v1/aliases"])
def test_bad_cursor_is_crm_0016_naming_cursor(api, path, cursor):
    _assert_bad_cursor(api.get(path, {"cursor": cursor}), cursor)


@pytest.mark.parametrize("payload", BAD_PAYLOADS, ids=range(len(BAD_PAYLOADS)))
def test_a_signed_cursor_of_the_wrong_shape_is_crm_0016(api, payload):
    _assert_bad_cursor(api.get("/v1/holders", {"cursor": _signed(payload)}), payload)


def test_a_signed_good_payload_is_a_position(api, holders):
    """The other side of the test above: the same signing with a good payload is accepted."""
    response = api.get("/v1/holders", {"cursor": _signed(GOOD_PAYLOAD)})

    assert response.status_code == 200


def test_a_cursor_carries_a_position_and_nothing_else(api, holders):
    """Opaque, but not secret: the payload is the boundary id and the direction, no personal
    data (the holders' names, documents, metadata are nowhere in it)."""
    body = api.get("/v1/holders", {"limit": 2, "cursor": ""}).json()
    payload, signature = body["next_cursor"].split(".")

    decoded = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))

    assert decoded == {"id": body["items"][-1]["id"], "points_next": True}
    assert len(signature) == 43  # base64 of an HMAC-SHA256, unpadded


def _tampered(cursor: str) -> list[str]:
    """Every one-character change (each position, to two other characters of the cursor
    alphabet), truncations and extensions: about 2.5 variants per character."""
    variants = []
    for position, char in enumerate(cursor):
        for replacement in ("A", "_") if char not in "A_" else ("B", "-"):
            variants.append(cursor[:position] + replacement + cursor[position + 1 :])
    variants += [cursor[:-1], cursor[1:], cursor[: len(cursor) // 2], cursor.split(".")[0]]
    variants += [cursor + "A", "A" + cursor, cursor + "=", cursor + "." + cursor.split(".")[1]]
    variants.append(cursor.swapcase())
    assert cursor not in variants
    return variants


def test_tampered_cursor_is_400(api, holders):
    body = api.get("/v1/holders", {"limit": 2, "cursor": ""}).json()
    cursor = body["next_cursor"]
    assert api.get("/v1/holders", {"limit": 2, "cursor": cursor}).status_code == 200

    variants = _tampered(cursor)
    assert len(variants) > 2 * len(cursor)
    for tampered in variants:
        _assert_bad_cursor(api.get("/v1/holders", {"limit": 2, "cursor": tampered}), tampered)


def test_a_cursor_signed_with_another_key_is_400(api, holders, settings):
    """Another deployment's cursor (or one signed before a key rotation without fallbacks)."""
    settings.SECRET_KEY = "another-deployments-secret-key-" + "k" * 30
    foreign = _signed(GOOD_PAYLOAD)
    settings.SECRET_KEY_FALLBACKS = []
    settings.SECRET_KEY = "this-deployments-secret-key-" + "t" * 30

    _assert_bad_cursor(api.get("/v1/holders", {"cursor": foreign}), foreign)
    # During a rotation the old key, kept as a fallback, still reads it.
    settings.SECRET_KEY_FALLBACKS = ["another-deployments-secret-key-" + "k" * 30]
    assert api.get("/v1/holders", {"cursor": foreign}).status_code == 200


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


def test_the_benchmarks_cursor_is_one_the_server_accepts(api, holders, settings):
    """bench/run.py signs its deep-page cursor itself (it runs no Django): with the benchmark
    server's SECRET_KEY the API reads it as that position."""
    from bench.run import SECRETS, signed_cursor

    settings.SECRET_KEY = SECRETS["SECRET_KEY"]
    boundary = _expected()[4]

    body = api.get("/v1/holders", {"limit": 2, "cursor": signed_cursor(boundary)}).json()

    assert [item["id"] for item in body["items"]] == _expected()[5:7]
