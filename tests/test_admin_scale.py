"""The admin's list pages cost one page of rows, whatever the table size (issue 11 item 1):
counts are bounded or estimated, no filter lists its choices with a `DISTINCT` over a table,
the organization filter is a loose index scan, SQLite keeps its statistics fresh."""

import re
import sqlite3
import uuid

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from aliases.models import AliasAccount
from crm.admin.counting import EstimatedCountPaginator
from crm.admin.lists import present_organizations
from crm.admin.searching import SEARCH_LIMIT
from crm.db.sqlite.base import DatabaseWrapper as SQLiteWrapper
from crm.models import AuditEntry
from holders.models import Holder
from tests.conftest import ORG_A, ORG_B
from tests.factories import AliasFactory, HolderFactory

ORG_C = uuid.UUID("0196a3f4-1c2b-7cde-8f00-00000000000c")
REGISTRY = ("holders_holder", "aliases_aliasaccount", "crm_auditentry")
PAGES = [
    reverse("admin:holders_holder_changelist"),
    reverse("admin:holders_holder_changelist") + "?q=Silva",
    reverse("admin:holders_holder_changelist") + "?type=NATURAL_PERSON&state=all",
    reverse("admin:aliases_aliasaccount_changelist"),
    reverse("admin:aliases_aliasaccount_changelist") + f"?organization={ORG_A}",
    reverse("admin:crm_auditentry_changelist"),
    reverse("admin:crm_auditentry_changelist") + "?actor_type=staff",
]


@pytest.fixture
def boss_client(client, db):
    client.force_login(User.objects.create_superuser("boss", "boss@example.com", "pw"))
    return client


@pytest.fixture
def registry(db):
    for org in (ORG_A, ORG_B, ORG_C):
        AliasFactory(organization_id=org)
    HolderFactory(organization_id=ORG_A, name="Ana Silva")


def table_queries(queries) -> list[str]:
    return [q["sql"] for q in queries if any(table in q["sql"] for table in REGISTRY)]


@pytest.fixture
def two_per_page(monkeypatch):
    """Pages of two rows, so that the small fixture spans several pages."""
    from django.contrib import admin

    for model in (Holder, AliasAccount, AuditEntry):
        monkeypatch.setattr(admin.site.get_model_admin(model), "list_per_page", 2)
        monkeypatch.setattr(admin.site.get_model_admin(model), "list_max_show_all", 2)


@pytest.mark.parametrize("url", PAGES)
def test_admin_changelist_reads_no_more_than_a_page(boss_client, registry, two_per_page, url):
    with CaptureQueriesContext(connection) as queries:
        response = boss_client.get(url)
    assert response.status_code == 200
    changelist = response.context["cl"]
    sql = table_queries(queries.captured_queries)
    assert sql
    for statement in sql:
        upper = statement.upper()
        assert "SELECT DISTINCT" not in upper, statement
        if "COUNT(" in upper:
            # A bounded count: COUNT(*) over a LIMITed subquery, never the whole selection
            # (or, for the deleted-matches hint, over the ids its bounded scan found).
            assert re.search(r"LIMIT \d+", upper) or '"ID" IN (' in upper, statement
        elif upper.lstrip().startswith("SELECT") and "WITH RECURSIVE" not in upper:
            limits = [int(n) for n in re.findall(r"LIMIT (\d+)", upper)]
            if limits == [SEARCH_LIMIT + 1] and re.match(
                r'\s*SELECT "\w+"\."(\w+_)?ID"( AS "\w+")? FROM', upper
            ):
                continue  # a search arm (crm.admin.searching): ids only, nothing decrypted
            assert all(n <= 2 for n in limits), statement
            # A read by primary key of the page's own records (their names) is bounded too.
            if not limits and not re.search(r'_(holder|aliasaccount)"\."id" IN \(', statement):
                # Unpaged only when the count says the whole selection fits on the page.
                assert changelist.result_count <= 2, statement
    assert len(changelist.result_list) <= 2


def test_admin_changelists_offer_no_facet_counts(boss_client, registry):
    response = boss_client.get(reverse("admin:holders_holder_changelist"))
    assert "_facets" not in response.text
    assert (
        boss_client.get(reverse("admin:holders_holder_changelist") + "?_facets=True").status_code
        == 200
    )


def test_present_organizations_jumps_through_the_index(registry):
    assert present_organizations(Holder) == sorted([ORG_A, ORG_B, ORG_C], key=str)
    assert present_organizations(AliasAccount) == sorted([ORG_A, ORG_B, ORG_C], key=str)
    with CaptureQueriesContext(connection) as queries:
        present_organizations(Holder)
    assert len(queries) == 1
    assert "WITH RECURSIVE" in queries[0]["sql"]
    assert "DISTINCT" not in queries[0]["sql"].upper()


def test_paginator_counts_exactly_below_the_limit(registry):
    paginator = EstimatedCountPaginator(Holder.all_objects.order_by("id"), 2)
    assert paginator.count == 4
    assert paginator.estimate == ""
    assert paginator.num_pages == 2


def _fresh_statistics() -> None:
    """PostgreSQL: the planner's row estimate of the holders table becomes its exact size (4
    rows, all sampled), so the estimate below is known; without it the estimate depends on
    whatever statistics the table last had. SQLite gives no estimates."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE holders_holder")


def test_paginator_estimates_beyond_the_limit(registry, monkeypatch):
    monkeypatch.setattr(EstimatedCountPaginator, "exact_limit", 2)
    _fresh_statistics()
    paginator = EstimatedCountPaginator(Holder.all_objects.order_by("id"), 2)
    with CaptureQueriesContext(connection) as queries:
        count = paginator.count
    assert "LIMIT 3" in queries[0]["sql"].upper()
    if connection.vendor == "postgresql":
        # The planner's estimate of the query (an EXPLAIN, nothing read): the 4 holders.
        assert (paginator.estimate, count) == ("about", 4)
        assert [q["sql"].split(" ", 1)[0] for q in queries.captured_queries] == [
            "SELECT",
            "EXPLAIN",
        ]
    else:
        # No estimate: the count stopped at the limit and says so.
        assert (paginator.estimate, count) == ("more than", 2)
        assert len(queries.captured_queries) == 1
    assert len(paginator.page(1).object_list) == 2


def test_changelist_says_more_than_when_counting_stopped(boss_client, registry, monkeypatch):
    monkeypatch.setattr(EstimatedCountPaginator, "exact_limit", 2)
    _fresh_statistics()
    response = boss_client.get(reverse("admin:holders_holder_changelist") + "?state=all")
    text = re.sub(r"\s+", " ", response.text)
    expected = "about 4 holders" if connection.vendor == "postgresql" else "more than 2 holders"
    assert expected in text


def test_sqlite_connections_analyse_what_they_used_as_they_close(db, tmp_path):
    """`crm.db.sqlite` runs `PRAGMA optimize` on close: a table queried through an index that
    has no statistics gets them."""
    path = tmp_path / "optimize.sqlite3"
    raw = sqlite3.connect(path)
    raw.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, org TEXT, v TEXT)")
    raw.execute("CREATE INDEX t_org ON t (org, id)")
    raw.executemany(
        "INSERT INTO t (org, v) VALUES (?, ?)", [(f"o{i % 7}", "x") for i in range(3000)]
    )
    raw.commit()
    raw.close()
    wrapper = SQLiteWrapper(
        {
            "NAME": str(path),
            "ENGINE": "crm.db.sqlite",
            "OPTIONS": {},
            "TIME_ZONE": None,
            "CONN_MAX_AGE": 0,
            "CONN_HEALTH_CHECKS": False,
            "AUTOCOMMIT": True,
            "ATOMIC_REQUESTS": False,
            "USER": "",
            "PASSWORD": "",
            "HOST": "",
            "PORT": "",
            "TEST": {},
        },
        alias="optimize-test",
    )
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT id FROM t WHERE org = %s ORDER BY id LIMIT 5", ["o3"])
        cursor.fetchall()
    wrapper.close()
    check = sqlite3.connect(path)
    stats = check.execute("SELECT tbl, idx FROM sqlite_stat1").fetchall()
    check.close()
    assert ("t", "t_org") in stats


def test_any_of_finds_exactly_the_listed_ids(db):
    """`id__any_of` (crm.db.rows.AnyOf): one array parameter on PostgreSQL, `IN (...)` elsewhere."""
    holders = [HolderFactory(organization_id=ORG_A) for _ in range(3)]
    wanted = [holders[0].pk, holders[2].pk]
    assert set(Holder.all_objects.filter(id__any_of=wanted).values_list("id", flat=True)) == set(
        wanted
    )
    assert not Holder.all_objects.filter(id__any_of=[]).exists()
    with CaptureQueriesContext(connection) as queries:
        list(Holder.all_objects.filter(id__any_of=wanted))
    sql = queries.captured_queries[-1]["sql"]
    assert ("= ANY(" in sql) if connection.vendor == "postgresql" else (" IN (" in sql)
