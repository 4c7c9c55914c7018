"""`crm.lifecycle.create` outside a transaction (as the API calls it): on PostgreSQL the
holder, its index rows, its audit entry and its version 1 are one statement sent alone, atomic
by itself; a refused create writes nothing and leaves the connection usable."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from aliases.models import AliasAccount, AliasMetadataPair, RelatedParty
from crm.models import AuditEntry, RecordVersion
from events.models import OutboxEvent
from holders.models import Holder, HolderMetadataPair, HolderNameToken
from tests.conftest import ORG_A, OrgClient

BODY = {
    "type": "NATURAL_PERSON",
    "name": "Joana Unica Declaracao",
    "document": "52998224725",
    "metadata": {"segment": "retail"},
}


@pytest.fixture
def api(transactional_db) -> OrgClient:
    return OrgClient(ORG_A)


def test_a_create_outside_a_transaction_is_one_statement_on_postgresql(api):
    with CaptureQueriesContext(connection) as captured:
        assert api.post("/v1/holders", BODY).status_code == 201
    statements = [query["sql"] for query in captured.captured_queries]
    if connection.vendor == "postgresql":
        assert len(statements) == 1  # no BEGIN, no COMMIT: the statement is the transaction
        assert statements[0].startswith("WITH")
    else:
        assert statements[0].startswith("BEGIN") and statements[-1] == "COMMIT"
    holder = Holder.objects.get()
    assert HolderNameToken.objects.filter(holder=holder).count() == len(holder.name_token_hashes())
    assert HolderMetadataPair.objects.filter(holder=holder).count() == 1
    assert AuditEntry.objects.filter(object_id=holder.id, action="create").count() == 1
    assert RecordVersion.objects.filter(object_id=holder.id, number=1).count() == 1


# psycopg keeps the parsed form of a statement of at most this many parameters and bytes
# and parses any other again on every call: 6% of a create's CPU when the holder create
# crossed it (docs/performance.md).
PARSED_ONCE_PARAMETERS, PARSED_ONCE_BYTES = 50, 4096


@pytest.mark.parametrize("events", [False, True], ids=["events off", "events on"])
def test_a_writes_statements_are_ones_the_driver_parses_once(api, settings, events):
    """A create of each kind and a change, with and without their change event (the outbox
    row made the holder create 62 parameters before its repeated ids and times were sent
    once, `crm.db.rows.shared_values`)."""
    settings.EVENTS_ENABLED = events
    executed = []

    def record(execute, sql, params, many, context):
        executed.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        holder_id = api.post("/v1/holders", BODY).json()["id"]
        patched = api.patch(f"/v1/holders/{holder_id}", {"name": "Joana Outra Declaracao"})
        alias = api.post(
            f"/v1/holders/{holder_id}/aliases",
            {"ledgerId": "ledger-1", "accountId": "account-1", "metadata": {"a": "b"}},
        )
    assert (patched.status_code, alias.status_code) == (200, 201)
    writes = [(sql, params) for sql, params in executed if params]
    if connection.vendor == "postgresql":
        assert len(writes) == 5  # the three writes and the two holder locks
    for sql, params in writes:
        assert len(params) <= PARSED_ONCE_PARAMETERS, sql
        assert len(sql.encode()) <= PARSED_ONCE_BYTES, sql
    assert OutboxEvent.objects.count() == (3 if events else 0)


def test_a_refused_create_writes_nothing_and_the_connection_goes_on(api):
    assert api.post("/v1/holders", BODY).status_code == 201
    counts = (HolderNameToken.objects.count(), HolderMetadataPair.objects.count())
    response = api.post("/v1/holders", {**BODY, "name": "Outro Nome Qualquer"})
    assert response.status_code == 409
    assert response.json()["code"] == "CRM-0010"
    assert Holder.objects.count() == 1
    assert (HolderNameToken.objects.count(), HolderMetadataPair.objects.count()) == counts
    assert AuditEntry.objects.filter(action="create").count() == 1
    assert RecordVersion.objects.count() == 1
    assert api.post("/v1/holders", {**BODY, "document": "11144477735"}).status_code == 201


def test_an_alias_create_writes_all_its_rows_in_one_insert(api):
    """The alias, its related parties, its metadata pairs, its audit entry and its version 1
    are one statement on PostgreSQL, one per table elsewhere (`alias_creation_rows`, the rows the
    importer writes too), and nothing else writes."""
    holder_id = api.post("/v1/holders", BODY).json()["id"]
    party = {"document": "11144477735", "name": "Rep", "role": "LEGAL_REPRESENTATIVE"}
    body = {
        "ledgerId": "ledger-1",
        "accountId": "account-1",
        "metadata": {"channel": "branch"},
        "relatedParties": [{**party, "startDate": "2024-01-01"}],
    }
    with CaptureQueriesContext(connection) as captured:
        response = api.post(f"/v1/holders/{holder_id}/aliases", body)
    assert response.status_code == 201, response.content
    writes = [
        query["sql"]
        for query in captured.captured_queries
        if query["sql"].startswith(("INSERT", "WITH", "UPDATE", "DELETE"))
    ]
    # alias, metadata pair, related party, audit entry, version
    assert len(writes) == (1 if connection.vendor == "postgresql" else 5)
    # Around them only the holder's read: no savepoint, and no read of the parties just
    # written for the response (it is the version's body, `body_as_written`). The holder's
    # lock and live check are part of the write on PostgreSQL (`crm.db.rows.Live`): the read
    # and the write, no BEGIN/COMMIT; elsewhere the check is a query of its own.
    others = [query["sql"] for query in captured.captured_queries if query["sql"] not in writes]
    assert not [sql for sql in others if "SAVEPOINT" in sql or "relatedparty" in sql], others
    selects = [sql for sql in others if sql.startswith("SELECT")]
    if connection.vendor == "postgresql":
        assert len(captured.captured_queries) == 2, others
        assert "FOR UPDATE" not in selects[0] and "FOR UPDATE" in writes[0]
    else:
        assert len(selects) == 2, others
    alias = AliasAccount.objects.get()
    assert RelatedParty.objects.filter(alias=alias).count() == 1
    assert AliasMetadataPair.objects.filter(alias=alias).count() == 1
    entry = AuditEntry.objects.get(object_id=alias.id, action="create")
    assert "relatedParties" in entry.changed_fields
    assert RecordVersion.objects.get(object_id=alias.id).body == response.json()
    # A second alias with the same account id is refused and writes nothing.
    assert api.post(f"/v1/holders/{holder_id}/aliases", body).json()["code"] == "CRM-0013"
    assert RelatedParty.objects.count() == 1
    assert AuditEntry.objects.filter(object_type="alias").count() == 1
