"""Tenant isolation, the product's most important security property (docs/api.md §2): another
organization's holder is invisible — 404 on read, update and delete, absent from every list and
filter — and the organization header is mandatory and validated."""

import pytest

from holders.models import Holder
from tests.factories import HolderFactory


@pytest.fixture
def holder_of_a(org_a):
    return HolderFactory(
        organization_id=org_a,
        document="12345678900",
        externalId="EXT-A",
        metadata={"segment": "retail"},
    )


def test_other_organization_gets_404_on_get(api_b, holder_of_a):
    response = api_b.get(f"/v1/holders/{holder_of_a.id}")

    assert response.status_code == 404
    assert response.json()["code"] == "CRM-0006"


def test_other_organization_gets_404_on_get_include_deleted(api_b, holder_of_a):
    assert api_b.get(f"/v1/holders/{holder_of_a.id}?include_deleted=true").status_code == 404


def test_other_organization_gets_404_on_patch_and_nothing_changes(api_b, holder_of_a):
    response = api_b.patch(f"/v1/holders/{holder_of_a.id}", {"name": "Hijacked"})

    assert response.status_code == 404
    assert response.json()["code"] == "CRM-0006"
    assert Holder.objects.get(id=holder_of_a.id).name != "Hijacked"


@pytest.mark.parametrize("query", ["", "?hard_delete=true"])
def test_other_organization_gets_404_on_delete_and_nothing_is_deleted(api_b, holder_of_a, query):
    response = api_b.delete(f"/v1/holders/{holder_of_a.id}{query}")

    assert response.status_code == 404
    assert Holder.objects.filter(id=holder_of_a.id).exists()


@pytest.mark.parametrize(
    "query",
    [
        "",
        "?include_deleted=true",
        "?document=12345678900",
        "?document=123.456.789-00",
        "?external_id=EXT-A",
        "?metadata.segment=retail",
    ],
)
def test_other_organization_never_sees_the_holder_in_lists(api_b, holder_of_a, query):
    response = api_b.get(f"/v1/holders{query}")

    assert response.status_code == 200
    assert response.json()["items"] == []


def test_owner_organization_sees_its_holder(api, holder_of_a):
    assert api.get(f"/v1/holders/{holder_of_a.id}").status_code == 200


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/v1/holders"),
        ("post", "/v1/holders"),
        ("get", "/v1/holders/0196a3f4-1c2b-7cde-8f00-000000000001"),
        ("patch", "/v1/holders/0196a3f4-1c2b-7cde-8f00-000000000001"),
        ("delete", "/v1/holders/0196a3f4-1c2b-7cde-8f00-000000000001"),
    ],
)
def test_missing_organization_header_is_crm_0018(anonymous_api, method, path):
    response = getattr(anonymous_api, method)(path)

    assert response.status_code == 400
    assert response.json()["code"] == "CRM-0018"
    assert response.json()["title"] == "Missing Headers in Request"


@pytest.mark.parametrize("value", ["not-a-uuid", "123", "0196a3f41c2b7cde8f00", " "])
def test_invalid_organization_header_is_crm_0022(anonymous_api, value):
    anonymous_api.credentials(HTTP_X_ORGANIZATION_ID=value)

    response = anonymous_api.get("/v1/holders")

    assert response.status_code == 400
    assert response.json()["code"] == ("CRM-0018" if not value.strip() else "CRM-0022")


@pytest.mark.parametrize("method", ["get", "patch", "delete"])
def test_non_uuid_path_id_is_crm_0005(api, method):
    response = getattr(api, method)("/v1/holders/not-a-uuid")

    assert response.status_code == 400
    assert response.json()["code"] == "CRM-0005"
    assert "id" in response.json()["message"]
