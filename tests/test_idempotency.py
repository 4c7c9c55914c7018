"""Retries are safe (docs/api.md §6): `Idempotency-Key` / `X-Idempotency` on POST and PATCH run a
request once per organization and key (`crm/api/idempotency.py`)."""

import datetime as dt
import hashlib
import hmac
import json
import threading

import pytest
from django.conf import settings
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from aliases.models import RelatedParty
from crm.api import idempotency
from crm.models import IdempotencyRecord
from holders import services as holder_services
from holders.models import Holder
from tests.conftest import ORG_A, ORG_B, OrgClient
from tests.factories import AliasFactory, HolderFactory

BODY = {"type": "NATURAL_PERSON", "name": "Joana Idempotente", "document": "529.982.247-25"}
PARTY = {
    "document": "98765432100",
    "name": "Ana Representante",
    "role": "LEGAL_REPRESENTATIVE",
    "startDate": "2024-01-01",
}


def key(value: str) -> dict:
    return {"HTTP_IDEMPOTENCY_KEY": value}


def replayed(response) -> str | None:
    return response.headers.get("Idempotent-Replayed")


def in_progress_record(organization_id, raw_key, method, path, body, **fields):
    return IdempotencyRecord.objects.create(
        organization_id=organization_id,
        key_hash=idempotency.key_hash(organization_id, raw_key),
        fingerprint=idempotency.fingerprint(organization_id, method, path, body),
        **fields,
    )


# --- Replays ------------------------------------------------------------------------------------


def test_without_a_key_nothing_changes(api):
    first = api.post("/v1/holders", BODY)
    second = api.post("/v1/holders", BODY)

    assert first.status_code == 201
    assert second.status_code == 409
    assert second.json()["code"] == "CRM-0010"
    assert replayed(first) is None and replayed(second) is None
    assert not IdempotencyRecord.objects.exists()


def test_post_retry_replays_the_original_201_and_body_and_creates_one_row(api):
    first = api.post("/v1/holders", BODY, **key("create-joana"))
    retries = [api.post("/v1/holders", BODY, **key("create-joana")) for _ in range(2)]

    assert first.status_code == 201
    assert replayed(first) == "false"
    for retry in retries:
        assert retry.status_code == 201
        assert retry.content == first.content
        assert replayed(retry) == "true"
        assert retry.headers["X-Idempotency-Replayed"] == "true"
    assert Holder.objects.count() == 1
    record = IdempotencyRecord.objects.get()
    assert record.state == IdempotencyRecord.State.COMPLETED
    assert (record.status_code, record.object_kind) == (201, "holder")
    assert str(record.object_id) == first.json()["id"]


def test_a_replay_carries_the_etag_of_the_first_answer(api):
    """The replay is the first answer again, headers included: its `ETag` names the version
    the first answer carried, even after the record changed (schemathesis found a replayed 201
    without the `ETag` the OpenAPI document promises)."""
    first = api.post("/v1/holders", BODY, **key("k-etag"))
    holder_url = f"/v1/holders/{first.json()['id']}"
    patched = api.patch(holder_url, {"name": "Joana Outra"}, **key("k-etag-patch"))
    api.patch(holder_url, {"name": "Joana Terceira"})

    create_retry = api.post("/v1/holders", BODY, **key("k-etag"))
    patch_retry = api.patch(holder_url, {"name": "Joana Outra"}, **key("k-etag-patch"))

    assert (first.headers["ETag"], patched.headers["ETag"]) == ('"1"', '"2"')
    assert replayed(create_retry) == replayed(patch_retry) == "true"
    assert create_retry.headers["ETag"] == '"1"'
    assert patch_retry.headers["ETag"] == '"2"'


def test_replay_ignores_whitespace_and_key_order_of_the_body(api):
    first = api.post("/v1/holders", BODY, **key("k-order"))
    reordered = (
        '{ "document":"529.982.247-25",\n  "name": "Joana Idempotente", "type":"NATURAL_PERSON"}'
    )
    retry = api.post("/v1/holders", reordered, content_type="application/json", **key("k-order"))

    assert retry.status_code == 201
    assert replayed(retry) == "true"
    assert retry.json() == first.json()


def test_replay_returns_the_original_even_after_later_changes(api):
    first = api.post("/v1/holders", BODY, **key("k-later"))
    api.patch(f"/v1/holders/{first.json()['id']}", {"name": "Joana Renomeada"})

    retry = api.post("/v1/holders", BODY, **key("k-later"))

    assert retry.json()["name"] == "Joana Idempotente"
    assert replayed(retry) == "true"


def test_three_retried_patches_append_one_related_party(api):
    alias = AliasFactory()
    url = f"/v1/holders/{alias.holder_id}/aliases/{alias.id}"

    responses = [api.patch(url, {"relatedParties": [PARTY]}, **key("add-ana")) for _ in range(3)]

    assert [response.status_code for response in responses] == [200, 200, 200]
    assert [replayed(response) for response in responses] == ["false", "true", "true"]
    assert responses[1].content == responses[0].content == responses[2].content
    assert RelatedParty.objects.filter(alias_id=alias.id).count() == 1
    assert len(api.get(url).json()["relatedParties"]) == 1


def test_x_idempotency_is_the_same_header(api):
    first = api.post("/v1/holders", BODY, HTTP_X_IDEMPOTENCY="midaz-v4-key")
    retry = api.post("/v1/holders", BODY, **key("midaz-v4-key"))
    again = api.post("/v1/holders", BODY, HTTP_X_IDEMPOTENCY="midaz-v4-key")

    assert first.status_code == 201
    assert first.headers["X-Idempotency-Replayed"] == "false"
    assert (retry.status_code, replayed(retry)) == (201, "true")
    assert again.headers["X-Idempotency-Replayed"] == "true"
    assert retry.content == again.content == first.content
    assert Holder.objects.count() == 1


def test_the_same_key_in_another_organization_is_independent(api, api_b):
    in_a = api.post("/v1/holders", BODY, **key("shared-key"))
    in_b = api_b.post("/v1/holders", BODY, **key("shared-key"))
    other_body_in_b = api_b.post("/v1/holders", {**BODY, "name": "Outra"}, **key("other-key"))

    assert (in_a.status_code, in_b.status_code) == (201, 201)
    assert replayed(in_b) == "false"
    assert in_a.json()["id"] != in_b.json()["id"]
    assert other_body_in_b.status_code == 409  # executed: org B already has this document
    assert Holder.objects.filter(organization_id=ORG_A).count() == 1
    assert Holder.objects.filter(organization_id=ORG_B).count() == 1
    assert api_b.post("/v1/holders", BODY, **key("shared-key")).content == in_b.content


# --- Conflicts ----------------------------------------------------------------------------------


def test_same_key_with_another_body_is_422_crm_0909(api):
    api.post("/v1/holders", BODY, **key("k-body"))

    response = api.post("/v1/holders", {**BODY, "name": "Outro Nome"}, **key("k-body"))

    assert response.status_code == 422
    assert response.json()["code"] == "CRM-0909"
    assert replayed(response) is None
    assert Holder.objects.count() == 1


def test_same_key_on_another_path_or_method_is_422_crm_0909(api):
    created = api.post("/v1/holders", BODY, **key("k-path")).json()

    patch = api.patch(f"/v1/holders/{created['id']}", {"name": "X"}, **key("k-path"))
    alias = api.post(f"/v1/holders/{created['id']}/aliases", {}, **key("k-path"))

    assert patch.status_code == alias.status_code == 422
    assert patch.json()["code"] == alias.json()["code"] == "CRM-0909"
    assert Holder.objects.get().name == BODY["name"]


def test_a_duplicate_still_in_flight_is_409_crm_0910_without_waiting(api):
    in_progress_record(ORG_A, "k-busy", "POST", "/v1/holders", BODY)

    response = api.post("/v1/holders", BODY, **key("k-busy"))
    other_body = api.post("/v1/holders", {**BODY, "name": "Outra"}, **key("k-busy"))

    assert response.status_code == 409
    assert response.json()["code"] == "CRM-0910"
    assert response.headers["Retry-After"] == "1"
    assert other_body.status_code == 422
    assert not Holder.objects.exists()


def test_a_request_in_flight_for_too_long_is_taken_over(api):
    timeout = settings.IDEMPOTENCY_IN_PROGRESS_TIMEOUT_SECONDS
    stale = timezone.now() - dt.timedelta(seconds=timeout + 1)
    in_progress_record(ORG_A, "k-crashed", "POST", "/v1/holders", BODY, created_at=stale)

    response = api.post("/v1/holders", BODY, **key("k-crashed"))

    assert response.status_code == 201
    assert IdempotencyRecord.objects.get().state == IdempotencyRecord.State.COMPLETED


def test_a_request_whose_key_was_taken_over_is_rolled_back(api, monkeypatch):
    """The slow original finds its reservation gone at completion: its write rolls back, so
    the request never runs twice."""
    create = holder_services.holder_create

    def create_then_lose_the_key(**kwargs):
        holder = create(**kwargs)
        IdempotencyRecord.objects.all().delete()  # a retry took the stale key over
        return holder

    monkeypatch.setattr(holder_services, "holder_create", create_then_lose_the_key)

    response = api.post("/v1/holders", BODY, **key("k-slow"))

    assert response.status_code == 409
    assert response.json()["code"] == "CRM-0910"
    assert not Holder.objects.exists()


# --- Keys ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("HTTP_IDEMPOTENCY_KEY", ""),
        ("HTTP_IDEMPOTENCY_KEY", "k" * 256),
        ("HTTP_IDEMPOTENCY_KEY", "chave-ação"),
        ("HTTP_IDEMPOTENCY_KEY", "tab\tkey"),
        ("HTTP_X_IDEMPOTENCY", "\x00"),
    ],
)
def test_a_malformed_key_is_400_crm_0022(api, header, value):
    response = api.post("/v1/holders", BODY, **{header: value})

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "CRM-0022"
    name = "Idempotency-Key" if header == "HTTP_IDEMPOTENCY_KEY" else "X-Idempotency"
    assert set(body["fields"]) == {name}
    assert not Holder.objects.exists()
    assert not IdempotencyRecord.objects.exists()


def test_a_key_of_255_printable_characters_is_accepted(api):
    response = api.post("/v1/holders", BODY, **key("~ k" + "x" * 252))

    assert response.status_code == 201


def test_two_different_keys_in_both_headers_are_400(api):
    response = api.post("/v1/holders", BODY, HTTP_X_IDEMPOTENCY="a", **key("b"))

    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"Idempotency-Key", "X-Idempotency"}


def test_get_delete_and_unrouted_methods_ignore_the_key(api):
    holder = HolderFactory()

    assert api.get(f"/v1/holders/{holder.id}", **key("")).status_code == 200
    assert api.post(f"/v1/holders/{holder.id}", {}, **key("k-405")).status_code == 405
    assert api.delete(f"/v1/holders/{holder.id}", **key("k-del")).status_code == 204
    assert not IdempotencyRecord.objects.exists()


def test_requests_refused_before_running_burn_no_key(api, anonymous_api):
    assert anonymous_api.post("/v1/holders", BODY, **key("k-early")).status_code == 400
    bad_json = api.post("/v1/holders", "{", content_type="application/json", **key("k-early"))
    assert bad_json.json()["code"] == "CRM-0004"
    assert not IdempotencyRecord.objects.exists()

    assert api.post("/v1/holders", BODY, **key("k-early")).status_code == 201


# --- Errors -------------------------------------------------------------------------------------


def test_a_4xx_answer_is_stored_and_replayed(api):
    """Design: a 4xx the action answers is final (nothing was written) and replays like a
    success; a corrected body needs a new key."""
    invalid = {**BODY, "type": "ROBOT"}
    first = api.post("/v1/holders", invalid, **key("k-400"))
    retry = api.post("/v1/holders", invalid, **key("k-400"))
    corrected = api.post("/v1/holders", BODY, **key("k-400"))

    assert (first.status_code, first.json()["code"]) == (400, "CRM-0015")
    assert (retry.status_code, replayed(retry)) == (400, "true")
    assert retry.content == first.content
    assert corrected.json()["code"] == "CRM-0909"
    assert api.post("/v1/holders", BODY, **key("k-400-fixed")).status_code == 201


def test_a_409_conflict_is_replayed_as_409(api):
    api.post("/v1/holders", BODY)
    first = api.post("/v1/holders", BODY, **key("k-409"))
    retry = api.post("/v1/holders", BODY, **key("k-409"))

    assert first.json()["code"] == retry.json()["code"] == "CRM-0010"
    assert replayed(retry) == "true"


def test_a_5xx_is_not_stored_so_the_retry_runs(api, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(holder_services, "holder_create", broken)
    failed = api.post("/v1/holders", BODY, **key("k-500"))
    monkeypatch.undo()
    retry = api.post("/v1/holders", BODY, **key("k-500"))

    assert failed.status_code == 500
    assert replayed(failed) is None
    assert (retry.status_code, replayed(retry)) == (201, "false")
    assert Holder.objects.count() == 1


# --- Expiry -------------------------------------------------------------------------------------


@override_settings(IDEMPOTENCY_TTL_SECONDS=3600)
def test_an_expired_key_is_a_new_request(api):
    first = api.post("/v1/holders", BODY, **key("k-old"))
    IdempotencyRecord.objects.update(created_at=timezone.now() - dt.timedelta(seconds=3601))

    again = api.post("/v1/holders", BODY, **key("k-old"))

    assert first.status_code == 201
    assert again.status_code == 409  # ran again: the document is taken by the first holder
    assert replayed(again) == "false"
    assert IdempotencyRecord.objects.get().status_code == 409


def test_expired_records_are_purged_when_new_keys_are_claimed(api):
    old = timezone.now() - dt.timedelta(days=2)
    for number in range(3):
        in_progress_record(ORG_B, f"old-{number}", "POST", "/v1/holders", {}, created_at=old)
    fresh = in_progress_record(ORG_B, "fresh", "POST", "/v1/holders", {})

    api.post("/v1/holders", BODY, **key("k-new"))

    assert set(IdempotencyRecord.objects.values_list("organization_id", flat=True)) == {
        ORG_A,
        ORG_B,
    }
    assert IdempotencyRecord.objects.filter(organization_id=ORG_B).get() == fresh
    IdempotencyRecord.objects.update(created_at=old)
    assert idempotency.purge_expired() == 2
    assert not IdempotencyRecord.objects.exists()


# --- Personal data and erasure ------------------------------------------------------------------


def test_the_stored_row_holds_no_personal_data_or_key_in_clear(api):
    raw_key = "key-with-client-secret-987654"
    assert api.post("/v1/holders", BODY, **key(raw_key)).status_code == 201

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {IdempotencyRecord._meta.db_table}")
        rows = cursor.fetchall()
    raw = "\n".join(
        bytes(value).decode("latin-1") if isinstance(value, bytes | memoryview) else str(value)
        for row in rows
        for value in row
    )

    assert len(rows) == 1
    for secret in (BODY["name"], "Joana", BODY["document"], "52998224725", raw_key):
        assert secret not in raw
    assert json.loads(IdempotencyRecord.objects.get().response_body)["name"] == BODY["name"]


def test_a_refused_requests_fingerprint_is_a_keyed_hash_of_the_body_never_a_plain_digest(api):
    """A refused create (409: the document is taken) is about no record, so its row stays until
    it expires: what it keeps of the body must not be matched by hashing a guessed name and
    document without the search-hash key."""
    api.post("/v1/holders", BODY)
    assert api.post("/v1/holders", BODY, **key("k-refused")).status_code == 409
    record = IdempotencyRecord.objects.get()
    assert record.object_id is None

    canonical = json.dumps(
        {"method": "POST", "path": "/v1/holders", "body": BODY},
        sort_keys=True,
        separators=(",", ":"),
    )
    plain = hashlib.sha256(canonical.encode()).hexdigest()
    keyed = hmac.new(
        settings.LCRYPTO_HASH_SECRET_KEY.encode(),
        f"{ORG_A}|idempotency-fingerprint|{canonical}".encode(),
        hashlib.sha256,
    ).hexdigest()
    assert record.fingerprint != plain
    assert record.fingerprint == keyed


NEW_HASH_KEY = "rotated-hash-key-" + "r" * 40


def test_a_retry_across_a_hash_key_rotation_still_replays(api):
    first = api.post("/v1/holders", BODY, **key("k-rotate"))

    with override_settings(
        LCRYPTO_HASH_SECRET_KEY=NEW_HASH_KEY,
        LCRYPTO_PREVIOUS_HASH_SECRET_KEYS=[settings.LCRYPTO_HASH_SECRET_KEY],
    ):
        retry = api.post("/v1/holders", BODY, **key("k-rotate"))
        other = api.post("/v1/holders", {**BODY, "name": "Outra"}, **key("k-rotate"))

    assert (retry.status_code, replayed(retry), retry.content) == (201, "true", first.content)
    assert other.json()["code"] == "CRM-0909"


def test_once_the_previous_hash_key_is_dropped_an_old_retry_is_422_never_a_second_write(api):
    """The documented edge (docs/api.md §7.3): keep previous hash keys for at least
    IDEMPOTENCY_TTL_SECONDS after the switch."""
    api.post("/v1/holders", BODY, **key("k-dropped"))

    with override_settings(LCRYPTO_HASH_SECRET_KEY=NEW_HASH_KEY):
        retry = api.post("/v1/holders", BODY, **key("k-dropped"))

    assert retry.json()["code"] == "CRM-0909"
    assert Holder.objects.count() == 1


def test_hard_delete_of_a_holder_erases_its_idempotency_records(api):
    first = api.post("/v1/holders", BODY, **key("k-erase")).json()
    api.patch(f"/v1/holders/{first['id']}", {"name": "Joana Patch"}, **key("k-erase-patch"))
    other = api.post("/v1/holders", {**BODY, "document": "11144477735"}, **key("k-keep"))
    assert IdempotencyRecord.objects.count() == 3

    assert api.delete(f"/v1/holders/{first['id']}?hard_delete=true").status_code == 204

    remaining = IdempotencyRecord.objects.values_list("object_id", flat=True)
    assert [str(object_id) for object_id in remaining] == [other.json()["id"]]
    again = api.post("/v1/holders", BODY, **key("k-erase"))
    assert (again.status_code, replayed(again)) == (201, "false")
    assert again.json()["id"] != first["id"]


def test_erasing_a_holder_erases_the_records_of_its_aliases(api):
    holder = HolderFactory()
    base = f"/v1/holders/{holder.id}/aliases"
    alias = api.post(base, {"ledgerId": str(ORG_B), "accountId": str(ORG_A)}, **key("k-alias"))
    alias_id = alias.json()["id"]
    api.patch(f"{base}/{alias_id}", {"relatedParties": [PARTY]}, **key("k-party"))
    assert IdempotencyRecord.objects.filter(object_kind="alias").count() == 2

    api.delete(f"{base}/{alias_id}")  # soft: a holder with live aliases cannot be deleted
    assert api.delete(f"/v1/holders/{holder.id}?hard_delete=true").status_code == 204

    assert not IdempotencyRecord.objects.exists()


# --- Concurrency --------------------------------------------------------------------------------

THREADS = 20


@pytest.mark.django_db(transaction=True)
def test_twenty_parallel_retries_of_one_key_create_one_row():
    barrier = threading.Barrier(THREADS)
    results: list[tuple[int, bytes, str | None]] = []
    lock = threading.Lock()

    def post() -> None:
        client = OrgClient(ORG_A)
        barrier.wait()
        try:
            response = client.post("/v1/holders", BODY, **key("k-parallel"))
            with lock:
                results.append((response.status_code, response.content, replayed(response)))
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(results) == THREADS
    assert Holder.objects.count() == 1
    assert IdempotencyRecord.objects.count() == 1
    created = [content for status, content, flag in results if flag == "false"]
    assert len(created) == 1 and {status for status, _, flag in results if flag} == {201}
    assert {content for status, content, _ in results if status == 201} == set(created)
    busy = [json.loads(content) for status, content, _ in results if status != 201]
    assert all(error["code"] == "CRM-0910" for error in busy), busy

    # Settled: every further retry is a replay of the one 201.
    retry = OrgClient(ORG_A).post("/v1/holders", BODY, **key("k-parallel"))
    assert (retry.status_code, retry.content) == (201, created[0])


# --- Reservations whose request died with its database session ----------------------------------
# After a failover the reservation is on the new primary but its session is not; after a crash
# and restart, or a killed worker, the session is gone as well (docs/high-availability.md).


def test_a_claim_records_the_session_that_made_it(api, monkeypatch):
    from crm.db.sessions import session_id

    create = holder_services.holder_create
    seen: list[str] = []

    def record_session(**kwargs):
        seen.append(IdempotencyRecord.objects.get().session)  # while the request runs
        return create(**kwargs)

    monkeypatch.setattr(holder_services, "holder_create", record_session)
    assert api.post("/v1/holders", BODY, **key("k-session")).status_code == 201

    assert seen == [session_id(connection)]
    if connection.vendor == "postgresql":
        run, pid = seen[0].split("/")
        assert float(run) > 0 and int(pid) == connection.connection.info.backend_pid
    else:
        assert seen == [""]  # SQLite: no server sessions; the timeout alone frees a key


@pytest.mark.postgresql
@pytest.mark.parametrize(
    "gone",
    ["a session that ended", "a session of an earlier run of the server"],
)
def test_a_reservation_whose_session_is_gone_is_taken_over_at_once(api, gone):
    from crm.db.sessions import session_id

    run, pid = session_id(connection).split("/")
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(pid), 0) + 100000 FROM pg_stat_activity")
        unused_pid = cursor.fetchone()[0]
    dead = f"{run}/{unused_pid}" if gone == "a session that ended" else f"{float(run) - 60}/{pid}"
    in_progress_record(ORG_A, "k-died", "POST", "/v1/holders", BODY, session=dead)

    response = api.post("/v1/holders", BODY, **key("k-died"))

    assert (response.status_code, replayed(response)) == (201, "false")
    record = IdempotencyRecord.objects.get()
    assert record.state == IdempotencyRecord.State.COMPLETED
    assert record.session == session_id(connection)
    assert Holder.objects.count() == 1


@pytest.mark.postgresql
def test_a_reservation_whose_session_lives_is_409_until_the_timeout(api):
    from crm.db.sessions import session_id

    in_progress_record(
        ORG_A, "k-alive", "POST", "/v1/holders", BODY, session=session_id(connection)
    )

    response = api.post("/v1/holders", BODY, **key("k-alive"))

    assert (response.status_code, response.json()["code"]) == (409, "CRM-0910")
    assert not Holder.objects.exists()
