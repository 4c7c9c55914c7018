"""API tokens (docs/api.md §10): off by default; when on, 401 CRM-0901 without valid credentials,
403 CRM-0902 for a resource/action the token lacks, and another organization's data is 404."""

import datetime as dt

import pytest

from crm.access.auth import issue_token
from crm.models import ApiToken
from tests.factories import HolderFactory, holder_payload
from tests.test_error_contract import API_ERRORS


@pytest.fixture
def auth_on(settings):
    settings.PLUGIN_AUTH_ENABLED = True


def _token(org, permissions, **kwargs) -> str:
    token = ApiToken(
        name=kwargs.pop("name", "integration"),
        organizations=[str(org)],
        permissions=permissions,
        **kwargs,
    )
    raw = issue_token(token)
    token.save()
    return raw


def test_auth_is_off_by_default(api):
    assert api.get("/v1/holders").status_code == 200


def test_missing_token_is_401_crm_0901(api, auth_on):
    response = api.get("/v1/holders")

    assert response.status_code == 401
    assert response.json()["code"] == "CRM-0901"


def test_unknown_token_is_401_crm_0901(api, auth_on):
    response = api.get("/v1/holders", HTTP_AUTHORIZATION="Bearer crm_nope")

    assert response.status_code == 401
    assert response.json()["code"] == "CRM-0901"


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer ", "Bearer crm_nope", "crm_nope", "Basic dXNlcjpwYXNz"],
    ids=["no-header", "empty", "bearer-without-token", "unknown", "unknown-bare", "basic"],
)
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/v1/holders"),
        ("post", "/v1/holders"),
        ("get", "/v1/aliases"),
        ("post", "/v1/holders/0196a3f4-1c2b-7cde-8f00-000000000001/aliases"),
    ],
)
def test_unauthenticated_request_is_401_crm_0901_with_www_authenticate_bearer(
    api, auth_on, authorization, method, path
):
    extra = {} if authorization is None else {"HTTP_AUTHORIZATION": authorization}

    response = getattr(api, method)(path, **extra)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    body = response.json()
    assert body["code"] == "CRM-0901"
    assert body["title"] == API_ERRORS["CRM-0901"][1]
    assert set(body) == {"code", "title", "message"}


def test_inactive_token_is_401_with_www_authenticate_bearer(api, auth_on, org_a):
    raw = _token(org_a, ["holders:get"], is_active=False)

    response = api.get("/v1/holders", HTTP_AUTHORIZATION=f"Bearer {raw}")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert response.json()["code"] == "CRM-0901"


def test_forbidden_is_403_without_www_authenticate(api, auth_on, org_a):
    raw = _token(org_a, ["holders:get"])

    response = api.post("/v1/holders", holder_payload(), HTTP_AUTHORIZATION=f"Bearer {raw}")

    assert response.status_code == 403
    assert "WWW-Authenticate" not in response


@pytest.mark.parametrize("scheme", ["Bearer ", "bearer ", ""])
def test_valid_token_is_accepted_with_or_without_bearer(api, auth_on, org_a, scheme):
    raw = _token(org_a, ["holders:get"])

    assert api.get("/v1/holders", HTTP_AUTHORIZATION=f"{scheme}{raw}").status_code == 200


def test_inactive_token_is_401(api, auth_on, org_a):
    raw = _token(org_a, ["holders:get"], is_active=False)

    assert api.get("/v1/holders", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 401


def test_missing_action_is_403_crm_0902(api, auth_on, org_a):
    raw = _token(org_a, ["holders:get"])

    response = api.post("/v1/holders", holder_payload(), HTTP_AUTHORIZATION=f"Bearer {raw}")

    assert response.status_code == 403
    assert response.json()["code"] == "CRM-0902"


def test_token_for_organization_a_gets_404_for_b_data(api_b, auth_on, org_a, org_b):
    raw = _token(org_a, ["holders:get", "holders:patch", "holders:delete"])
    holder_of_b = HolderFactory(organization_id=org_b)

    for method in ("get", "patch", "delete"):
        response = getattr(api_b, method)(
            f"/v1/holders/{holder_of_b.id}", HTTP_AUTHORIZATION=f"Bearer {raw}"
        )
        assert response.status_code == 404
        assert response.json()["code"] == "CRM-0006"


def test_token_for_organization_a_cannot_list_b(api_b, auth_on, org_a):
    raw = _token(org_a, ["holders:get"])

    response = api_b.get("/v1/holders", HTTP_AUTHORIZATION=f"Bearer {raw}")

    assert response.status_code == 403
    assert response.json()["code"] == "CRM-0902"


def test_public_endpoints_need_no_token(client, auth_on, db):
    assert client.get("/health").status_code == 200
    assert client.get("/swagger/doc.json").status_code == 200


def test_only_the_token_hash_is_stored(auth_on, org_a, db):
    raw = _token(org_a, ["holders:get"])

    stored = ApiToken.objects.get()
    assert raw not in (stored.key_hash, stored.key_prefix)
    assert raw.startswith(stored.key_prefix)


# --- Expiry, last use, the admin's "expires in" --------------------------------------------------


def test_an_expired_token_is_401_with_www_authenticate(api, auth_on, org_a):
    from django.utils import timezone

    raw = _token(org_a, ["holders:get"], expires_at=timezone.now() - dt.timedelta(seconds=1))

    response = api.get("/v1/holders", HTTP_AUTHORIZATION=f"Bearer {raw}")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert response.json()["code"] == "CRM-0901"


def test_a_token_works_until_it_expires(api, auth_on, org_a):
    from django.utils import timezone

    raw = _token(org_a, ["holders:get"], expires_at=timezone.now() + dt.timedelta(hours=1))

    assert api.get("/v1/holders", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 200


def test_last_use_is_recorded_at_most_once_a_minute(api, auth_on, org_a, monkeypatch):
    from django.utils import timezone

    raw = _token(org_a, ["holders:get"])
    assert ApiToken.objects.get().last_used_at is None

    api.get("/v1/holders", HTTP_AUTHORIZATION=f"Bearer {raw}")
    first = ApiToken.objects.get().last_used_at
    api.get("/v1/holders", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert first is not None
    assert ApiToken.objects.get().last_used_at == first  # the same minute: no write

    later = timezone.now() + dt.timedelta(minutes=2)
    monkeypatch.setattr("crm.access.auth.timezone.now", lambda: later)
    api.get("/v1/holders", HTTP_AUTHORIZATION=f"Bearer {raw}")

    assert ApiToken.objects.get().last_used_at == later


def test_a_refused_token_leaves_no_last_use(api, auth_on, org_a):
    from django.utils import timezone

    raw = _token(org_a, ["holders:get"], expires_at=timezone.now() - dt.timedelta(days=1))

    api.get("/v1/holders", HTTP_AUTHORIZATION=f"Bearer {raw}")

    assert ApiToken.objects.get().last_used_at is None


def test_the_admin_lists_expires_in_and_last_use(admin_client, org_a):
    from django.utils import timezone

    _token(org_a, ["holders:get"], name="never", expires_at=None)
    _token(org_a, ["holders:get"], name="soon", expires_at=timezone.now() + dt.timedelta(days=3))
    _token(org_a, ["holders:get"], name="gone", expires_at=timezone.now() - dt.timedelta(days=2))

    page = admin_client.get("/admin/crm/apitoken/").text

    assert "expires in" in page.lower()
    assert "last used" in page.lower()
    assert "never" in page
    assert "in 2\xa0days" in page or "in 3\xa0days" in page
    assert "expired 2\xa0days ago" in page


def test_the_admin_sets_an_expiry(admin_client, org_a):
    response = admin_client.post(
        "/admin/crm/apitoken/add/",
        {
            "name": "batch",
            "is_active": "on",
            "expires_at_0": "2031-01-01",
            "expires_at_1": "00:00:00",
            "organizations": str(org_a),
            "permissions": ["holders:get"],
        },
    )

    assert response.status_code == 200  # the secret page
    assert ApiToken.objects.get(name="batch").expires_at.year == 2031
