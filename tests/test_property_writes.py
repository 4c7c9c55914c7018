"""Property: whatever JSON a client sends to a write endpoint, the answer is never a 5xx, and
every record that got stored can still be read and listed (nothing unreadable is written).

Hypothesis generates bodies two ways: arbitrary JSON documents, and valid bodies with any
field replaced by arbitrary JSON (which reaches the deep validation: dates, metadata, nested
objects, related parties). Strings include lone surrogates and control characters; numbers
include huge integers and floats that overflow to infinity. Runs on SQLite and PostgreSQL
(the whole suite runs on both in CI)."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import ORG_A, OrgClient
from tests.factories import AliasFactory, HolderFactory, alias_payload, holder_payload

pytestmark = pytest.mark.django_db

PROPERTY_SETTINGS = settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Any text, including lone surrogates (json.dumps escapes them as \udfff on the wire).
text = st.text(st.characters(codec=None, categories=None), max_size=30) | st.sampled_from(
    [
        "\udfff",
        "\ud800x",
        "a\x00b",
        "",
        " ",
        "0001-01-01T00:00:00+01:00",
        "9999-12-31T23:59:59-01:00",
    ]
)
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from([10**400, -(10**400), 1e308])
    | text
)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(text, children, max_size=4),
    max_leaves=12,
)


def mutated(valid: dict, keys: list[str]) -> st.SearchStrategy[dict]:
    """`valid` with some keys (top level or one level down) replaced by arbitrary JSON."""
    paths = [(key,) for key in keys] + [
        (key, sub) for key in keys for sub in ("birthDate", "k", "branch", "closingDate", "0")
    ]

    def apply(choices: list[tuple[tuple[str, ...], object]]) -> dict:
        body = json.loads(json.dumps(valid))
        for path, value in choices:
            node = body
            for key in path[:-1]:
                if not isinstance(node.get(key), dict):
                    node[key] = {}
                node = node[key]
            node[path[-1]] = value
        return body

    return st.lists(st.tuples(st.sampled_from(paths), json_values), max_size=3).map(apply)


HOLDER_KEYS = [
    "type",
    "name",
    "document",
    "externalId",
    "addresses",
    "contact",
    "naturalPerson",
    "legalPerson",
    "metadata",
]
ALIAS_KEYS = [
    "ledgerId",
    "accountId",
    "bankingDetails",
    "regulatoryFields",
    "relatedParties",
    "metadata",
]


def bodies(valid: dict, keys: list[str]) -> st.SearchStrategy[dict]:
    return st.dictionaries(text, json_values, max_size=5) | mutated(valid, keys)


def send(api: OrgClient, method: str, path: str, body) -> int:
    raw = json.dumps(body, ensure_ascii=True)  # lone surrogates travel as \\udfff escapes
    response = getattr(api, method)(path, raw, content_type="application/json")
    assert response.status_code < 500, (method, path, raw[:500], response.content[:500])
    assert response["Content-Type"].startswith("application/json")
    return response.status_code


def everything_is_readable(api: OrgClient, holder_id=None, alias=None) -> None:
    for path in ("/v1/holders", "/v1/aliases"):
        response = api.get(path, {"include_deleted": "true", "limit": 100, "sort_order": "desc"})
        assert response.status_code == 200, response.content[:500]
    if holder_id:
        assert api.get(f"/v1/holders/{holder_id}").status_code == 200
    if alias:
        assert api.get(f"/v1/holders/{alias[0]}/aliases/{alias[1]}").status_code == 200


@pytest.fixture
def api():
    return OrgClient(ORG_A)


@PROPERTY_SETTINGS
@given(body=bodies(holder_payload(document="52998224725"), HOLDER_KEYS))
def test_any_holder_create_body_is_never_a_5xx_and_stays_readable(api, body):
    response_status = send(api, "post", "/v1/holders", body)
    everything_is_readable(api)
    assert response_status in (201, 400, 409)


@PROPERTY_SETTINGS
@given(body=bodies({"name": "N", "metadata": {"k": "v"}}, HOLDER_KEYS))
def test_any_holder_patch_body_is_never_a_5xx_and_stays_readable(api, body):
    holder = HolderFactory()
    status = send(api, "patch", f"/v1/holders/{holder.id}", body)
    assert status in (200, 400)
    everything_is_readable(api, holder_id=holder.id)


@PROPERTY_SETTINGS
@given(body=bodies(alias_payload(), ALIAS_KEYS))
def test_any_alias_create_body_is_never_a_5xx_and_stays_readable(api, body):
    holder = HolderFactory()
    status = send(api, "post", f"/v1/holders/{holder.id}/aliases", body)
    assert status in (201, 400, 409)
    everything_is_readable(api, holder_id=holder.id)


@PROPERTY_SETTINGS
@given(body=bodies({"bankingDetails": {"branch": "1"}, "relatedParties": []}, ALIAS_KEYS))
def test_any_alias_patch_body_is_never_a_5xx_and_stays_readable(api, body):
    alias = AliasFactory()
    status = send(api, "patch", f"/v1/holders/{alias.holder_id}/aliases/{alias.id}", body)
    assert status in (200, 400)
    everything_is_readable(api, alias=(alias.holder_id, alias.id))
