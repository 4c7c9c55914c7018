"""`crm.lifecycle.create` outside a transaction (as the API calls it): on PostgreSQL the
holder, its index rows and its audit entry are one statement sent alone, atomic by itself;
a refused create writes nothing and leaves the connection usable."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm.models import AuditEntry
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


def test_a_refused_create_writes_nothing_and_the_connection_goes_on(api):
    assert api.post("/v1/holders", BODY).status_code == 201
    counts = (HolderNameToken.objects.count(), HolderMetadataPair.objects.count())
    response = api.post("/v1/holders", {**BODY, "name": "Outro Nome Qualquer"})
    assert response.status_code == 409
    assert response.json()["code"] == "CRM-0010"
    assert Holder.objects.count() == 1
    assert (HolderNameToken.objects.count(), HolderMetadataPair.objects.count()) == counts
    assert AuditEntry.objects.filter(action="create").count() == 1
    assert api.post("/v1/holders", {**BODY, "document": "11144477735"}).status_code == 201
