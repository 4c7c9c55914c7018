"""Every list filter, lookup and admin search is index-backed (docs/api.md §11, issue 10 item 4).

The tables are filled with tens of thousands of rows (bulk, then `ANALYZE`, as the post-migrate
hook and the runbook do), so the planner prefers indexes where they exist; then every query the
API and the admin run is EXPLAINed exactly as they build it (`PagePagination.page_queryset`,
`ModelAdmin.get_search_results`):

* PostgreSQL: `EXPLAIN (ANALYZE, FORMAT JSON)`; no `Seq Scan` on holders, aliases or related
  parties, no node that removes more than a page's worth of rows by a filter, and keyset pages
  that read no more than their page.
* SQLite: `EXPLAIN QUERY PLAN`; every registry table is reached by SEARCH through an index (never
  a SCAN of the table) and pages are never sorted in a temporary b-tree.
"""

import json
import uuid
from datetime import UTC, datetime

from django.contrib import admin
from django.db import connection
from django.http import QueryDict
from django.test import RequestFactory

from aliases.filtersets import AliasFilterSet
from aliases.models import (
    BANKING_ACCOUNT_FIELD,
    BANKING_IBAN_FIELD,
    PARTICIPANT_DOCUMENT_FIELD,
    RELATED_PARTY_DOCUMENT_FIELD,
    AliasAccount,
    AliasMetadataPair,
    RelatedParty,
)
from aliases.models import (
    DOCUMENT_FIELD as ALIAS_DOCUMENT_FIELD,
)
from aliases.selectors import alias_list, alias_queryset
from crm.admin.searching import SEARCH_LIMIT, Arm
from crm.api.filters import apply_filters
from crm.api.pagination import PagePagination, encode_cursor
from crm.crypto.metadata_index import metadata_pair_values
from crm.crypto.search import canonical_email, canonical_phone, search_hash
from crm.db.statistics import refresh_statistics, registry_tables
from crm.ids import uuid7
from holders.filtersets import HolderFilterSet
from holders.models import (
    DOCUMENT_FIELD,
    EMAIL_FIELD,
    NAME_PREFIX_FIELD,
    PHONE_FIELD,
    Holder,
    HolderMetadataPair,
    HolderNameToken,
    name_token,
)
from holders.selectors import holder_queryset

ORG = uuid.UUID("0196a3f4-1c2b-7cde-8f00-0000000000c1")
OTHER_ORG = uuid.UUID("0196a3f4-1c2b-7cde-8f00-0000000000c2")
REGISTRY_TABLES = {
    "holders_holder",
    "holders_holdernametoken",
    "aliases_aliasaccount",
    "aliases_relatedparty",
    "holders_holdermetadatapair",
    "aliases_aliasmetadatapair",
}
PAGE = 10  # the page size of every query below
PAGE_WORTH = 100  # MAX_PAGINATION_LIMIT: no node may filter away more rows than a full page
DOCUMENT = "123.456.789-09"
ACCOUNT = "55555-5"
BRANCH = "br0"  # the target row's (`load_registry`: "br" + i % 100, target 1000)
IBAN = "BR15 0000 0000 0000 1093 2840 814P2"
PARTICIPANT = "11.222.333/0001-81"
PARTY_DOCUMENT = "987.654.321-00"
NAME_WORD = "Quixotinha"
NAME_PREFIX = "quixo"
# A word one holder in ten has (as "Silva" in a Brazilian bank): at 20,000 holders, more
# matches than a search looks at (`crm.admin.searching.SEARCH_LIMIT`).
COMMON_WORD = "Silvestre"
EMAIL = "Quixotinha@Example.com"
PHONE = "+55 (11) 98765-4321"


def email_hash(org) -> str:
    return search_hash(org, EMAIL_FIELD, EMAIL, form=canonical_email)


def phone_hash(org) -> str:
    return search_hash(org, PHONE_FIELD, PHONE, form=canonical_phone)


def _hex(i: int, salt: str) -> str:
    """A 64-hex-digit stand-in for a search hash nobody searches for."""
    return uuid.uuid5(uuid.NAMESPACE_OID, f"{salt}{i}").hex * 2


def common_token(org: uuid.UUID) -> int:
    return name_token(search_hash(org, NAME_PREFIX_FIELD, COMMON_WORD.lower()))


def load_registry(holders: int, *, target: int) -> dict:
    """Bulk-load `holders` holders (80% of them in ORG, the rest in OTHER_ORG), one alias each,
    a related party for every other alias and two name words per holder, then ANALYZE.
    Row `target` (in ORG) carries the real search hashes of the constants above; the returned
    dict names the target rows. PostgreSQL: the same rows, generated in SQL (seconds faster)."""
    if connection.vendor == "postgresql":
        return _load_postgresql(holders, target=target)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    holder_rows, token_rows, alias_rows, party_rows = [], [], [], []
    found = {}
    for i in range(holders):
        org = OTHER_ORG if i % 5 == 4 else ORG
        hit = i == target
        holder = Holder(
            id=uuid7(),
            organization_id=org,
            created_at=now,
            updated_at=now,
            deleted_at=now if i % 50 == 7 else None,
            external_id=f"ext-{i}",
            type="NATURAL_PERSON",
            name="",
            document="",
            document_hash=search_hash(org, DOCUMENT_FIELD, DOCUMENT) if hit else _hex(i, "d"),
            email_hash=email_hash(org) if hit else (_hex(i, "e") if i % 3 else None),
            phone_hash=phone_hash(org) if hit else (_hex(i, "m") if i % 4 else None),
            # segment: 20% each; branch: 0.2% each; rare: one holder.
            metadata={"segment": f"s{i % 5}", "branch": f"b{i % 500}", "k": "v"}
            | ({"rare": "yes"} if hit else {}),
        )
        holder_rows.append(holder)
        for word in ("w1", "w2", "w3"):
            token_rows.append(
                HolderNameToken(
                    holder=holder,
                    organization_id=org,
                    token_hash=(
                        name_token(search_hash(org, NAME_PREFIX_FIELD, NAME_WORD.lower()))
                        if hit and word == "w1"
                        else name_token(search_hash(org, NAME_PREFIX_FIELD, NAME_PREFIX))
                        if hit and word == "w3"
                        else common_token(org)
                        if word == "w2" and (i % 10 == 0 or hit)
                        else name_token(_hex(i, word))
                    ),
                )
            )
        alias = AliasAccount(
            id=uuid7(),
            organization_id=org,
            created_at=now,
            updated_at=now,
            deleted_at=holder.deleted_at,
            holder=holder,
            ledger_id=f"ledger-{i % 20}",
            account_id=f"acc-{i}",
            type="NATURAL_PERSON",
            document="",
            document_hash=(
                search_hash(org, ALIAS_DOCUMENT_FIELD, DOCUMENT) if hit else _hex(i, "ad")
            ),
            banking_branch=f"br{i % 100}",
            banking_account_hash=(
                search_hash(org, BANKING_ACCOUNT_FIELD, ACCOUNT) if hit else _hex(i, "ba")
            ),
            banking_iban_hash=search_hash(org, BANKING_IBAN_FIELD, IBAN) if hit else _hex(i, "bi"),
            participant_document_hash=(
                search_hash(org, PARTICIPANT_DOCUMENT_FIELD, PARTICIPANT)
                if hit
                else (_hex(i, "p") if i % 3 == 0 else None)
            ),
            metadata={"segment": f"s{i % 5}", "branch": f"b{i % 500}"},
        )
        alias_rows.append(alias)
        if i % 2 == 0 or hit:
            party_rows.append(
                RelatedParty(
                    alias=alias,
                    organization_id=org,
                    document="",
                    document_hash=(
                        search_hash(org, RELATED_PARTY_DOCUMENT_FIELD, PARTY_DOCUMENT)
                        if hit
                        else _hex(i, "r")
                    ),
                    name="P",
                    role=["PRIMARY_HOLDER", "LEGAL_REPRESENTATIVE", "RESPONSIBLE_PARTY"][i % 3],
                    start_date=now.date(),
                )
            )
        if hit:
            found = {"holder": holder, "alias": alias}
    Holder.all_objects.bulk_create(holder_rows, batch_size=2000)
    HolderNameToken.objects.bulk_create(token_rows, batch_size=2000)
    AliasAccount.all_objects.bulk_create(alias_rows, batch_size=2000)
    RelatedParty.objects.bulk_create(party_rows, batch_size=2000)
    for pair_model, records in ((HolderMetadataPair, holder_rows), (AliasMetadataPair, alias_rows)):
        pair_model.objects.bulk_create(
            (pair_model(**values) for record in records for values in metadata_pair_values(record)),
            batch_size=2000,
        )
    refresh_statistics()  # what `migrate` and the runbook do after a bulk change
    found["ids"] = [h.id for h in holder_rows if h.organization_id == ORG]
    return found


_PG_LOAD = [
    # Holders: ids time-ordered like UUIDv7 (48-bit "milliseconds", version 7, variant 8).
    """
    INSERT INTO holders_holder (id, organization_id, created_at, updated_at, deleted_at,
        external_id, type, name, document, document_hash, email_hash, phone_hash, metadata)
    SELECT (lpad(to_hex(1900000000000 + i), 12, '0') || '7' || substr(h, 1, 3) || '8'
            || substr(h, 4, 15))::uuid,
        CASE WHEN i %% 5 = 4 THEN %(other)s::uuid ELSE %(org)s::uuid END, now(), now(),
        CASE WHEN i %% 50 = 7 THEN now() END, 'ext-' || i, 'NATURAL_PERSON', '\\x00'::bytea,
        '\\x00'::bytea, CASE WHEN i = %(target)s THEN %(document)s ELSE h || h END,
        CASE WHEN i = %(target)s THEN %(email)s WHEN i %% 3 > 0 THEN md5('e' || h) || h END,
        CASE WHEN i = %(target)s THEN %(phone)s WHEN i %% 4 > 0 THEN md5('m' || h) || h END,
        jsonb_build_object('segment', 's' || i %% 5, 'branch', 'b' || i %% 500, 'k', 'v')
            || CASE WHEN i = %(target)s THEN '{"rare": "yes"}' ELSE '{}' END::jsonb
    FROM (SELECT i, md5('h' || i) AS h FROM generate_series(0, %(n)s - 1) AS i) AS s
    """,
    """
    INSERT INTO holders_holdernametoken (organization_id, token_hash, holder_id)
    SELECT organization_id, CASE
        WHEN w = 'w1' AND external_id = 'ext-' || %(target)s THEN %(word)s
        WHEN w = 'w3' AND external_id = 'ext-' || %(target)s THEN %(prefix)s
        WHEN w = 'w2' AND (substr(external_id, 5)::int %% 10 = 0
                           OR external_id = 'ext-' || %(target)s) THEN
            CASE WHEN organization_id = %(org)s::uuid THEN %(common)s ELSE %(common_other)s END
        ELSE ('x' || substr(md5(w || id::text), 1, 16))::bit(64)::bigint END, id
    FROM holders_holder, (VALUES ('w1'), ('w2'), ('w3')) AS v(w)
    """,
    """
    INSERT INTO aliases_aliasaccount (id, organization_id, created_at, updated_at, deleted_at,
        holder_id, ledger_id, account_id, type, document, document_hash, banking_branch,
        banking_account_hash, banking_iban_hash, participant_document_hash, metadata)
    SELECT (lpad(to_hex(1950000000000 + i), 12, '0') || '7' || substr(h, 1, 3) || '8'
            || substr(h, 4, 15))::uuid,
        organization_id, now(), now(), deleted_at, id, 'ledger-' || i %% 20, 'acc-' || i,
        'NATURAL_PERSON', '\\x00'::bytea,
        CASE WHEN i = %(target)s THEN %(alias_document)s ELSE h || md5('d' || h) END,
        'br' || i %% 100,
        CASE WHEN i = %(target)s THEN %(account)s ELSE h || md5('a' || h) END,
        CASE WHEN i = %(target)s THEN %(iban)s ELSE h || md5('i' || h) END,
        CASE WHEN i = %(target)s THEN %(participant)s
             WHEN i %% 3 = 0 THEN h || md5('p' || h) END,
        jsonb_build_object('segment', 's' || i %% 5, 'branch', 'b' || i %% 500)
    FROM (SELECT *, substr(external_id, 5)::int AS i, md5('a' || external_id) AS h
          FROM holders_holder) AS s
    """,
    """
    INSERT INTO aliases_relatedparty (id, organization_id, alias_id, document, document_hash,
        name, role, start_date)
    SELECT (lpad(to_hex(1980000000000 + i), 12, '0') || '7' || substr(h, 1, 3) || '8'
            || substr(h, 4, 15))::uuid,
        organization_id, id, '\\x00'::bytea,
        CASE WHEN i = %(target)s THEN %(party)s ELSE h || md5('r' || h) END, 'P',
        (ARRAY['PRIMARY_HOLDER', 'LEGAL_REPRESENTATIVE', 'RESPONSIBLE_PARTY'])[i %% 3 + 1],
        '2026-01-01'
    FROM (SELECT *, substr(account_id, 5)::int AS i, md5('r' || account_id) AS h
          FROM aliases_aliasaccount) AS s
    WHERE i %% 2 = 0 OR i = %(target)s
    """,
    *(
        f"""
    INSERT INTO {table} (organization_id, pair_hash, {fk})
    SELECT organization_id, encode(sha256(
            convert_to(organization_id::text, 'UTF8') || '\\x00'::bytea
            || convert_to(pair.key, 'UTF8') || '\\x00'::bytea || convert_to(pair.value, 'UTF8')
        ), 'hex'), id
    FROM {source}, jsonb_each_text(metadata) AS pair
    """
        for table, fk, source in (
            ("holders_holdermetadatapair", "holder_id", "holders_holder"),
            ("aliases_aliasmetadatapair", "alias_id", "aliases_aliasaccount"),
        )
    ),
]


def _load_postgresql(holders: int, *, target: int) -> dict:
    assert target % 5 != 4, "the target row belongs to ORG"
    params = {
        "n": holders,
        "target": target,
        "org": str(ORG),
        "other": str(OTHER_ORG),
        "document": search_hash(ORG, DOCUMENT_FIELD, DOCUMENT),
        "word": name_token(search_hash(ORG, NAME_PREFIX_FIELD, NAME_WORD.lower())),
        "prefix": name_token(search_hash(ORG, NAME_PREFIX_FIELD, NAME_PREFIX)),
        "common": common_token(ORG),
        "common_other": common_token(OTHER_ORG),
        "email": email_hash(ORG),
        "phone": phone_hash(ORG),
        "alias_document": search_hash(ORG, ALIAS_DOCUMENT_FIELD, DOCUMENT),
        "account": search_hash(ORG, BANKING_ACCOUNT_FIELD, ACCOUNT),
        "iban": search_hash(ORG, BANKING_IBAN_FIELD, IBAN),
        "participant": search_hash(ORG, PARTICIPANT_DOCUMENT_FIELD, PARTICIPANT),
        "party": search_hash(ORG, RELATED_PARTY_DOCUMENT_FIELD, PARTY_DOCUMENT),
    }
    with connection.cursor() as cursor:
        # A bulk load, not a request: no server statement bound and no client deadline (a
        # busy machine takes longer than a request's bounds to write 20,000 rows).
        cursor.execute("SET LOCAL statement_timeout = 0")
        with connection.connection.deadline(None):
            for sql in _PG_LOAD:
                cursor.execute(sql, params)
    refresh_statistics()  # what `migrate` and the runbook do after a bulk change
    columns = ("id", "organization_id")
    return {
        "holder": Holder.all_objects.only(*columns).get(external_id=f"ext-{target}"),
        "alias": AliasAccount.all_objects.only(*columns).get(account_id=f"acc-{target}"),
        "ids": list(
            Holder.all_objects.filter(organization_id=ORG)
            .order_by("id")
            .values_list("id", flat=True)
        ),
    }


# --- the queries, built as the API and the admin build them -----------------------------------


def query(filters: dict | None, page_params: dict) -> QueryDict:
    """One request's query string: filters and page parameters together, as the API passes
    `request.query_params` to both the FilterSet and the pagination."""
    params = QueryDict(mutable=True)
    params.update({"limit": str(PAGE), **(filters or {})})
    params.update({k: str(v) for k, v in page_params.items()})
    return params


def page(queryset, **params):
    return PagePagination().page_queryset(queryset, query(None, params))


def holders(filters: dict | None = None, include_deleted=False, **page_params):
    params = query(filters, page_params)
    # What the list endpoint runs: the view set's queryset through its `filterset_class`
    # (`crm.api.filters.RegistryFilterBackend` calls `apply_filters`).
    base = holder_queryset(organization_id=ORG, include_deleted=include_deleted)
    qs = apply_filters(HolderFilterSet, params, base, organization_id=ORG)
    return PagePagination().page_queryset(qs, params)


def aliases(filters: dict | None = None, include_deleted=False, **page_params):
    params = query(filters, page_params)
    base = alias_list(organization_id=ORG, include_deleted=include_deleted)
    qs = apply_filters(AliasFilterSet, params, base, organization_id=ORG)
    return PagePagination().page_queryset(qs, params)


def admin_search(name: str, model, term: str, *, organization=True) -> dict:
    """The admin changelist's queries for a search (`crm.admin.searching`), with the
    organization selected (or not: then the search hashes are computed for every organization
    present): each kind of match's bounded read of ids ("<name> arm N"), the page of the
    newest matches ("<name> page") and the deleted-matches hint's count among them."""
    model_admin = admin.site.get_model_admin(model)
    params = {"organization": str(ORG), "q": term} if organization else {"q": term}
    request = RequestFactory().get("/", params)
    arms = model_admin.search_arms(request, term)
    queryset = model_admin.get_queryset(request).live()
    if organization:
        queryset = queryset.filter(organization_id=ORG)
    queryset, _ = model_admin.get_search_results(request, queryset, term)
    ids = model_admin.search(request, term).ids
    assert ids, f"{name}: the search finds the target row"
    return {
        **{
            f"{name} arm {i}": (arm.rows if isinstance(arm, Arm) else arm)[: SEARCH_LIMIT + 1]
            for i, arm in enumerate(arms)
        },
        f"{name} page": queryset.order_by("-id")[:50],
        f"{name} deleted among the matches": model_admin.deletion_dates(ids),
    }


def cases(found: dict) -> dict:
    holder, alias = found["holder"], found["alias"]
    middle = found["ids"][len(found["ids"]) // 2]
    deep = {"cursor": encode_cursor(middle, True)}
    return {
        "holders page 1": holders(),
        "holders page 1 desc": holders(sort_order="desc"),
        "holders page 1 include_deleted": holders(include_deleted=True),
        "holders deep page (offset)": holders(page=500),
        "holders deep page (cursor)": holders(**deep),
        "holders deep page (cursor, backwards)": holders(
            cursor=encode_cursor(middle, False), sort_order="desc"
        ),
        "holders external_id": holders({"external_id": "ext-1000"}),
        "holders external_id, no match": holders({"external_id": "nobody"}),
        "holders document": holders({"document": DOCUMENT}),
        "holders document, include_deleted": holders({"document": DOCUMENT}, True),
        "holders metadata common": holders({"metadata.segment": "s1"}),
        "holders metadata common, deep (cursor)": holders({"metadata.segment": "s1"}, **deep),
        "holders metadata 0.2%": holders({"metadata.branch": "b42"}),
        "holders metadata 0.2%, deep (cursor)": holders({"metadata.branch": "b42"}, **deep),
        "holders metadata, one match": holders({"metadata.rare": "yes"}),
        "holders metadata, no match": holders({"metadata.segment": "none"}),
        # s4 exists only in the other organization: the planner must know that (per-organization
        # statistics), or it walks the whole organization looking for it.
        "holders metadata of another organization": holders({"metadata.segment": "s4"}),
        "holders metadata of another organization, two keys": holders(
            {"metadata.segment": "s4", "metadata.k": "v"}
        ),
        "aliases metadata of another organization": aliases({"metadata.segment": "s4"}),
        "holders two metadata filters": holders({"metadata.segment": "s0", "metadata.k": "v"}),
        "holder by id": holder_queryset(organization_id=ORG)
        .filter(id=holder.id)
        .order_by("pk")[:1],
        "aliases page 1": aliases(),
        "aliases deep page (cursor)": aliases(cursor=encode_cursor(alias.id, True)),
        "aliases holder_id": aliases({"holder_id": str(holder.id)}),
        "aliases account_id": aliases({"account_id": "acc-1000"}),
        "aliases ledger_id": aliases({"ledger_id": "ledger-3"}),
        "aliases ledger_id, deep (cursor)": aliases(
            {"ledger_id": "ledger-3"}, cursor=encode_cursor(alias.id, True)
        ),
        "aliases document": aliases({"document": DOCUMENT}),
        "aliases banking_details_branch": aliases({"banking_details_branch": "br8"}),
        "aliases banking_details_account": aliases({"banking_details_account": ACCOUNT}),
        "aliases banking_details_iban": aliases({"banking_details_iban": IBAN}),
        "aliases participant document": aliases(
            {"regulatory_fields_participant_document": PARTICIPANT}
        ),
        "aliases related_party_document": aliases({"related_party_document": PARTY_DOCUMENT}),
        "aliases related_party_role": aliases({"related_party_role": "LEGAL_REPRESENTATIVE"}),
        "aliases related_party_role, no match": aliases({"related_party_role": "NOBODY"}),
        "aliases metadata 0.2%": aliases({"metadata.branch": "b42"}),
        "aliases metadata common": aliases({"metadata.segment": "s3"}),
        "alias by id": alias_queryset(organization_id=ORG)
        .filter(id=alias.id, holder_id=holder.id)
        .order_by("pk")[:1],
        **admin_search("admin holder search by document", Holder, DOCUMENT),
        **admin_search("admin holder search by name word", Holder, NAME_WORD),
        **admin_search("admin holder search by external id", Holder, "ext-1000"),
        **admin_search("admin alias search by account", AliasAccount, ACCOUNT),
        **admin_search(
            "admin alias search by branch and account", AliasAccount, f"{BRANCH} {ACCOUNT}"
        ),
        **admin_search("admin holder search by bank account", Holder, ACCOUNT),
        **admin_search("admin holder search by branch and account", Holder, f"{BRANCH}/{ACCOUNT}"),
        **admin_search("admin alias search by account id", AliasAccount, "acc-1000"),
        **admin_search("admin holder search by name prefix", Holder, NAME_PREFIX.upper()),
        **admin_search(
            "admin holder search by name prefix and word", Holder, f"{NAME_PREFIX} {NAME_WORD}"
        ),
        **admin_search("admin holder search by e-mail", Holder, EMAIL.upper()),
        **admin_search("admin holder search by phone", Holder, PHONE),
        **admin_search(
            "admin holder search by document, every organization",
            Holder,
            DOCUMENT,
            organization=False,
        ),
        **admin_search(
            "admin holder search by name prefix, every organization",
            Holder,
            NAME_PREFIX,
            organization=False,
        ),
        **admin_search(
            "admin holder search by e-mail, every organization", Holder, EMAIL, organization=False
        ),
        **admin_search("admin holder search by alias account id", Holder, "acc-1000"),
        **admin_search("admin alias search by document", AliasAccount, DOCUMENT),
        **admin_search("admin alias search by IBAN", AliasAccount, IBAN),
        **admin_search("admin alias search by participant document", AliasAccount, PARTICIPANT),
        **admin_search(
            "admin alias search by related-party document", AliasAccount, PARTY_DOCUMENT
        ),
        **admin_search("admin alias search by holder id", AliasAccount, str(holder.id)),
        **admin_search(
            "admin alias search by account, every organization",
            AliasAccount,
            ACCOUNT,
            organization=False,
        ),
        **admin_search("admin holder search by a common name word", Holder, COMMON_WORD),
        **admin_search(
            "admin holder search by a common name word, every organization",
            Holder,
            COMMON_WORD,
            organization=False,
        ),
        **admin_search(
            "admin holder search by two name words, one of them common",
            Holder,
            f"{COMMON_WORD} {NAME_WORD}",
        ),
    }


# --- PostgreSQL: EXPLAIN (ANALYZE, FORMAT JSON) -------------------------------------------------


def explain(queryset) -> dict:
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", params)
        result = cursor.fetchone()[0]
    return (json.loads(result) if isinstance(result, str) else result)[0]


def nodes(plan: dict):
    yield plan
    for child in plan.get("Plans", []):
        yield from nodes(child)


def problems(
    plan: dict, *, keyset: bool, offset: bool = False, frequency: float | None = None
) -> list[str]:
    """What is wrong with a plan: a sequential scan of a registry table; a node that removes
    more than a page's worth of rows by a filter (unless the query skips rows by OFFSET, which
    costs what it skips, hence keyset pages); with `keyset`, a node that reads more rows than
    one page and its look-ahead row (twice over, for the related-party join). A metadata
    filter, or a plain filter on a common value, with `frequency` in the organization may
    instead walk the organization in id order until its page is full: about (page + 1) /
    frequency rows whatever the table size (the planner picks that walk or the index's
    matches, whichever is cheaper)."""
    allowed = PAGE_WORTH
    if frequency:
        allowed = max(PAGE_WORTH, 2 * (PAGE + 1) / frequency)
    found = []
    for node in nodes(plan["Plan"]):
        relation = node.get("Relation Name")
        label = f"{node['Node Type']} {relation or ''} {node.get('Index Name', '')}".strip()
        if node["Node Type"] == "Seq Scan" and relation in REGISTRY_TABLES:
            found.append(f"sequential scan: {label}")
        loops = node.get("Actual Loops", 1)
        removed = (
            node.get("Rows Removed by Filter", 0) + node.get("Rows Removed by Index Recheck", 0)
        ) * loops
        if removed > allowed and not offset:
            found.append(f"{label} removes {removed} rows by filter")
        if keyset and relation in REGISTRY_TABLES and node["Actual Rows"] * loops > 2 * PAGE + 2:
            found.append(f"{label} reads {node['Actual Rows'] * loops} rows for one page")
    return found


def reads_beyond(plan: dict, bound: int) -> list[str]:
    """The nodes of an admin search arm that read more than its bound (a search reads at most
    `SEARCH_LIMIT` + 1 ids per kind of match, and as many unique-index probes for the other
    words of the term), whatever the number of matches."""
    return [
        f"{node['Node Type']} {node.get('Index Name', '')} reads {rows} rows"
        for node in nodes(plan["Plan"])
        if (rows := node["Actual Rows"] * node.get("Actual Loops", 1)) > bound
    ]


def summary(plan: dict) -> str:
    return (
        " > ".join(
            f"{n['Node Type']}({n.get('Index Name') or n.get('Relation Name') or ''}"
            f" rows={n['Actual Rows']}x{n.get('Actual Loops', 1)}"
            f" removed={n.get('Rows Removed by Filter', 0)})"
            for n in nodes(plan["Plan"])
        )
        + f" {plan['Execution Time']:.2f} ms"
    )


# Queries that read only their page (plus the look-ahead row) whatever the table size: list
# pages, keyset pages, lookups and equality filters served by an (organization, value, id)
# index, and metadata filters served by the (organization, pair hash, record id) pair index
# (a common metadata value may instead be walked in id order: see FREQUENCY).
FLAT = (
    "page 1",
    "metadata",
    "(cursor",
    "external_id",
    "document",
    "by id",
    "account_id",
    "holder_id",
    "ledger_id",
    "banking_details",
    "participant",
)


# How often each (non-unique) value occurs among the organization's rows in `load_registry`:
# for these the planner may also walk the organization in id order when that is cheaper than
# the value's index (it is, for common values: about (page + 1) / frequency rows, whatever the
# table size).
FREQUENCY = {
    "metadata common": 0.25,
    "two metadata filters": 0.25,
    "ledger_id": 0.05,
    "banking_details_branch": 0.01,
    "related_party_role": 0.33,
}


def frequency(name: str) -> float | None:
    return next((f for marker, f in FREQUENCY.items() if marker in name), None)


def is_flat(name: str) -> bool:
    walks = ("metadata common", "two metadata filters")
    return not any(marker in name for marker in walks) and any(marker in name for marker in FLAT)


def postgresql_failures() -> dict[str, str]:
    found = load_registry(20_000, target=1000)
    failures = {}
    for name, queryset in cases(found).items():
        plan = explain(queryset)
        issues = problems(
            plan, keyset=is_flat(name), offset="(offset)" in name, frequency=frequency(name)
        )
        if " arm " in name:
            issues += reads_beyond(plan, 2 * (SEARCH_LIMIT + 1))
        if issues:
            failures[name] = f"{issues}\n    {summary(plan)}"
    return failures


# --- SQLite: EXPLAIN QUERY PLAN ----------------------------------------------------------------


def query_plan(queryset) -> list[str]:
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        return [row[-1] for row in cursor.fetchall()]


# Lookups of a (nearly) unique value: SQLite may sort their one or two rows rather than read
# them in index order, which costs nothing.
UNIQUE_LOOKUPS = (
    "external_id",
    "document",
    "account_id",
    "banking_details_account",
    "banking_details_iban",
    "participant",
    "by id",
    "admin",
)


def sqlite_problems(lines: list[str], *, may_sort: bool) -> list[str]:
    found = []
    for line in lines:
        words = line.split()
        if words[:1] == ["SCAN"] and words[1] in REGISTRY_TABLES:
            found.append(f"table scan: {line}")
        if "TEMP B-TREE" in line and "ORDER BY" in line and not may_sort:
            found.append(f"sorts the whole match: {line}")
    return found


def sqlite_failures() -> dict[str, str]:
    found = load_registry(5_000, target=1000)
    failures = {}
    for name, queryset in cases(found).items():
        lines = query_plan(queryset)
        # Metadata keys are not indexed on SQLite (JSON): the organization-first index gives
        # the order and the key is checked row by row, like the PostgreSQL walk above.
        # The name-token arm of a common word must read its newest matches in index order
        # (never sort them all to pick the newest); arms of unique values may sort their row,
        # and so may a rare word's arm that probes for a common one.
        common_arm = (
            "common name word" in name
            and " arm " in name
            and any("holders_holdernametoken" in line for line in lines)
        )
        issues = sqlite_problems(
            lines, may_sort=not common_arm and any(m in name for m in UNIQUE_LOOKUPS)
        )
        if issues:
            failures[name] = f"{issues}\n    {lines}"
    return failures


def test_every_list_filter_lookup_and_admin_search_is_index_backed(db):
    """On the database the suite runs on: EXPLAIN (ANALYZE) on PostgreSQL, EXPLAIN QUERY PLAN
    on SQLite; CI runs the suite on both."""
    failures = postgresql_failures() if connection.vendor == "postgresql" else sqlite_failures()
    assert not failures, "\n".join(f"{name}: {text}" for name, text in failures.items())


def test_migrate_leaves_fresh_statistics(db):
    """`migrate` ends with ANALYZE of the registry tables (the post-migrate hook), so the plans
    above hold right after a deploy or a bulk load followed by `migrate`."""
    from django.apps import apps
    from django.core.management.sql import emit_post_migrate_signal

    found = load_registry(50, target=3)  # analysed once here: now add rows behind its back
    holder_rows = [
        Holder(
            organization_id=ORG, type="NATURAL_PERSON", name="", document="", document_hash=str(i)
        )
        for i in range(30)
    ]
    Holder.all_objects.bulk_create(holder_rows)
    assert found["holder"].id

    emit_post_migrate_signal(verbosity=0, interactive=False, db="default", apps=apps, plan=[])

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT reltuples FROM pg_class WHERE relname = 'holders_holder'")
            assert cursor.fetchone()[0] == 80
            # And autovacuum analyses every registry table after 2% of its rows changed, not
            # PostgreSQL's 10%: a tenant grown through the API is known to the planner sooner
            # (`crm.db.statistics.ANALYZE_SCALE_FACTOR`).
            cursor.execute(
                "SELECT relname FROM pg_class WHERE relname = ANY(%s)"
                " AND NOT coalesce(reloptions, '{}') @> %s",
                [registry_tables(), ["autovacuum_analyze_scale_factor=0.02"]],
            )
            assert cursor.fetchall() == []
            assert len(registry_tables()) >= 6
        else:
            cursor.execute("SELECT stat FROM sqlite_stat1 WHERE tbl = 'holders_holder' LIMIT 1")
            assert int(cursor.fetchone()[0].split()[0]) == 80


# --- the admin's organization filter and changelist counts -------------------------------------


def test_admin_organization_filter_and_counts_read_an_index_not_the_table(db, monkeypatch):
    """The organization filter lists the organizations with a loose index scan (one probe per
    organization, never a DISTINCT over the table); a changelist counts at most
    `exact_limit` + 1 rows and estimates beyond (PostgreSQL: the planner's estimate)."""
    from crm.admin.counting import EstimatedCountPaginator
    from crm.admin.lists import organizations_query, present_organizations

    postgresql = connection.vendor == "postgresql"
    load_registry(20_000 if postgresql else 5_000, target=1000)
    assert present_organizations(Holder) == sorted([ORG, OTHER_ORG], key=str)
    for model in (Holder, AliasAccount):
        sql, params = organizations_query(model, connection)
        with connection.cursor() as cursor:
            if postgresql:
                cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", params)
                result = cursor.fetchone()[0]
                plan = (json.loads(result) if isinstance(result, str) else result)[0]
                scans = [n for n in nodes(plan["Plan"]) if n.get("Relation Name")]
                assert scans, summary(plan)
                for node in scans:
                    assert node["Node Type"] != "Seq Scan", summary(plan)
                    # One index probe per organization (and one past the last), one row each.
                    assert node["Actual Rows"] * node.get("Actual Loops", 1) <= 3, summary(plan)
            else:
                cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
                lines = [row[-1] for row in cursor.fetchall()]
                table_lines = [line for line in lines if model._meta.db_table in line]
                assert table_lines, lines
                assert all("INDEX" in line for line in table_lines), lines

    monkeypatch.setattr(EstimatedCountPaginator, "exact_limit", 1000)
    paginator = EstimatedCountPaginator(Holder.all_objects.live().order_by("-id"), 50)
    true_count = Holder.all_objects.live().count()
    if postgresql:
        assert paginator.count > 1000
        assert paginator.estimate == "about"
        assert 0.7 * true_count <= paginator.count <= 1.3 * true_count
    else:
        assert paginator.count == 1000
        assert paginator.estimate == "more than"

    # The dashboard's cells: a selection the planner expects to be large is not read at all.
    from django.test.utils import CaptureQueriesContext

    from crm.admin.counting import estimate_or_count

    with CaptureQueriesContext(connection) as queries:
        number, estimate = estimate_or_count(Holder.all_objects.live(), 100)
    if postgresql:
        assert estimate == "about"
        assert [q["sql"].split()[0] for q in queries.captured_queries] == ["EXPLAIN"]
        assert 0.7 * true_count <= number <= 1.3 * true_count
    else:
        assert (number, estimate) == (100, "more than")
