"""Access Manager mode (docs/api.md §10, docs/api.md §10) against a real HTTP server: the fake
Access Manager of tests/fake_access_manager.py on a loopback port.

Every `/v1` endpoint by {no token, bad token, denied, allowed, Access Manager down} ->
401 / 401 / 403 / 2xx / 503; the subject derived as lib-auth derives it; the decision cache;
organization claims; JWKS signature verification.
"""

import datetime as dt
import json
import time
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.cache import cache

from crm.access import access_manager
from crm.lifecycle.audit import Actor
from crm.models import AuditEntry
from tests.conftest import ORG_A, ORG_B
from tests.factories import AliasFactory, HolderFactory, alias_payload, holder_payload
from tests.fake_access_manager import FakeAccessManager

# The service's bound on one Access Manager call in these tests: roomy, so that a busy machine
# never turns a prompt answer into a 503; `short_bound` for the tests whose call must time out.
TIMEOUT = 5.0
SHORT_TIMEOUT = 0.5


HS_KEY = "a-key-the-service-never-checks-" + "k" * 16  # tokens are parsed unverified


def user_token(owner="lerian", sub="user-1", **claims) -> str:
    """A JWT of a normal user (the service parses it without verifying the signature)."""
    payload = {"type": "normal-user", "owner": owner, "sub": sub, **claims}
    return jwt.encode(payload, HS_KEY, algorithm="HS256")


def machine_token(**claims) -> str:
    return jwt.encode({"type": "application", "sub": "svc", **claims}, HS_KEY, algorithm="HS256")


def bearer(token: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


@pytest.fixture
def fake_am():
    fake = FakeAccessManager().start()
    yield fake
    fake.stop()


@pytest.fixture
def am_mode(settings, fake_am):
    settings.PLUGIN_AUTH_ENABLED = True
    settings.PLUGIN_AUTH_ADDRESS = fake_am.address
    settings.PLUGIN_AUTH_TIMEOUT_SECONDS = TIMEOUT
    settings.PLUGIN_AUTH_CACHE_SECONDS = 0
    settings.PLUGIN_AUTH_JWKS_URL = ""
    access_manager.reset_client()
    cache.clear()
    yield fake_am
    access_manager.reset_client()
    cache.clear()


def short_bound(settings) -> None:
    """The call's bound at SHORT_TIMEOUT from now on (the pooled client holds it)."""
    settings.PLUGIN_AUTH_TIMEOUT_SECONDS = SHORT_TIMEOUT
    access_manager.reset_client()


# --- The matrix ------------------------------------------------------------------------------


PARTY = {
    "document": "98765432100",
    "name": "Ana",
    "role": "LEGAL_REPRESENTATIVE",
    "startDate": "2024-01-01",
}


def _holder_and_alias():
    holder = HolderFactory()
    alias = AliasFactory(holder=holder, relatedParties=[PARTY])
    return holder, alias


ENDPOINTS = {
    # name: (method, path template, body, resource, action, success status)
    "holders-list": ("get", "/v1/holders", None, "holders", "get", 200),
    "holders-get": ("get", "/v1/holders/{h}", None, "holders", "get", 200),
    "holders-create": ("post", "/v1/holders", "holder", "holders", "post", 201),
    "holders-patch": ("patch", "/v1/holders/{h}", {"externalId": "X-1"}, "holders", "patch", 200),
    "holders-delete": ("delete", "/v1/holders/{h2}", None, "holders", "delete", 204),
    "aliases-list": ("get", "/v1/aliases", None, "aliases", "get", 200),
    "aliases-get": ("get", "/v1/holders/{h}/aliases/{a}", None, "aliases", "get", 200),
    "aliases-create": ("post", "/v1/holders/{h}/aliases", "alias", "aliases", "post", 201),
    "aliases-patch": (
        "patch",
        "/v1/holders/{h}/aliases/{a}",
        {"metadata": {"k": "v"}},
        "aliases",
        "patch",
        200,
    ),
    "aliases-delete": ("delete", "/v1/holders/{h}/aliases/{a}", None, "aliases", "delete", 204),
    "related-party-delete": (
        "delete",
        "/v1/holders/{h}/aliases/{a}/related-parties/{rp}",
        None,
        "aliases",
        "delete",
        204,
    ),
}


def _request(api, name: str, **extra):
    method, template, body, *_ = ENDPOINTS[name]
    holder, alias = _holder_and_alias()
    other = HolderFactory()
    path = template.format(
        h=holder.id, a=alias.id, h2=other.id, rp=alias.related_parties.first().id
    )
    if body == "holder":
        body = holder_payload()
    elif body == "alias":
        body = alias_payload()
    return (
        getattr(api, method)(path, body, **extra) if body else getattr(api, method)(path, **extra)
    )


@pytest.mark.parametrize("name", ENDPOINTS)
def test_no_token_is_401_with_www_authenticate(api, am_mode, name):
    response = _request(api, name)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert response.json()["code"] == "CRM-0901"
    assert am_mode.call_count == 0


@pytest.mark.parametrize("name", ENDPOINTS)
def test_bad_token_is_401_with_www_authenticate(api, am_mode, name):
    response = _request(api, name, **bearer("not-a-jwt"))

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert response.json()["code"] == "CRM-0901"
    assert am_mode.call_count == 0


@pytest.mark.parametrize("name", ENDPOINTS)
def test_denied_is_403(api, am_mode, name):
    am_mode.mode = "deny"

    response = _request(api, name, **bearer(user_token()))

    assert response.status_code == 403
    assert response.json()["code"] == "CRM-0902"
    assert "WWW-Authenticate" not in response


@pytest.mark.parametrize("name", ENDPOINTS)
def test_allowed_is_served_and_asks_for_the_endpoint_resource_and_action(api, am_mode, name):
    token = user_token()
    *_, resource, action, success = ENDPOINTS[name]

    response = _request(api, name, **bearer(token))

    assert response.status_code == success, response.content
    assert [call.body for call in am_mode.calls] == [
        {"sub": "lerian/user-1", "resource": resource, "action": action, "product": "plugin-crm"}
    ]
    assert am_mode.calls[0].authorization == f"Bearer {token}"


@pytest.mark.parametrize("name", ENDPOINTS)
def test_access_manager_down_is_503_crm_0908(api, am_mode, name):
    am_mode.stop()

    response = _request(api, name, **bearer(user_token()))

    assert response.status_code == 503
    assert response.json()["code"] == "CRM-0908"
    assert response["Retry-After"] == "5"


@pytest.mark.parametrize("mode", ["slow", "garbage", "500", "status:400", "status:429"])
def test_a_misbehaving_access_manager_fails_closed_with_503(api, am_mode, settings, mode):
    short_bound(settings)
    am_mode.mode = mode
    am_mode.slow_seconds = SHORT_TIMEOUT * 4

    response = api.get("/v1/holders", **bearer(user_token()))

    assert response.status_code == 503
    assert response.json()["code"] == "CRM-0908"


@pytest.mark.parametrize("mode", ["trickle", "trickle-headers"])
def test_a_trickling_access_manager_is_cut_off_at_the_bound_of_the_whole_call(
    api, am_mode, settings, mode
):
    """One byte every 0.2 s never trips a 0.5 s per-read timeout; the answer (~70 bytes, over
    14 s) is cut off by the bound on the whole call: 503 CRM-0908 within the bound + 1 s.
    A first, prompt request warms the process (and opens the kept-alive connection the
    trickled answer then comes on), so the margin is not spent on a cold start."""
    short_bound(settings)
    assert api.get("/v1/holders", **bearer(user_token())).status_code == 200
    am_mode.mode = mode
    am_mode.trickle_seconds = 0.2

    started = time.monotonic()
    response = api.get("/v1/holders", **bearer(user_token()))
    elapsed = time.monotonic() - started

    assert response.status_code == 503
    assert response.json()["code"] == "CRM-0908"
    assert elapsed < SHORT_TIMEOUT + 1, f"answered after {elapsed:.1f} s"
    assert am_mode.call_count == 2


def test_the_bound_leaves_a_prompt_answer_alone_and_the_connection_is_reused(api, am_mode):
    """The deadline is per call: answers within it are served, one after another, on one
    kept-alive connection."""
    for _ in range(3):
        assert api.get("/v1/holders", **bearer(user_token())).status_code == 200

    assert am_mode.call_count == 3
    assert am_mode.connections_opened == 1


@pytest.mark.parametrize(
    ("status", "expected", "code"),
    [(401, 401, "CRM-0901"), (404, 401, "CRM-0901"), (403, 403, "CRM-0902")],
)
def test_the_access_managers_own_refusals(api, am_mode, status, expected, code):
    am_mode.mode = f"status:{status}"

    response = api.get("/v1/holders", **bearer(user_token()))

    assert response.status_code == expected
    assert response.json()["code"] == code


def test_a_redirect_is_never_followed_nor_a_decision(api, am_mode):
    am_mode.mode = "status:307"

    response = api.get("/v1/holders", **bearer(user_token()))

    assert response.status_code == 503
    assert am_mode.call_count == 1


def test_recovery_when_the_access_manager_returns(api, am_mode):
    token = user_token()
    am_mode.stop()
    assert api.get("/v1/holders", **bearer(token)).status_code == 503

    am_mode.start()  # the same port

    assert api.get("/v1/holders", **bearer(token)).status_code == 200


def test_public_endpoints_never_ask_the_access_manager(client, am_mode, db):
    am_mode.stop()

    assert client.get("/health").status_code == 200
    assert client.get("/version").status_code == 200
    assert client.get("/readyz").status_code == 200


# --- The subject, exactly as lib-auth derives it -----------------------------------------------


@pytest.mark.parametrize(
    ("token", "body"),
    [
        (
            user_token(owner="acme", sub="u-42"),
            {"sub": "acme/u-42", "resource": "holders", "action": "get", "product": "plugin-crm"},
        ),
        (
            machine_token(),
            {"sub": "admin/plugin-crm-editor-role", "resource": "holders", "action": "get"},
        ),
        (  # no `type` claim at all: a machine token too, as in lib-auth
            jwt.encode({"sub": "x"}, HS_KEY, algorithm="HS256"),
            {"sub": "admin/plugin-crm-editor-role", "resource": "holders", "action": "get"},
        ),
    ],
    ids=["normal-user", "machine", "no-type"],
)
def test_subject_and_request_body(api, am_mode, token, body):
    assert api.get("/v1/holders", **bearer(token)).status_code == 200

    assert am_mode.calls[0].body == body


@pytest.mark.parametrize(
    "claims",
    [{"owner": "lerian"}, {"sub": "u-1"}, {"owner": "", "sub": "u-1"}, {"owner": 7, "sub": "u"}],
    ids=["no-sub", "no-owner", "empty-owner", "owner-not-a-string"],
)
def test_a_normal_user_without_owner_or_sub_is_401(api, am_mode, claims):
    token = jwt.encode({"type": "normal-user", **claims}, HS_KEY, algorithm="HS256")

    response = api.get("/v1/holders", **bearer(token))

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert am_mode.call_count == 0


def test_v4_names_product_midaz_and_resource_instruments(api, am_mode, settings):
    settings.PLUGIN_AUTH_PRODUCT = "midaz"
    settings.PLUGIN_AUTH_RESOURCES = {"holders": "holders", "aliases": "instruments"}

    assert api.get("/v1/aliases", **bearer(machine_token())).status_code == 200
    assert api.get("/v1/aliases", **bearer(user_token())).status_code == 200

    assert [call.body for call in am_mode.calls] == [
        {"sub": "admin/midaz-editor-role", "resource": "instruments", "action": "get"},
        {"sub": "lerian/user-1", "resource": "instruments", "action": "get", "product": "midaz"},
    ]


def test_one_subject_denied_another_allowed(api, am_mode):
    am_mode.deny_subjects = {"lerian/intruder"}

    assert api.get("/v1/holders", **bearer(user_token(sub="intruder"))).status_code == 403
    assert api.get("/v1/holders", **bearer(user_token(sub="clerk"))).status_code == 200


def test_the_audit_trail_names_the_subject(api, am_mode):
    response = api.post("/v1/holders", holder_payload(), **bearer(user_token(sub="clerk")))

    assert response.status_code == 201
    entry = AuditEntry.objects.get(object_id=response.json()["id"])
    assert Actor(entry.actor_type, entry.actor) == Actor("token", "lerian/clerk")


# --- The decision cache ------------------------------------------------------------------------


def test_repeated_requests_ask_once_while_the_decision_is_cached(api, am_mode, settings):
    settings.PLUGIN_AUTH_CACHE_SECONDS = 60
    token = user_token()

    for _ in range(5):
        assert api.get("/v1/holders", **bearer(token)).status_code == 200

    assert am_mode.call_count == 1


def test_the_cache_is_per_token_resource_and_action(api, am_mode, settings):
    settings.PLUGIN_AUTH_CACHE_SECONDS = 60

    api.get("/v1/holders", **bearer(user_token(sub="a")))
    api.get("/v1/holders", **bearer(user_token(sub="b")))
    api.get("/v1/aliases", **bearer(user_token(sub="a")))
    api.post("/v1/holders", holder_payload(), **bearer(user_token(sub="a")))

    assert am_mode.call_count == 4


def test_a_denial_is_cached_too(api, am_mode, settings):
    settings.PLUGIN_AUTH_CACHE_SECONDS = 60
    am_mode.mode = "deny"
    token = user_token()

    assert api.get("/v1/holders", **bearer(token)).status_code == 403
    assert api.get("/v1/holders", **bearer(token)).status_code == 403

    assert am_mode.call_count == 1


def test_the_access_manager_is_asked_again_after_expiry(api, am_mode, settings, monkeypatch):
    settings.PLUGIN_AUTH_CACHE_SECONDS = 30
    token = user_token()
    assert api.get("/v1/holders", **bearer(token)).status_code == 200
    assert am_mode.call_count == 1

    # The cache's clock moves past the TTL (locmem compares against time.time()).
    real_time = __import__("time").time
    monkeypatch.setattr("django.core.cache.backends.locmem.time.time", lambda: real_time() + 31)
    am_mode.mode = "deny"

    assert api.get("/v1/holders", **bearer(token)).status_code == 403
    assert am_mode.call_count == 2


def test_an_outage_is_never_cached(api, am_mode, settings):
    settings.PLUGIN_AUTH_CACHE_SECONDS = 60
    token = user_token()
    am_mode.mode = "500"
    assert api.get("/v1/holders", **bearer(token)).status_code == 503

    am_mode.mode = "allow"

    assert api.get("/v1/holders", **bearer(token)).status_code == 200


def test_the_cache_key_holds_a_hash_of_the_token_never_the_token(am_mode):
    token = user_token()

    key = access_manager.cache_key(token, "holders", "get")

    assert token not in key
    assert token.split(".")[1] not in key


# --- Organization claims (beyond the reference) -----------------------------------------------


def test_a_token_for_organization_a_gets_404_for_b_objects(api_b, am_mode):
    token = user_token(organizations=[str(ORG_A)])
    holder_of_b = HolderFactory(organization_id=ORG_B)

    for method in ("get", "patch", "delete"):
        response = getattr(api_b, method)(f"/v1/holders/{holder_of_b.id}", **bearer(token))
        assert response.status_code == 404
        assert response.json()["code"] == "CRM-0006"


def test_a_token_for_organization_a_cannot_list_b(api_b, am_mode):
    token = user_token(organizationId=str(ORG_A))

    response = api_b.get("/v1/holders", **bearer(token))

    assert response.status_code == 403
    assert response.json()["code"] == "CRM-0902"


def test_a_token_for_organization_a_works_in_a(api, am_mode):
    holder = HolderFactory()

    response = api.get(f"/v1/holders/{holder.id}", **bearer(user_token(organizations=[str(ORG_A)])))

    assert response.status_code == 200


def test_an_organization_claim_without_a_valid_uuid_allows_nothing(api, am_mode):
    holder = HolderFactory()

    response = api.get(f"/v1/holders/{holder.id}", **bearer(user_token(organizations="nope")))

    assert response.status_code == 404


# --- JWKS signature verification (optional) -----------------------------------------------------


@pytest.fixture
def signing_key(am_mode, settings):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    am_mode.jwks = {"keys": [{**public, "kid": "k1", "use": "sig", "alg": "RS256"}]}
    settings.PLUGIN_AUTH_JWKS_URL = f"{am_mode.address}/jwks.json"
    return key


def _signed(key, **claims) -> str:
    exp = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)
    payload = {"type": "normal-user", "owner": "lerian", "sub": "u-1", "exp": exp, **claims}
    return jwt.encode(payload, key, algorithm="RS256", headers={"kid": "k1"})


def test_jwks_a_signed_token_is_accepted(api, signing_key):
    assert api.get("/v1/holders", **bearer(_signed(signing_key))).status_code == 200


def test_jwks_a_token_signed_by_another_key_is_401(api, am_mode, signing_key):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    response = api.get("/v1/holders", **bearer(_signed(other)))

    assert response.status_code == 401
    assert am_mode.call_count == 0


def test_jwks_an_expired_or_unsigned_token_is_401(api, am_mode, signing_key):
    expired = _signed(signing_key, exp=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1))

    assert api.get("/v1/holders", **bearer(expired)).status_code == 401
    assert api.get("/v1/holders", **bearer(user_token())).status_code == 401
    assert am_mode.call_count == 0


def test_jwks_endpoint_unreachable_is_503(api, am_mode, signing_key, settings):
    settings.PLUGIN_AUTH_JWKS_URL = f"http://127.0.0.1:{_closed_port()}/jwks.json"

    response = api.get("/v1/holders", **bearer(_signed(signing_key)))

    assert response.status_code == 503
    assert response.json()["code"] == "CRM-0908"


def _closed_port() -> int:
    from tests.servers import free_port

    return free_port()


# --- Mode in force: start-up line and /readyz ---------------------------------------------------


def test_readyz_shows_the_mode_without_secrets(client, am_mode, settings, db):
    settings.PLUGIN_AUTH_ADDRESS = am_mode.address.replace("http://", "http://user:pw@")

    auth = client.get("/readyz").json()["auth"]

    assert auth == {
        "mode": "access_manager",
        "address": am_mode.address,
        "product": "plugin-crm",
        "signatureVerification": "off",
    }


@pytest.mark.parametrize(
    ("enabled", "address", "mode"),
    [(False, "", "off"), (True, "", "api_tokens"), (True, "http://am:4000", "access_manager")],
)
def test_the_mode_follows_the_two_settings(settings, enabled, address, mode):
    settings.PLUGIN_AUTH_ENABLED = enabled
    settings.PLUGIN_AUTH_ADDRESS = address

    assert access_manager.mode() == mode


@pytest.fixture
def fresh_warning_throttle():
    """The outage warning is throttled per process (one line per WARN_EVERY_SECONDS): an
    earlier outage test in this process would otherwise leave nothing to inspect here."""
    access_manager.reset_warning_throttle()
    yield
    access_manager.reset_warning_throttle()


def _outage_warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "crm.access.access_manager"]


def test_the_token_is_never_logged(api, am_mode, caplog, fresh_warning_throttle):
    token = user_token(sub="secret-subject-" + uuid.uuid4().hex)
    am_mode.stop()

    with caplog.at_level("DEBUG"):
        response = api.get("/v1/holders", **bearer(token))

    assert response.status_code == 503
    # The outage was logged (so there is a line to leak into), and it holds neither the token
    # nor the subject it carries.
    warnings = _outage_warnings(caplog)
    assert len(warnings) == 1, warnings
    assert warnings[0].startswith("access manager gave no decision: unreachable")
    assert token not in caplog.text
    assert "secret-subject" not in caplog.text


def test_an_outage_logs_one_warning_not_one_per_request(
    api, am_mode, caplog, fresh_warning_throttle
):
    am_mode.stop()

    with caplog.at_level("WARNING", logger="crm.access.access_manager"):
        for _ in range(5):
            assert api.get("/v1/holders", **bearer(user_token())).status_code == 503

    assert _outage_warnings(caplog) == [
        "access manager gave no decision: unreachable (ConnectError)"
    ]
