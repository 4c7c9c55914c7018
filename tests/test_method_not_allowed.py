"""A method a route does not serve is 405 CRM-0904 with DRF's `Allow` header (docs/api.md §3.1),
whatever the request carries: no body, invalid JSON, a valid body, another content type, an
oversized body, no organization, no credentials. It is decided before anything else, so it
writes nothing: no idempotency record, no audit entry, no change, no event."""

import json

import pytest

from crm.api.errors import CATALOGUE
from crm.models import AuditEntry, IdempotencyRecord
from events.models import OutboxEvent
from holders.models import Holder
from tests.factories import AliasFactory, HolderFactory, alias_payload, holder_payload

COLLECTION = "GET, POST, HEAD, OPTIONS"
ITEM = "GET, PATCH, DELETE, HEAD, OPTIONS"
ALIAS_LIST = "GET, HEAD, OPTIONS"
ALIASES_OF_HOLDER = "POST, OPTIONS"
RELATED_PARTY = "DELETE, OPTIONS"

# (method, route, the Allow header of the route); routes are formatted with real ids.
UNSERVED = [
    ("PUT", "/v1/holders", COLLECTION),
    ("PATCH", "/v1/holders", COLLECTION),
    ("DELETE", "/v1/holders", COLLECTION),
    ("PUT", "/v1/aliases", ALIAS_LIST),
    ("PATCH", "/v1/aliases", ALIAS_LIST),
    ("DELETE", "/v1/aliases", ALIAS_LIST),
    ("POST", "/v1/aliases", ALIAS_LIST),
    ("PUT", "/v1/holders/{holder}/aliases", ALIASES_OF_HOLDER),
    ("PATCH", "/v1/holders/{holder}/aliases", ALIASES_OF_HOLDER),
    ("DELETE", "/v1/holders/{holder}/aliases", ALIASES_OF_HOLDER),
    ("PUT", "/v1/holders/{holder}", ITEM),
    ("POST", "/v1/holders/{holder}", ITEM),
    ("PUT", "/v1/holders/{holder}/aliases/{alias}", ITEM),
    ("POST", "/v1/holders/{holder}/aliases/{alias}", ITEM),
    ("PUT", "/v1/holders/{holder}/aliases/{alias}/related-parties/{party}", RELATED_PARTY),
    ("PATCH", "/v1/holders/{holder}/aliases/{alias}/related-parties/{party}", RELATED_PARTY),
]

OVERSIZED = b'{"name": "' + b"x" * (2 * 1024 * 1024) + b'"}'


def body_kinds() -> dict[str, tuple[bytes | None, str | None]]:
    """Each kind of body: (bytes, content type); None bytes sends no body at all."""
    valid = json.dumps({**holder_payload(), **alias_payload()}).encode()
    return {
        "none": (None, None),
        "empty": (b"", "application/json"),
        "invalid-json": (b'{"name": ', "application/json"),
        "valid": (valid, "application/json"),
        "other-content-type": (valid, "text/plain"),
        "form": (b"name=Maria&document=123", "application/x-www-form-urlencoded"),
        "oversized": (OVERSIZED, "application/json"),
    }


# Ids nobody has: enough to show the method is refused before anything is looked up.
UNKNOWN_IDS = {
    "holder": "0196a3f4-1c2b-7cde-8f00-0000000004a1",
    "alias": "0196a3f4-1c2b-7cde-8f00-0000000004a2",
    "party": "0196a3f4-1c2b-7cde-8f00-0000000004a3",
}


@pytest.fixture
def routes(db) -> dict[str, str]:
    """Ids of a real holder, alias and related party: a misrouted request would change them."""
    holder = HolderFactory()
    alias = AliasFactory(
        holder=holder,
        relatedParties=[
            {
                "document": "12345678900",
                "name": "Ana",
                "role": "PRIMARY_HOLDER",
                "startDate": "2024-01-01",
            }
        ],
    )
    return {
        "holder": str(holder.id),
        "alias": str(alias.id),
        "party": str(alias.related_parties.get().id),
    }


def send(client, method: str, path: str, body: bytes | None, content_type: str | None, **extra):
    if body is None:
        return client.generic(method, path, **extra)
    return client.generic(method, path, body, content_type=content_type, **extra)


def assert_405(response, allow: str) -> None:
    spec = CATALOGUE["CRM-0904"]
    assert response.status_code == 405
    assert response["Content-Type"].startswith("application/json")
    assert response.json() == {"code": "CRM-0904", "title": spec.title, "message": spec.message}
    assert response["Allow"] == allow


def written() -> tuple:
    """Everything a request could have written."""
    return (
        IdempotencyRecord.objects.count(),
        AuditEntry.objects.count(),
        OutboxEvent.objects.count(),
        sorted(Holder.all_objects.values_list("id", "updated_at", "deleted_at")),
    )


@pytest.mark.parametrize("kind", list(body_kinds()))
@pytest.mark.parametrize(("method", "route", "allow"), UNSERVED)
def test_unserved_method_is_405_crm_0904_whatever_the_body(api, method, route, allow, kind):
    body, content_type = body_kinds()[kind]

    response = send(api, method, route.format(**UNKNOWN_IDS), body, content_type)

    assert_405(response, allow)


@pytest.mark.parametrize(
    ("method", "route", "allow"),
    [
        ("PUT", "/v1/holders", COLLECTION),
        ("PATCH", "/v1/holders", COLLECTION),
        ("PUT", "/v1/holders/{holder}", ITEM),
        ("PUT", "/v1/holders/{holder}/aliases/{alias}", ITEM),
    ],
)
@pytest.mark.parametrize("kind", ["none", "invalid-json", "valid"])
def test_unserved_method_is_405_before_headers_and_credentials(
    anonymous_api, routes, settings, method, route, allow, kind
):
    """No organization, no token, a malformed idempotency key: the method is refused first."""
    settings.PLUGIN_AUTH_ENABLED = True
    body, content_type = body_kinds()[kind]

    response = send(
        anonymous_api,
        method,
        route.format(**routes),
        body,
        content_type,
        HTTP_IDEMPOTENCY_KEY="\x7f",
    )

    assert_405(response, allow)


def test_unserved_method_is_405_even_with_a_malformed_path_id(api):
    assert_405(api.put("/v1/holders/not-a-uuid"), ITEM)


@pytest.mark.parametrize(("method", "route", "allow"), UNSERVED)
@pytest.mark.parametrize("kind", ["valid", "invalid-json"])
def test_unserved_method_writes_nothing(api, routes, settings, method, route, allow, kind):
    settings.EVENTS_ENABLED = True
    body, content_type = body_kinds()[kind]
    before = written()

    for key_header in ("HTTP_IDEMPOTENCY_KEY", "HTTP_X_IDEMPOTENCY"):
        response = send(
            api, method, route.format(**routes), body, content_type, **{key_header: "k-405"}
        )
        assert_405(response, allow)

    assert written() == before
    assert not IdempotencyRecord.objects.exists()


def test_served_methods_still_check_their_body(api, routes):
    """The 405 comes first; on a method the route serves, the body rules are unchanged."""
    holder = f"/v1/holders/{routes['holder']}"

    assert api.generic("PATCH", holder).json()["code"] == "CRM-0004"
    assert api.generic("POST", "/v1/holders").json()["code"] == "CRM-0004"
    oversized = send(api, "POST", "/v1/holders", OVERSIZED, "application/json")
    assert (oversized.status_code, oversized.json()["code"]) == (413, "CRM-0905")
