"""Holder endpoints H1-H5: happy paths with the full JSON asserted, PATCH merge semantics,
soft and hard delete."""

import uuid

import pytest
from django.contrib.admin.models import LogEntry

from aliases.models import AliasAccount
from crm.models import AuditEntry
from holders.models import Holder
from tests.factories import AliasFactory, HolderFactory, admin_log_entry, holder_payload

FULL_HOLDER = {
    "type": "NATURAL_PERSON",
    "name": "Maria Silva",
    "document": "91315026015",
    "externalId": "EXT-001",
    "addresses": {
        "primary": {
            "line1": "Rua das Flores, 100",
            "line2": "Apto 12",
            "zipCode": "01310-100",
            "city": "São Paulo",
            "state": "SP",
            "country": "BR",
            "description": "Home",
        },
        "additional1": {"line1": "Av. Paulista, 1000", "country": "BR"},
    },
    "contact": {
        "primaryEmail": "maria@example.com",
        "secondaryEmail": "m.silva@example.org",
        "mobilePhone": "+5511912345678",
        "otherPhone": "+551133334444",
    },
    "naturalPerson": {
        "favoriteName": "Mari",
        "socialName": "Maria",
        "gender": "Female",
        "birthDate": "1990-05-17",
        "civilStatus": "Single",
        "nationality": "Brazilian",
        "motherName": "Ana Silva",
        "fatherName": "João Silva",
        "status": "Active",
    },
    "legalPerson": {
        "tradeName": "Silva Consultoria",
        "activity": "Consulting",
        "type": "Limited Liability",
        "foundingDate": "2015-03-01",
        "size": "Small",
        "status": "Active",
        "representative": {
            "name": "Carlos Souza",
            "document": "39053344705",
            "email": "carlos@example.com",
            "role": "Director",
        },
    },
    "metadata": {"segment": "retail", "score": 7, "vip": True},
}


def _without_server_fields(body: dict) -> dict:
    return {k: v for k, v in body.items() if k not in {"id", "createdAt", "updatedAt", "deletedAt"}}


def test_holder_create_returns_201_with_every_field(api):
    response = api.post("/v1/holders", FULL_HOLDER)

    assert response.status_code == 201
    body = response.json()
    expected = dict(FULL_HOLDER)
    expected["addresses"] = {
        "primary": FULL_HOLDER["addresses"]["primary"],
        "additional1": {
            "line1": "Av. Paulista, 1000",
            "line2": None,
            "zipCode": "",
            "city": "",
            "state": "",
            "country": "BR",
        },
    }
    assert _without_server_fields(body) == expected
    assert uuid.UUID(body["id"]).version == 7
    assert body["createdAt"].endswith("Z") and body["createdAt"] == body["updatedAt"]
    assert body["deletedAt"] is None


def test_holder_create_minimal_leaves_out_empty_fields(api):
    response = api.post(
        "/v1/holders", {"type": "LEGAL_PERSON", "name": "ACME Ltda", "document": "16727230000197"}
    )

    assert response.status_code == 201
    assert set(response.json()) == {
        "id",
        "type",
        "name",
        "document",
        "createdAt",
        "updatedAt",
        "deletedAt",
    }


def test_holder_create_accepts_a_form_content_type_like_curl_d(api):
    body = '{"type":"NATURAL_PERSON","name":"John Doe","document":"91315026015"}'

    response = api.generic(
        "POST", "/v1/holders", body, content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 201
    assert response.json()["name"] == "John Doe"


def test_holder_ids_are_time_ordered_uuid7(api):
    first = api.post("/v1/holders", holder_payload()).json()["id"]
    second = api.post("/v1/holders", holder_payload()).json()["id"]

    assert uuid.UUID(first).version == uuid.UUID(second).version == 7
    assert first < second


def test_holder_get_returns_the_holder(api):
    created = api.post("/v1/holders", FULL_HOLDER).json()

    response = api.get(f"/v1/holders/{created['id']}")

    assert response.status_code == 200
    assert response.json() == created


def test_holder_get_accepts_upper_case_ids_and_org_header(api, org_a):
    created = api.post("/v1/holders", holder_payload()).json()
    api.credentials(HTTP_X_ORGANIZATION_ID=str(org_a).upper())

    response = api.get(f"/v1/holders/{created['id'].upper()}")

    assert response.status_code == 200
    assert response.json()["id"] == created["id"]


def test_holder_get_unknown_id_is_404_crm_0006(api):
    response = api.get(f"/v1/holders/{uuid.uuid4()}")

    assert response.status_code == 404
    assert response.json()["code"] == "CRM-0006"
    assert response.json()["title"] == "Holder ID Not Found"


def test_holder_list_returns_envelope_in_creation_order(api):
    ids = [api.post("/v1/holders", holder_payload()).json()["id"] for _ in range(3)]

    response = api.get("/v1/holders")

    assert response.status_code == 200
    body = response.json()
    assert body["page"] == 1 and body["limit"] == 10
    assert [item["id"] for item in body["items"]] == ids


def test_holder_list_sort_order_desc_is_honoured(api):
    ids = [api.post("/v1/holders", holder_payload()).json()["id"] for _ in range(3)]

    body = api.get("/v1/holders?sort_order=DESC").json()

    assert [item["id"] for item in body["items"]] == list(reversed(ids))


def test_holder_list_paginates_with_page_and_limit(api):
    ids = [api.post("/v1/holders", holder_payload()).json()["id"] for _ in range(5)]

    page2 = api.get("/v1/holders?page=2&limit=2").json()
    page3 = api.get("/v1/holders?page=3&limit=2").json()
    page9 = api.get("/v1/holders?page=9&limit=2").json()

    assert [i["id"] for i in page2["items"]] == ids[2:4]
    assert (page2["page"], page2["limit"]) == (2, 2)
    assert [i["id"] for i in page3["items"]] == ids[4:]
    assert page9 == {"items": [], "page": 9, "limit": 2}


def test_holder_list_empty_is_an_empty_items_array(api):
    assert api.get("/v1/holders").json() == {"items": [], "page": 1, "limit": 10}


def test_holder_patch_merges_nested_objects_and_keeps_the_rest(api):
    created = api.post("/v1/holders", FULL_HOLDER).json()

    response = api.patch(
        f"/v1/holders/{created['id']}",
        {
            "contact": {"mobilePhone": "+5511900000000"},
            "addresses": {"primary": {"city": "Campinas"}},
            "legalPerson": {"representative": {"role": "CEO"}},
            "metadata": {"segment": "private"},
        },
    )

    assert response.status_code == 200
    body = response.json()
    assert body["contact"] == {**FULL_HOLDER["contact"], "mobilePhone": "+5511900000000"}
    assert body["addresses"]["primary"] == {
        **FULL_HOLDER["addresses"]["primary"],
        "city": "Campinas",
    }
    assert body["legalPerson"]["representative"] == {
        **FULL_HOLDER["legalPerson"]["representative"],
        "role": "CEO",
    }
    assert body["metadata"] == {"segment": "private", "score": 7, "vip": True}
    assert body["name"] == "Maria Silva" and body["document"] == "91315026015"
    assert body["updatedAt"] > created["updatedAt"]
    assert body["createdAt"] == created["createdAt"]


def test_holder_patch_null_removes_fields_and_metadata_keys(api):
    created = api.post("/v1/holders", FULL_HOLDER).json()

    body = api.patch(
        f"/v1/holders/{created['id']}",
        {
            "externalId": None,
            "contact": {"secondaryEmail": None},
            "naturalPerson": None,
            "addresses": {"additional1": None},
            "metadata": {"score": None},
        },
    ).json()

    assert "externalId" not in body
    assert "secondaryEmail" not in body["contact"]
    assert "naturalPerson" not in body
    assert set(body["addresses"]) == {"primary"}
    assert body["metadata"] == {"segment": "retail", "vip": True}


def test_holder_patch_metadata_null_removes_all_metadata(api):
    created = api.post("/v1/holders", FULL_HOLDER).json()

    body = api.patch(f"/v1/holders/{created['id']}", {"metadata": None}).json()

    assert "metadata" not in body


def test_holder_patch_empty_body_only_touches_updated_at(api):
    created = api.post("/v1/holders", FULL_HOLDER).json()

    body = api.patch(f"/v1/holders/{created['id']}", {}).json()

    assert {k: v for k, v in body.items() if k != "updatedAt"} == {
        k: v for k, v in created.items() if k != "updatedAt"
    }


def test_holder_patch_name_is_re_encrypted_and_returned(api):
    created = api.post("/v1/holders", holder_payload(name="Old Name")).json()

    body = api.patch(f"/v1/holders/{created['id']}", {"name": "New Name"}).json()

    assert body["name"] == "New Name"
    assert Holder.objects.get(id=created["id"]).name == "New Name"


def test_holder_patch_soft_deleted_is_404_and_does_not_undelete(api):
    created = api.post("/v1/holders", holder_payload()).json()
    api.delete(f"/v1/holders/{created['id']}")

    response = api.patch(f"/v1/holders/{created['id']}", {"name": "X"})

    assert response.status_code == 404
    assert response.json()["code"] == "CRM-0006"
    assert Holder.all_objects.get(id=created["id"]).deleted_at is not None


def test_holder_soft_delete_hides_it_unless_include_deleted(api):
    created = api.post("/v1/holders", holder_payload()).json()

    response = api.delete(f"/v1/holders/{created['id']}")

    assert response.status_code == 204
    assert response.content == b""
    assert api.get(f"/v1/holders/{created['id']}").status_code == 404
    deleted = api.get(f"/v1/holders/{created['id']}?include_deleted=TRUE").json()
    assert deleted["deletedAt"] is not None
    assert api.get("/v1/holders").json()["items"] == []
    listed = api.get("/v1/holders?include_deleted=true").json()["items"]
    assert [item["id"] for item in listed] == [created["id"]]


def test_holder_soft_delete_twice_is_404(api):
    created = api.post("/v1/holders", holder_payload()).json()
    api.delete(f"/v1/holders/{created['id']}")

    response = api.delete(f"/v1/holders/{created['id']}")

    assert response.status_code == 404
    assert response.json()["code"] == "CRM-0006"


def test_holder_hard_delete_removes_the_row(api):
    created = api.post("/v1/holders", holder_payload()).json()

    response = api.delete(f"/v1/holders/{created['id']}?hard_delete=true")

    assert response.status_code == 204
    assert not Holder.all_objects.filter(id=created["id"]).exists()
    assert api.get(f"/v1/holders/{created['id']}?include_deleted=true").status_code == 404


def test_holder_hard_delete_of_a_soft_deleted_holder_is_allowed(api):
    created = api.post("/v1/holders", holder_payload()).json()
    api.delete(f"/v1/holders/{created['id']}")

    response = api.delete(f"/v1/holders/{created['id']}?hard_delete=True")

    assert response.status_code == 204
    assert not Holder.all_objects.filter(id=created["id"]).exists()


def test_holder_hard_delete_other_value_means_soft_delete(api):
    created = api.post("/v1/holders", holder_payload()).json()

    api.delete(f"/v1/holders/{created['id']}?hard_delete=yes")

    assert Holder.all_objects.get(id=created["id"]).deleted_at is not None


def test_holder_duplicate_document_is_409_crm_0010(api):
    api.post("/v1/holders", holder_payload(document="12345678900"))

    response = api.post("/v1/holders", holder_payload(document="123.456.789-00"))

    assert response.status_code == 409
    assert response.json() == {
        "code": "CRM-0010",
        "title": "Document Association Error",
        "message": "A holder with this document already exists in this organization.",
    }
    assert Holder.all_objects.count() == 1


def test_holder_document_is_reusable_after_soft_delete(api):
    first = api.post("/v1/holders", holder_payload(document="12345678900")).json()
    api.delete(f"/v1/holders/{first['id']}")

    response = api.post("/v1/holders", holder_payload(document="12345678900"))

    assert response.status_code == 201
    assert Holder.all_objects.count() == 2


def test_holder_same_document_in_two_organizations_is_fine(api, api_b):
    assert api.post("/v1/holders", holder_payload(document="12345678900")).status_code == 201
    assert api_b.post("/v1/holders", holder_payload(document="12345678900")).status_code == 201


@pytest.mark.parametrize("method", ["put"])
def test_holder_put_is_405_crm_0904(api, method):
    holder = HolderFactory()

    response = getattr(api, method)(f"/v1/holders/{holder.id}", {}, format="json")

    assert response.status_code == 405
    assert response.json()["code"] == "CRM-0904"


def test_holder_trailing_slash_is_accepted(api):
    assert api.post("/v1/holders/", holder_payload()).status_code == 201
    assert api.get("/v1/holders/").status_code == 200


def test_hard_delete_works_on_a_row_no_configured_key_decrypts(api, settings):
    """Right to erasure must not depend on still holding the key that wrote the row."""
    from tests.factories import AliasFactory

    alias = AliasFactory()
    holder_id = alias.holder_id
    api.delete(f"/v1/holders/{holder_id}/aliases/{alias.id}")
    settings.LCRYPTO_ENCRYPT_SECRET_KEY = "ab" * 32  # the old key is gone
    settings.LCRYPTO_PREVIOUS_ENCRYPT_SECRET_KEYS = []

    response = api.delete(f"/v1/holders/{holder_id}?hard_delete=true")

    assert response.status_code == 204
    assert not Holder.all_objects.filter(id=holder_id).exists()


# --- Empty bodies, validation before lookup, and what an erasure leaves ----------------------


@pytest.mark.parametrize("headers", [{}, {"CONTENT_TYPE": "application/json"}])
def test_holder_create_without_a_body_is_crm_0004(api, headers):
    response = api.generic("POST", "/v1/holders", **headers)

    assert response.status_code == 400
    assert response.json()["code"] == "CRM-0004"
    assert not Holder.all_objects.exists()


@pytest.mark.parametrize("headers", [{}, {"CONTENT_TYPE": "application/json"}])
def test_holder_patch_without_a_body_is_crm_0004(api, headers):
    holder = HolderFactory()
    updated_at = Holder.objects.get(pk=holder.pk).updated_at

    response = api.generic("PATCH", f"/v1/holders/{holder.id}", **headers)

    assert response.status_code == 400
    assert response.json()["code"] == "CRM-0004"
    assert Holder.objects.get(pk=holder.pk).updated_at == updated_at


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"type": "LEGAL_PERSON"}, "CRM-0007"),
        ({"document": "12345678900"}, "CRM-0007"),
        ({"name": None}, "CRM-0003"),
        ({"name": ""}, "CRM-0003"),
        ({"name": 12}, "CRM-0004"),
        ({"metadata": {"a": {"nested": 1}}}, "CRM-0001"),
        ('{"name": ', "CRM-0004"),
        (None, "CRM-0004"),
    ],
)
def test_holder_patch_invalid_body_on_unknown_id_is_400_not_404(api, body, code):
    url = f"/v1/holders/{uuid.uuid4()}"
    if isinstance(body, str):
        response = api.generic("PATCH", url, body, content_type="application/json")
    elif body is None:
        response = api.generic("PATCH", url)
    else:
        response = api.patch(url, body)

    assert response.status_code == 400
    assert response.json()["code"] == code


@pytest.mark.parametrize("body", [{"name": "New Name"}, {}])
def test_holder_patch_valid_body_on_unknown_id_is_404_crm_0006(api, body):
    HolderFactory()  # another holder exists; the unknown id still is not found

    response = api.patch(f"/v1/holders/{uuid.uuid4()}", body)

    assert response.status_code == 404
    assert response.json()["code"] == "CRM-0006"
    assert response.json()["title"] == "Holder ID Not Found"


def test_holder_hard_delete_removes_its_admin_log_and_leaves_one_audit_entry(api, admin_user):
    holder = HolderFactory()
    other = HolderFactory()
    admin_log_entry(admin_user, holder)
    admin_log_entry(admin_user, holder)
    kept = admin_log_entry(admin_user, other)

    response = api.delete(f"/v1/holders/{holder.id}?hard_delete=true")

    assert response.status_code == 204
    assert not LogEntry.objects.filter(object_id=str(holder.id)).exists()
    assert list(LogEntry.objects.values_list("pk", flat=True)) == [kept.pk]
    entries = AuditEntry.objects.filter(object_type="holder", object_id=holder.id, redacted=False)
    assert [entry.action for entry in entries] == ["hard_delete"]
    others = AuditEntry.objects.filter(object_type="holder", object_id=other.id)
    assert [entry.action for entry in others] == ["create"]


def test_holder_hard_delete_removes_the_admin_log_of_its_soft_deleted_aliases(api, admin_user):
    holder = HolderFactory()
    alias = AliasFactory(holder=holder)
    other_alias = AliasFactory()
    assert api.delete(f"/v1/holders/{holder.id}/aliases/{alias.id}").status_code == 204
    admin_log_entry(admin_user, holder)
    admin_log_entry(admin_user, alias)
    kept = admin_log_entry(admin_user, other_alias)

    response = api.delete(f"/v1/holders/{holder.id}?hard_delete=true")

    assert response.status_code == 204
    assert not AliasAccount.all_objects.filter(pk=alias.pk).exists()
    assert list(LogEntry.objects.values_list("pk", flat=True)) == [kept.pk]
    erased = AuditEntry.objects.filter(object_id__in=[holder.id, alias.id], redacted=False)
    assert sorted((entry.object_type, entry.action) for entry in erased) == [
        ("alias", "hard_delete"),
        ("holder", "hard_delete"),
    ]
