"""Holder list filters: external_id, document (search hash, any formatting), metadata.<key>
(several, AND), include_deleted — one short test per filter."""

from holders.models import HolderMetadataPair
from tests.factories import holder_payload


def _ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["items"]]


def _create(api, **overrides) -> str:
    response = api.post("/v1/holders", holder_payload(**overrides))
    assert response.status_code == 201, response.content
    return response.json()["id"]


def test_filter_by_external_id(api):
    wanted = _create(api, externalId="EXT-1")
    _create(api, externalId="EXT-2")

    assert _ids(api.get("/v1/holders?external_id=EXT-1")) == [wanted]


def test_filter_by_document_in_canonical_form(api):
    wanted = _create(api, document="12345678900")
    _create(api, document="98765432100")

    assert _ids(api.get("/v1/holders?document=12345678900")) == [wanted]


def test_filter_by_formatted_document_finds_the_canonical_one(api):
    wanted = _create(api, document="12345678900")

    assert _ids(api.get("/v1/holders", {"document": "123.456.789-00"})) == [wanted]
    assert _ids(api.get("/v1/holders", {"document": " 123 456 789 00 "})) == [wanted]


def test_filter_by_document_is_case_insensitive_for_letters(api):
    wanted = _create(api, type="LEGAL_PERSON", document="12.ABC.345/01DE-35")

    assert _ids(api.get("/v1/holders", {"document": "12abc34501de35"})) == [wanted]


def test_filter_by_unknown_document_is_empty(api):
    _create(api, document="12345678900")

    assert _ids(api.get("/v1/holders?document=00000000000")) == []


def test_filter_by_one_metadata_key(api):
    wanted = _create(api, metadata={"segment": "retail"})
    _create(api, metadata={"segment": "private"})

    assert _ids(api.get("/v1/holders?metadata.segment=retail")) == [wanted]


def test_filter_by_several_metadata_keys_combines_with_and(api):
    wanted = _create(api, metadata={"segment": "retail", "region": "south"})
    _create(api, metadata={"segment": "retail", "region": "north"})
    _create(api, metadata={"segment": "private", "region": "south"})

    assert _ids(api.get("/v1/holders?metadata.segment=retail&metadata.region=south")) == [wanted]


def test_metadata_filter_is_string_equality(api):
    _create(api, metadata={"score": 7})
    wanted = _create(api, metadata={"score": "7"})

    assert _ids(api.get("/v1/holders?metadata.score=7")) == [wanted]


def test_metadata_filter_follows_patches_and_other_organizations_values(api, api_b):
    holder = _create(api, metadata={"segment": "retail", "tier": "gold"})
    _create(api_b, metadata={"segment": "private"})

    assert _ids(api.get("/v1/holders?metadata.segment=private")) == []  # only org B's
    api.patch(f"/v1/holders/{holder}", {"metadata": {"segment": "private", "tier": None}})
    assert _ids(api.get("/v1/holders?metadata.segment=private")) == [holder]
    assert _ids(api.get("/v1/holders?metadata.segment=retail")) == []
    assert _ids(api.get("/v1/holders?metadata.tier=gold")) == []
    api.patch(f"/v1/holders/{holder}", {"metadata": None})
    assert _ids(api.get("/v1/holders?metadata.segment=private")) == []
    assert HolderMetadataPair.objects.filter(holder_id=holder).count() == 0


def test_metadata_filter_keyset_pages_walk_every_match_once(api):
    wanted = [_create(api, metadata={"segment": "retail"}) for _ in range(5)]
    _create(api, metadata={"segment": "private"})
    seen, cursor = [], ""
    for _ in range(5):
        body = api.get("/v1/holders", {"metadata.segment": "retail", "limit": 2, "cursor": cursor})
        body = body.json()
        seen += [item["id"] for item in body["items"]]
        cursor = body.get("next_cursor")
        if not cursor:
            break
    assert seen == wanted
    back = api.get(
        "/v1/holders", {"metadata.segment": "retail", "limit": 2, "cursor": body["prev_cursor"]}
    )
    assert [item["id"] for item in back.json()["items"]] == wanted[2:4]


def test_metadata_filter_value_over_2000_is_crm_0012(api):
    response = api.get("/v1/holders", {"metadata.k": "v" * 2001})

    assert response.status_code == 400
    assert response.json()["code"] == "CRM-0012"


def test_filters_combine(api):
    wanted = _create(api, externalId="E", document="11111111111", metadata={"a": "1"})
    _create(api, externalId="E", document="22222222222", metadata={"a": "1"})

    response = api.get("/v1/holders?external_id=E&document=11111111111&metadata.a=1")

    assert _ids(response) == [wanted]


def test_filter_include_deleted(api):
    live = _create(api, externalId="X")
    gone = _create(api, externalId="X")
    api.delete(f"/v1/holders/{gone}")

    assert _ids(api.get("/v1/holders?external_id=X")) == [live]
    assert _ids(api.get("/v1/holders?external_id=X&include_deleted=true")) == [live, gone]
    assert _ids(api.get("/v1/holders?external_id=X&include_deleted=1")) == [live]


def test_filter_by_document_finds_soft_deleted_only_with_include_deleted(api):
    gone = _create(api, document="12345678900")
    api.delete(f"/v1/holders/{gone}")

    assert _ids(api.get("/v1/holders?document=12345678900")) == []
    assert _ids(api.get("/v1/holders?document=12345678900&include_deleted=true")) == [gone]


def test_unknown_query_parameters_are_ignored(api):
    wanted = _create(api)

    assert _ids(api.get("/v1/holders?colour=blue")) == [wanted]


def test_nul_byte_in_a_query_parameter_is_crm_0016(api):
    response = api.get("/v1/holders", {"external_id": "a\x00b"})

    assert response.status_code == 400
    assert response.json()["code"] == "CRM-0016"
