"""A PATCH costs the fewest round trips that keep its guarantees (docs/performance.md). On
PostgreSQL a holder's is two: the row read without a lock, then one statement that locks it,
checks it is still live at the version read, and writes everything the change writes — the
`UPDATE`, the derived index rows of the columns that changed, the audit entry, the version,
the change event (`crm.lifecycle.change`; tests/test_patch_races.py: what happens when the
holder changes in between). An alias's, which may write its related parties apart, is
`BEGIN`, the row locked and read in one `SELECT … FOR UPDATE` (and its related parties, which
its version's body lists), that one statement, and `COMMIT`. SQLite has no data-modifying
CTEs: one statement per part there, in a transaction with the row read first."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from aliases.models import AliasMetadataPair
from crm.models import AuditEntry, RecordVersion
from holders.models import HolderMetadataPair, HolderNameToken
from tests.conftest import ORG_A, OrgClient
from tests.factories import AliasFactory, HolderFactory


@pytest.fixture
def api(transactional_db) -> OrgClient:
    """Outside the test's own transaction, as a request runs: `BEGIN` and `COMMIT`, not a
    savepoint."""
    return OrgClient(ORG_A)


def _postgresql() -> bool:
    return connection.vendor == "postgresql"


def _patch(api, url, body, expected_queries):
    with CaptureQueriesContext(connection) as captured:
        response = api.patch(url, body)
    assert response.status_code == 200, response.content
    statements = [query["sql"] for query in captured.captured_queries]
    assert len(statements) == expected_queries, "\n".join(statements)
    return response, statements


@pytest.mark.parametrize(
    ("patch", "postgresql", "sqlite"),
    [
        ({"externalId": "ext-1"}, 2, 6),
        ({"metadata": {"touched": "1"}}, 2, 8),  # + the pairs' DELETE and INSERT
        ({"name": "Ana Maria Lima", "metadata": {"k": "v2"}}, 2, 10),  # + the tokens' too
    ],
)
def test_a_holder_patch_is_one_write_statement_on_postgresql(api, patch, postgresql, sqlite):
    holder = HolderFactory(name="Ana Lima", metadata={"k": "v"})
    tokens_before = set(HolderNameToken.objects.filter(holder=holder).values_list("token_hash"))

    _, statements = _patch(
        api, f"/v1/holders/{holder.id}", patch, postgresql if _postgresql() else sqlite
    )

    holder.refresh_from_db()
    if _postgresql():
        read, write = statements
        assert read.startswith("SELECT") and "FOR UPDATE" not in read
        assert write.startswith("WITH live AS MATERIALIZED (SELECT 1 FROM")
        assert '"version" = 1 FOR UPDATE)' in write  # the version the read found
        assert write.endswith("SELECT EXISTS (SELECT FROM live)")
    tokens = set(HolderNameToken.objects.filter(holder=holder).values_list("token_hash", flat=True))
    assert tokens == holder.name_token_hashes()
    if "name" not in patch:  # the index of a column the patch left alone is not touched
        assert not any("nametoken" in statement for statement in statements)
        assert {(token,) for token in tokens} == tokens_before
    assert HolderMetadataPair.objects.filter(holder=holder).count() == len(holder.metadata)
    assert AuditEntry.objects.filter(object_id=holder.id, action="update").count() == 1
    assert RecordVersion.objects.filter(object_id=holder.id, number=2).count() == 1


def test_a_patch_that_removes_the_metadata_removes_its_pairs(api):
    holder = HolderFactory(metadata={"a": "1", "b": "2"})
    assert api.patch(f"/v1/holders/{holder.id}", {"metadata": None}).status_code == 200
    assert not HolderMetadataPair.objects.filter(holder=holder).exists()


@pytest.mark.parametrize(
    ("patch", "postgresql", "sqlite"),
    [
        ({"bankingDetails": {"branch": "0002"}}, 5, 7),
        ({"metadata": {"touched": "1"}}, 5, 9),
    ],
)
def test_an_alias_patch_is_one_write_statement_after_its_parties_read(
    api, patch, postgresql, sqlite
):
    alias = AliasFactory(metadata={"k": "v"})

    _patch(
        api,
        f"/v1/holders/{alias.holder_id}/aliases/{alias.id}",
        patch,
        postgresql if _postgresql() else sqlite,
    )

    alias.refresh_from_db()
    pairs = AliasMetadataPair.objects.filter(alias=alias).count()
    assert pairs == len(alias.metadata)
    assert RecordVersion.objects.filter(object_id=alias.id, number=2).count() == 1
