"""Back-office staff would choose (issue 11, part A): names staff recognise without leaking
them into logs, organization labels, admin-look error pages, an audit trail that means
something (no empty entries, one entry per change, reasons, document views), and finding
people by name prefix, e-mail and phone through blind indexes."""

import logging
import re
import uuid
from io import StringIO

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission, User
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from aliases.models import AliasAccount
from aliases.services import alias_update, related_party_remove
from crm.models import AuditEntry, Organization
from holders.models import Holder
from holders.services import holder_soft_delete, holder_update
from tests.conftest import ORG_A, ORG_B
from tests.factories import AliasFactory, HolderFactory
from tests.test_admin import CHANGELIST, change_url, form_data, listed_ids

ALIASES = reverse("admin:aliases_aliasaccount_changelist")


@pytest.fixture
def holder(db):
    return HolderFactory(
        name="Maria José da Conceição",
        document="12345678900",
        contact={"primaryEmail": "Maria.Silva@Example.com", "mobilePhone": "+55 11 91234-5678"},
        naturalPerson={"birthDate": "1980-01-02", "motherName": "Ana"},
        metadata={"segment": "retail"},
    )


@pytest.fixture
def alias(holder):
    return AliasFactory(
        holder=holder,
        accountId="acc-77",
        bankingDetails={"branch": "0001", "account": "12345-6", "openingDate": "2024-01-15"},
        relatedParties=[
            {
                "document": "98765432100",
                "name": "Rep",
                "role": "LEGAL_REPRESENTATIVE",
                "startDate": "2024-01-01",
            }
        ],
    )


def alias_url(alias) -> str:
    return reverse("admin:aliases_aliasaccount_change", args=[alias.pk])


def entries(obj, action=None):
    """The record's audit entries that still carry their body (an erasure clears the earlier
    ones to their frame: crm.lifecycle.chain.redact)."""
    found = AuditEntry.objects.filter(object_id=obj.pk, redacted=False).order_by("created_at", "id")
    return list(found.filter(action=action) if action else found)


# --- item 2: names staff recognise, logs free of them -------------------------------------------


def test_holder_page_heading_names_the_holder_with_a_masked_document(admin_client, holder):
    response = admin_client.get(change_url(holder))
    assert "Maria José da Conceição · ***.***.789-00" in response.text
    assert "12345678900" not in response.text  # the document stays masked until revealed
    assert str(holder) == f"Holder {holder.pk}"  # __str__ (logs, log entries) has no name


def test_holder_log_entries_and_logs_stay_free_of_personal_data(admin_client, holder, caplog):
    caplog.set_level(logging.DEBUG)
    data = form_data(admin_client.get(change_url(holder)))
    data["name"] = "Maria Nova"
    admin_client.post(change_url(holder), data)
    entry = LogEntry.objects.get(object_id=str(holder.pk))
    assert entry.object_repr == f"Holder {holder.pk}"
    assert "Maria" not in caplog.text and "Conceição" not in caplog.text


def test_alias_page_names_its_holder_and_links_back(admin_client, alias, holder):
    response = admin_client.get(alias_url(alias))
    link = re.search(r'<a href="([^"]+)" id="crm-holder-link">([^<]+)</a>', response.text)
    assert link is not None
    assert link.group(1) == change_url(holder)
    assert link.group(2) == "Maria José da Conceição · ***.***.789-00"


def test_organization_label_shows_in_filter_list_and_heading(admin_client, holder):
    Organization.objects.create(id=ORG_A, label="Banco Exemplo")
    HolderFactory(organization_id=ORG_B)
    listing = admin_client.get(CHANGELIST).text
    assert "Banco Exemplo" in listing  # filter choice and list column
    assert f'title="{ORG_A}">Banco Exemplo</span>' in listing
    assert str(ORG_B)[:8] in listing  # an organization without a label is shown by id
    assert 'id="crm-organization"><span title' in admin_client.get(change_url(holder)).text


def test_organization_labels_are_managed_in_the_admin(admin_client):
    add = reverse("admin:crm_organization_add")
    response = admin_client.post(add, {"id": str(ORG_A), "label": "Banco Exemplo"})
    assert response.status_code == 302
    assert Organization.objects.get(id=ORG_A).label == "Banco Exemplo"


def test_changelist_with_labels_runs_a_constant_number_of_queries(admin_client):
    """The same number of queries for 3 rows as for 30, holders of three labelled
    organizations: the labels are not looked up row by row."""
    organizations = [ORG_A, ORG_B, uuid.UUID("0196a3f4-1c2b-7cde-8f00-00000000000c")]
    for number, organization in enumerate(organizations):
        Organization.objects.create(id=organization, label=f"Banco {number}")
    admin_client.get(CHANGELIST)  # once: what a first request caches (content types, session)
    queries_for = {}
    for size in (3, 30):
        while Holder.all_objects.count() < size:
            HolderFactory(organization_id=organizations[Holder.all_objects.count() % 3])
        with CaptureQueriesContext(connection) as queries:
            response = admin_client.get(CHANGELIST)
        assert response.status_code == 200
        assert len(listed_ids(response)) == size
        assert all(f"Banco {n}" in response.text for n in range(3))
        queries_for[size] = len(queries)
    assert queries_for[3] == queries_for[30], queries_for


# --- item 3: admin error pages are admin pages ---------------------------------------------------


def test_admin_404_is_an_html_admin_page(admin_client):
    response = admin_client.get("/admin/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    assert "Page not found" in response.text and "CRM back-office" in response.text


def test_admin_403_for_a_clerk_opening_hard_delete_is_an_html_admin_page(client, holder):
    clerk = User.objects.create_user("clerk", password="pw", is_staff=True)
    clerk.user_permissions.set(Permission.objects.filter(codename="view_holder"))
    client.force_login(clerk)
    response = client.get(reverse("admin:holders_holder_hard_delete", args=[holder.pk]))
    assert response.status_code == 403
    assert response["Content-Type"].startswith("text/html")
    assert "Permission denied" in response.text and "CRM back-office" in response.text


def test_admin_500_is_an_html_page_and_the_api_keeps_json(rf):
    from crm.api.views import route_not_found, server_error

    response = server_error(rf.get("/admin/holders/holder/"))
    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/html")
    assert "Server error" in response.content.decode()
    api = server_error(rf.get("/v1/holders"))
    assert api["Content-Type"] == "application/json"
    assert route_not_found(rf.get("/v1/nowhere"))["Content-Type"] == "application/json"


def test_admin_has_no_view_site_link_to_the_json_root(admin_client):
    assert "View site" not in admin_client.get("/admin/").text


# --- item 4: an audit trail that means something --------------------------------------------------


def test_holder_save_without_changes_records_nothing(admin_client, holder):
    before = Holder.objects.get(pk=holder.pk).updated_at
    response = admin_client.post(
        change_url(holder), form_data(admin_client.get(change_url(holder)))
    )
    assert response.status_code == 302
    assert [entry.action for entry in entries(holder)] == ["create"]
    assert Holder.objects.get(pk=holder.pk).updated_at == before  # no bump
    assert not LogEntry.objects.filter(object_id=str(holder.pk)).exists()


def test_api_patch_without_changes_records_nothing(holder):
    before = Holder.objects.get(pk=holder.pk).updated_at
    holder_update(
        organization_id=ORG_A,
        holder_id=holder.pk,
        patch={"name": "Maria José da Conceição", "naturalPerson": {"birthDate": "1980-01-02"}},
    )
    assert [entry.action for entry in entries(holder)] == ["create"]
    assert Holder.objects.get(pk=holder.pk).updated_at == before


def test_alias_save_without_changes_records_nothing(admin_client, alias):
    before = AliasAccount.objects.get(pk=alias.pk).updated_at
    response = admin_client.post(alias_url(alias), form_data(admin_client.get(alias_url(alias))))
    assert response.status_code == 302
    assert [entry.action for entry in entries(alias)] == ["create"]
    assert AliasAccount.objects.get(pk=alias.pk).updated_at == before


def test_alias_edit_with_party_changes_is_one_entry_naming_every_field(admin_client, alias):
    response = admin_client.get(alias_url(alias))
    data = form_data(response)
    existing, new = [f.formset.prefix for f in response.context["inline_admin_formsets"]]
    data.update(
        {
            "bankingDetails__branch": "0002",
            f"{new}-0-document": "111.444.777-35",
            f"{new}-0-name": "New Party",
            f"{new}-0-role": "RESPONSIBLE_PARTY",
            f"{new}-0-startDate": "2024-02-03",
            f"{existing}-0-DELETE": "on",
        }
    )
    assert admin_client.post(alias_url(alias), data).status_code == 302
    updates = entries(alias, "update")
    assert [entry.changed_fields for entry in updates] == [
        ["bankingDetails.branch", "relatedParties[+]", "relatedParties[-]"]
    ]
    assert [party.name for party in alias.related_parties.all()] == ["New Party"]


def test_api_party_changes_name_added_and_removed_parties(alias):
    ids = {"organization_id": ORG_A, "holder_id": alias.holder_id, "alias_id": alias.pk}
    party = {"document": "1", "name": "B", "role": "RESPONSIBLE_PARTY", "startDate": "2024-01-01"}
    alias_update(**ids, patch={"relatedParties": [party]})
    related_party_remove(**ids, related_party_id=alias.related_parties.first().pk)
    assert [entry.changed_fields for entry in entries(alias, "update")] == [
        ["relatedParties[+]"],
        ["relatedParties[-]"],
    ]


def test_hard_delete_in_admin_requires_a_reason_kept_on_the_audit_entry(admin_client, holder):
    url = reverse("admin:holders_holder_hard_delete", args=[holder.pk])
    response = admin_client.post(url, {"post": "yes", "reason": "  "})
    assert response.status_code == 200  # the confirmation page again, with the error
    assert 'id="crm-reason-error"' in response.text
    assert Holder.all_objects.filter(pk=holder.pk).exists()
    response = admin_client.post(url, {"post": "yes", "reason": "LGPD Art. 18 VI, ticket 4711"})
    assert response.status_code == 302
    [erasure] = entries(holder)
    assert (erasure.action, erasure.reason) == ("hard_delete", "LGPD Art. 18 VI, ticket 4711")


def test_hard_delete_action_requires_a_reason_too(admin_client, holder):
    data = {"action": "hard_delete_selected", "_selected_action": [str(holder.pk)], "post": "yes"}
    assert admin_client.post(CHANGELIST, data).status_code == 200
    assert Holder.all_objects.filter(pk=holder.pk).exists()
    admin_client.post(CHANGELIST, {**data, "reason": "retention policy"})
    assert entries(holder)[0].reason == "retention policy"


def test_soft_delete_reason_is_optional_and_kept(admin_client, holder):
    url = reverse("admin:holders_holder_soft_delete", args=[holder.pk])
    admin_client.post(url, {"reason": "customer asked to close"})
    assert entries(holder, "soft_delete")[0].reason == "customer asked to close"
    admin_client.post(reverse("admin:holders_holder_restore", args=[holder.pk]))
    admin_client.post(url)
    assert [entry.reason for entry in entries(holder, "soft_delete")] == [
        "customer asked to close",
        "",
    ]


def test_hard_delete_command_keeps_the_reason(holder):
    call_command(
        "hard_delete", "holders", str(holder.pk), "--yes", "--reason", "LGPD Art. 18 VI",
        stdout=StringIO(), stderr=StringIO(),
    )  # fmt: skip
    assert [entry.reason for entry in entries(holder)] == ["LGPD Art. 18 VI"]


def test_hard_delete_command_without_reason_warns(holder):
    stderr = StringIO()
    call_command(
        "hard_delete", "holders", str(holder.pk), "--yes", stdout=StringIO(), stderr=stderr
    )
    assert "No --reason given" in stderr.getvalue()
    assert not Holder.all_objects.filter(pk=holder.pk).exists()


def test_retention_purge_records_its_selection_as_the_reason(holder):
    holder_soft_delete(organization_id=ORG_A, holder_id=holder.pk)
    call_command("hard_delete", "purge", "--older-than", "0d", "--yes", stdout=StringIO())
    assert entries(holder)[0].reason.startswith("Retention purge: soft-deleted before")


def test_document_is_masked_and_revealing_it_is_recorded(admin_client, holder):
    page = admin_client.get(change_url(holder)).text
    assert "***.***.789-00" in page and "12345678900" not in page
    url = reverse("admin:holders_holder_document", args=[holder.pk])
    assert admin_client.get(url).status_code == 405  # a view is a deliberate POST
    assert not entries(holder, "view_document")
    response = admin_client.post(url)
    assert response.json() == {"document": "12345678900"}
    assert response["Cache-Control"].startswith("max-age=0")
    [viewed] = entries(holder, "view_document")
    assert (viewed.actor_type, viewed.actor, viewed.changed_fields) == (
        "staff",
        "admin",
        ["document"],
    )


def test_revealing_a_document_needs_view_permission(client, holder):
    nobody = User.objects.create_user("nobody", password="pw", is_staff=True)
    client.force_login(nobody)
    response = client.post(reverse("admin:holders_holder_document", args=[holder.pk]))
    assert response.status_code == 403
    assert "12345678900" not in response.content.decode()
    assert not entries(holder, "view_document")


def test_alias_document_reveal_is_recorded(admin_client, alias):
    response = admin_client.post(reverse("admin:aliases_aliasaccount_document", args=[alias.pk]))
    assert response.json() == {"document": "12345678900"}
    assert entries(alias, "view_document")


def test_audit_entries_link_to_their_record_while_it_exists(admin_client, holder):
    audit_list = reverse("admin:crm_auditentry_changelist")
    # Named as staff know the record (the full id in the tooltip).
    link = (
        f'<a href="{change_url(holder)}" title="{holder.pk}">'
        f"Maria José da Conceição · ***.***.789-00 · "
    )
    assert link in admin_client.get(audit_list).text
    admin_client.post(
        reverse("admin:holders_holder_hard_delete", args=[holder.pk]),
        {"post": "yes", "reason": "LGPD"},
    )
    page = admin_client.get(audit_list).text
    assert str(holder.pk) in page  # the erasure entry names it...
    assert change_url(holder) not in page  # ...but links nowhere


def test_history_page_shows_the_reason(admin_client, holder):
    admin_client.post(
        reverse("admin:holders_holder_soft_delete", args=[holder.pk]), {"reason": "duplicate"}
    )
    history = admin_client.get(reverse("admin:holders_holder_history", args=[holder.pk]))
    assert "duplicate" in history.text


# --- item 5: finding people -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "term",
    ["Conc", "conceic", "mar", "MARI jos", "Maria José da Conceição", "da maria"],
)
def test_holder_search_by_name_prefixes_from_three_letters(admin_client, holder, term):
    HolderFactory(name="Pedro Alves")
    assert listed_ids(admin_client.get(CHANGELIST, {"q": term})) == {str(holder.pk)}


@pytest.mark.parametrize("term", ["co", "conceicaoo", "maria pedro"])
def test_holder_search_by_name_needs_three_letters_and_every_word(admin_client, holder, term):
    HolderFactory(name="Pedro Alves")
    assert listed_ids(admin_client.get(CHANGELIST, {"q": term})) == set()


@pytest.mark.parametrize(
    "term",
    [
        "maria.silva@example.com",
        " MARIA.SILVA@EXAMPLE.COM ",
        "+5511912345678",
        "+55 (11) 91234-5678",
        "5511912345678",
    ],
)
def test_holder_search_by_email_and_phone(admin_client, holder, term):
    HolderFactory(contact={"primaryEmail": "mariasilva@example.com", "mobilePhone": "+5511"})
    assert listed_ids(admin_client.get(CHANGELIST, {"q": term})) == {str(holder.pk)}


def test_email_and_phone_hashes_follow_the_contact_and_stay_hashed(holder):
    stored = Holder.objects.get(pk=holder.pk)
    assert re.fullmatch(r"[0-9a-f]{64}", stored.email_hash)
    assert re.fullmatch(r"[0-9a-f]{64}", stored.phone_hash)
    holder_update(organization_id=ORG_A, holder_id=holder.pk, patch={"contact": None})
    cleared = Holder.objects.get(pk=holder.pk)
    assert (cleared.email_hash, cleared.phone_hash) == (None, None)


def test_contact_search_is_scoped_by_organization(admin_client, holder):
    other = HolderFactory(
        organization_id=ORG_B, contact={"primaryEmail": "maria.silva@example.com"}
    )
    found = listed_ids(admin_client.get(CHANGELIST, {"q": "maria.silva@example.com"}))
    assert found == {str(holder.pk), str(other.pk)}
    only_b = admin_client.get(
        CHANGELIST, {"q": "maria.silva@example.com", "organization": str(ORG_B)}
    )
    assert listed_ids(only_b) == {str(other.pk)}


def test_live_filter_hint_counts_deleted_matches_and_links_to_them(admin_client, holder):
    holder_soft_delete(organization_id=ORG_A, holder_id=holder.pk)
    response = admin_client.get(CHANGELIST, {"q": "conceicao"})
    assert listed_ids(response) == set()
    hint = re.search(r'id="crm-deleted-hint">(.*?)</p>', response.text, re.S).group(1)
    assert "1 match among deleted records" in hint
    url = re.search(r'href="([^"]+)" id="crm-show-deleted"', response.text).group(1)
    shown = admin_client.get(CHANGELIST + url.replace("&amp;", "&"))
    assert listed_ids(shown) == {str(holder.pk)}
    assert "crm-deleted-hint" not in shown.text


def test_no_deleted_hint_without_hidden_matches(admin_client, holder):
    assert "crm-deleted-hint" not in admin_client.get(CHANGELIST, {"q": "conceicao"}).text
    assert "crm-deleted-hint" not in admin_client.get(CHANGELIST, {"q": "nobody"}).text


def test_a_common_word_shows_its_newest_matches_and_says_older_ones_were_not_looked_at(
    admin_client, monkeypatch
):
    from crm.admin import searching

    monkeypatch.setattr(searching, "SEARCH_LIMIT", 3)
    silvas = [HolderFactory(organization_id=ORG_A, name=f"Rita Silvano {n}") for n in range(5)]
    holder_soft_delete(organization_id=ORG_A, holder_id=silvas[-1].pk)
    response = admin_client.get(CHANGELIST, {"q": "silvano"})
    # The newest three matches were looked at; one of them is deleted (hidden by "live").
    assert listed_ids(response) == {str(h.pk) for h in silvas[2:4]}
    assert "crm-search-truncated" in response.text
    assert "3 newest matches" in response.text
    hint = re.search(r'id="crm-deleted-hint">(.*?)</p>', response.text, re.S).group(1)
    assert "1+ match among deleted records" in hint
    # A narrower term looks at every match again.
    narrow = admin_client.get(CHANGELIST, {"q": "silvano 0"})
    assert listed_ids(narrow) == {str(silvas[0].pk)}
    assert "crm-search-truncated" not in narrow.text


def test_several_common_words_read_a_bounded_number_of_rows_and_say_so(admin_client, monkeypatch):
    from crm.admin import searching

    monkeypatch.setattr(searching, "SEARCH_LIMIT", 2)
    monkeypatch.setattr(searching, "WALK_LIMIT", 4)
    both = [HolderFactory(organization_id=ORG_A, name=f"Rita Silvano {n}") for n in range(2)]
    for n in range(4):  # newer holders with one of the words only
        HolderFactory(organization_id=ORG_A, name=f"Rita Costa {n}")
        HolderFactory(organization_id=ORG_A, name=f"Joana Silvano {n}")
    response = admin_client.get(CHANGELIST, {"q": "rita silvano"})
    # The rarer word's newest 4 holders were read: none has both words; the page says so.
    assert listed_ids(response) == set()
    assert "crm-search-truncated" in response.text
    # With a word rarer than the limit, every holder with both words is found.
    monkeypatch.setattr(searching, "SEARCH_LIMIT", 1000)
    assert listed_ids(admin_client.get(CHANGELIST, {"q": "rita silvano"})) == {
        str(h.pk) for h in both
    }


def test_alias_list_has_the_deleted_hint_too(admin_client, alias):
    from aliases.services import alias_soft_delete

    alias_soft_delete(organization_id=ORG_A, holder_id=alias.holder_id, alias_id=alias.pk)
    response = admin_client.get(ALIASES, {"q": "acc-77"})
    assert "1 match among deleted records" in response.text


@pytest.mark.parametrize(
    "contact",
    [
        {"primaryEmail": "not-an-email"},
        {"secondaryEmail": "a@"},
        {"primaryEmail": "two@@example.com"},
    ],
)
def test_api_refuses_an_invalid_email_with_crm_0015(api, contact):
    response = api.post(
        "/v1/holders",
        {"type": "NATURAL_PERSON", "name": "A", "document": "52998224725", "contact": contact},
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "CRM-0015"
    [field] = body["fields"]
    assert field.startswith("contact.")
    assert "not-an-email" not in response.content.decode()


def test_api_refuses_an_invalid_representative_email(api):
    response = api.post(
        "/v1/holders",
        {
            "type": "LEGAL_PERSON",
            "name": "ACME",
            "document": "11222333000181",
            "legalPerson": {"representative": {"email": "nope"}},
        },
    )
    assert (response.status_code, response.json()["code"]) == (400, "CRM-0015")
    assert set(response.json()["fields"]) == {"legalPerson.representative.email"}


def test_api_accepts_a_valid_email_and_an_empty_one(api):
    for email in ("maria@example.com", ""):
        response = api.post(
            "/v1/holders",
            {
                "type": "NATURAL_PERSON",
                "name": "A",
                "document": HolderFactory.build().document,
                "contact": {"primaryEmail": email},
            },
        )
        assert response.status_code == 201, response.json()


def test_admin_refuses_an_invalid_email_with_the_same_rule(admin_client, holder):
    data = form_data(admin_client.get(change_url(holder)))
    data["contact__primaryEmail"] = "not-an-email"
    response = admin_client.post(change_url(holder), data)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors["contact__primaryEmail"] == ["must be a valid e-mail address"]
    assert Holder.objects.get(pk=holder.pk).contact["primaryEmail"] == "Maria.Silva@Example.com"


def test_alias_list_names_holders_in_one_query_per_page(
    admin_client, alias, django_assert_max_num_queries
):
    for _ in range(10):
        AliasFactory()
    with django_assert_max_num_queries(12):
        response = admin_client.get(ALIASES)
    assert f'<a href="{change_url(alias.holder)}">Maria José da Conceição · ***.***.789-00</a>' in (
        response.text
    )


def test_admin_csrf_refusal_is_an_admin_page(holder):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(User.objects.create_superuser("csrf", "c@example.com", "pw"))
    response = client.post(reverse("admin:holders_holder_soft_delete", args=[holder.pk]))
    assert response.status_code == 403
    assert response["Content-Type"].startswith("text/html")
    assert "The form expired" in response.text and "CRM back-office" in response.text
    assert Holder.objects.filter(pk=holder.pk).exists()
