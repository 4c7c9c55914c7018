"""Back-office (Django admin) behaviour: lists, search, filters, forms through the services,
deletion rules, permissions and the audit history (docs/api.md §8)."""

import re
import uuid

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission, User
from django.urls import reverse

from aliases.models import AliasAccount
from crm.admin import mask_document
from crm.crypto.search import search_hash
from crm.db.rows import insert_rows
from crm.models import ApiToken, AuditEntry, Organization
from holders.models import (
    NAME_PREFIX_FIELD,
    NAME_WORD_FIELD,
    Holder,
    HolderNameToken,
    name_token,
)
from holders.services import holder_soft_delete
from tests.conftest import ORG_A, ORG_B
from tests.factories import HolderFactory

CHANGELIST = reverse("admin:holders_holder_changelist")


def change_url(holder) -> str:
    return reverse("admin:holders_holder_change", args=[holder.pk])


def listed_ids(response) -> set[str]:
    return set(re.findall(r'href="/admin/holders/holder/([0-9a-f-]{36})/change/', response.text))


@pytest.fixture
def holder(db):
    return HolderFactory(
        name="Maria José da Conceição",
        document="12345678900",
        externalId="EXT-42",
        contact={"primaryEmail": "maria@example.com", "mobilePhone": "+5511999990000"},
        addresses={"primary": {"line1": "Rua A, 1", "city": "São Paulo", "country": "BR"}},
        naturalPerson={"motherName": "Ana", "birthDate": "1980-01-02"},
        metadata={"segment": "retail", "score": 7},
    )


@pytest.fixture
def staff(db):
    """A staff user with view/change holder permissions but not hard delete."""
    user = User.objects.create_user("clerk", password="pw", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="holders",
            codename__in=["view_holder", "change_holder", "add_holder"],
        )
    )
    return user


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


# --- masking -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "masked"),
    [
        ("123.456.789-00", "***.***.789-00"),
        ("12345678900", "***.***.789-00"),
        ("12.345.678/0001-95", "**.***.***/0001-95"),
        ("AB1234567", "*****4567"),
        ("", ""),
    ],
)
def test_mask_document_shows_only_the_end(document, masked):
    assert mask_document(document) == masked


# --- list, search, filters ----------------------------------------------------------------------


def test_holder_changelist_shows_masked_document_and_no_full_document(admin_client, holder):
    response = admin_client.get(CHANGELIST)
    assert response.status_code == 200
    assert "***.***.789-00" in response.text
    assert "12345678900" not in response.text
    assert "Maria José da Conceição" in response.text
    assert str(holder.pk) in response.text


@pytest.mark.parametrize(
    "term", ["123.456.789-00", "12345678900", " 123 456 789 00 ", "EXT-42", "conceicao", "MARIA"]
)
def test_holder_search_finds_by_document_external_id_and_name_word(admin_client, holder, term):
    HolderFactory(name="Pedro Alves", document="98765432100")
    response = admin_client.get(CHANGELIST, {"q": term})
    assert listed_ids(response) == {str(holder.pk)}


def test_holder_search_by_several_name_words_needs_all(admin_client, holder):
    other = HolderFactory(name="Maria Alves")
    assert listed_ids(admin_client.get(CHANGELIST, {"q": "maria"})) == {
        str(holder.pk),
        str(other.pk),
    }
    assert listed_ids(admin_client.get(CHANGELIST, {"q": "Maria Conceição"})) == {str(holder.pk)}


def test_holder_search_by_holder_id(admin_client, holder):
    HolderFactory()
    assert listed_ids(admin_client.get(CHANGELIST, {"q": str(holder.pk)})) == {str(holder.pk)}


def test_holder_search_by_document_in_another_organization(admin_client):
    holder_b = HolderFactory(organization_id=ORG_B, document="11122233344")
    HolderFactory(organization_id=ORG_A)
    response = admin_client.get(CHANGELIST, {"q": "111.222.333-44"})
    assert listed_ids(response) == {str(holder_b.pk)}
    # Restricting to the other organization finds nothing.
    response = admin_client.get(CHANGELIST, {"q": "111.222.333-44", "organization": str(ORG_A)})
    assert listed_ids(response) == set()


def test_holder_search_unknown_term_finds_nothing(admin_client, holder):
    assert listed_ids(admin_client.get(CHANGELIST, {"q": "nobody"})) == set()


def test_holder_filters_state_default_live(admin_client, holder):
    deleted = HolderFactory()
    holder_soft_delete(organization_id=ORG_A, holder_id=deleted.pk)
    assert listed_ids(admin_client.get(CHANGELIST)) == {str(holder.pk)}
    assert listed_ids(admin_client.get(CHANGELIST, {"state": "deleted"})) == {str(deleted.pk)}
    assert listed_ids(admin_client.get(CHANGELIST, {"state": "all"})) == {
        str(holder.pk),
        str(deleted.pk),
    }


def test_holder_filters_type_and_organization(admin_client, holder):
    company = HolderFactory(type="LEGAL_PERSON", name="Acme Ltda", document="12345678000195")
    in_b = HolderFactory(organization_id=ORG_B)
    assert listed_ids(admin_client.get(CHANGELIST, {"type__exact": "LEGAL_PERSON"})) == {
        str(company.pk)
    }
    assert listed_ids(admin_client.get(CHANGELIST, {"organization": str(ORG_B)})) == {str(in_b.pk)}


def test_holder_changelist_query_count_is_constant(admin_client, django_assert_max_num_queries):
    for _ in range(30):
        HolderFactory()
    with django_assert_max_num_queries(10):
        response = admin_client.get(CHANGELIST)
    assert len(listed_ids(response)) == 30


def test_holder_name_tokens_follow_name_and_stay_hashed(holder):
    tokens = set(HolderNameToken.objects.filter(holder=holder).values_list("token_hash", flat=True))
    # The prefixes from 3 letters of maria, jose and conceicao (3 + 2 + 7), and "da" (shorter
    # than a prefix) as a word.
    assert len(tokens) == 12 + 1
    # Each stored as the first 64 bits of its search hash: no word in the clear.
    words = ["da"]
    prefixes = ["mar", "mari", "maria", "jos", "jose"] + ["conceicao"[:n] for n in range(3, 10)]
    assert tokens == {
        name_token(search_hash(holder.organization_id, field, value))
        for field, values in ((NAME_WORD_FIELD, words), (NAME_PREFIX_FIELD, prefixes))
        for value in values
    }


# --- change form -------------------------------------------------------------------------------


def form_data(response) -> dict:
    """The change form's current values (and inline management forms), as the browser would
    post them."""
    form = response.context["adminform"].form
    data = management_data(response)
    for name, field in form.fields.items():
        value = form.initial.get(name, field.initial)
        data[name] = "" if value is None else value
    return data


def test_holder_change_form_shows_sections_and_values(admin_client, holder):
    response = admin_client.get(change_url(holder))
    assert response.status_code == 200
    for section in ("Identity", "Contact", "Primary address", "Natural person", "Metadata"):
        assert section in response.text
    assert "Legal person" not in response.text
    assert "maria@example.com" in response.text
    assert "segment = retail" in response.text
    assert "{&quot;primaryEmail" not in response.text  # no JSON widgets


def test_holder_change_form_saves_through_the_service(admin_client, holder):
    data = form_data(admin_client.get(change_url(holder)))
    data["contact__primaryEmail"] = "new@example.com"
    data["contact__mobilePhone"] = ""
    data["metadata"] = "segment = private\nscore = 7"
    response = admin_client.post(change_url(holder), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    holder = Holder.objects.get(pk=holder.pk)
    assert holder.contact == {"primaryEmail": "new@example.com"}
    assert holder.metadata == {"segment": "private", "score": 7}  # untouched value keeps type
    assert holder.natural_person_private == {"motherName": "Ana"}
    entry = AuditEntry.objects.filter(object_id=holder.pk, action="update").get()
    assert entry.actor_type == "staff"
    assert entry.actor == "admin"
    assert set(entry.changed_fields) == {
        "contact.mobilePhone",
        "contact.primaryEmail",
        "metadata.segment",
    }
    log = LogEntry.objects.get(object_id=str(holder.pk))
    assert "new@example.com" not in log.change_message
    assert log.object_repr == f"Holder {holder.pk}"


def test_holder_change_form_name_change_updates_name_index(admin_client, holder):
    data = form_data(admin_client.get(change_url(holder)))
    data["name"] = "Joana Prado"
    assert admin_client.post(change_url(holder), data).status_code == 302
    assert listed_ids(admin_client.get(CHANGELIST, {"q": "prado"})) == {str(holder.pk)}
    assert listed_ids(admin_client.get(CHANGELIST, {"q": "conceicao"})) == set()


def test_holder_change_form_invalid_input_is_a_form_error(admin_client, holder):
    data = form_data(admin_client.get(change_url(holder)))
    data["contact__mobilePhone"] = "9" * 60
    data["metadata"] = "no equals sign"
    response = admin_client.post(change_url(holder), data)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "contact__mobilePhone" in errors
    assert "metadata" in errors
    assert Holder.objects.get(pk=holder.pk).contact["mobilePhone"] == "+5511999990000"


def test_holder_change_form_serializer_error_is_attached_to_the_field(admin_client, holder):
    data = form_data(admin_client.get(change_url(holder)))
    data["metadata"] = "k = " + "v" * 2001
    response = admin_client.post(change_url(holder), data)
    assert response.status_code == 200
    assert "metadata" in response.context["adminform"].form.errors


def test_holder_add_form_creates_through_the_service(admin_client):
    Organization.objects.create(id=ORG_A, label="Banco Alfa")
    response = admin_client.get(reverse("admin:holders_holder_add"))
    # An organization is picked by its label, not typed as a UUID.
    assert f'<option value="{ORG_A}">Banco Alfa</option>' in response.text
    data = form_data(response)
    data.update(
        organization=str(ORG_A),
        type="NATURAL_PERSON",
        document="529.982.247-25",
        name="Carlos Souza",
        addresses__primary__country="BR",
        naturalPerson__birthDate="1990-05-06",
    )
    response = admin_client.post(reverse("admin:holders_holder_add"), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    holder = Holder.objects.get()
    assert response["Location"] == CHANGELIST
    assert holder.document == "529.982.247-25"
    assert holder.natural_person == {"birthDate": "1990-05-06"}
    assert AuditEntry.objects.filter(object_id=holder.pk, action="create").exists()


def test_holder_add_duplicate_document_is_a_form_error_not_a_500(admin_client, holder):
    data = form_data(admin_client.get(reverse("admin:holders_holder_add")))
    data.update(
        organization=str(ORG_A),
        type="NATURAL_PERSON",
        document="123.456.789-00",
        name="Someone Else",
    )
    response = admin_client.post(reverse("admin:holders_holder_add"), data)
    assert response.status_code == 200
    assert "CRM-0010" in str(response.context["adminform"].form.errors["document"])
    assert Holder.objects.count() == 1
    assert not AuditEntry.objects.filter(action="create", actor_type="staff").exists()


def test_holder_change_page_of_soft_deleted_holder_is_read_only(admin_client, holder):
    holder_soft_delete(organization_id=ORG_A, holder_id=holder.pk)
    response = admin_client.get(change_url(holder))
    assert response.status_code == 200
    assert "soft-deleted" in response.text
    assert 'name="_save"' not in response.text
    assert "crm-restore" in response.text


# --- deletion ----------------------------------------------------------------------------------


def test_stock_delete_is_disabled(admin_client, holder):
    response = admin_client.get(CHANGELIST)
    assert 'value="delete_selected"' not in response.text
    # Django's delete view exists but refuses: nobody has the stock delete permission.
    assert admin_client.get(change_url(holder) + "../delete/").status_code == 403
    assert admin_client.post(change_url(holder) + "../delete/", {"post": "yes"}).status_code == 403
    response = admin_client.post(
        CHANGELIST, {"action": "delete_selected", "_selected_action": [str(holder.pk)]}
    )
    assert Holder.all_objects.filter(pk=holder.pk).exists()


def test_soft_delete_and_restore_actions(admin_client, holder):
    response = admin_client.post(
        CHANGELIST, {"action": "soft_delete_selected", "_selected_action": [str(holder.pk)]}
    )
    assert response.status_code == 302
    assert Holder.all_objects.get(pk=holder.pk).deleted_at is not None
    response = admin_client.post(
        CHANGELIST + "?state=deleted",
        {"action": "restore_selected", "_selected_action": [str(holder.pk)]},
    )
    assert response.status_code == 302
    assert Holder.objects.filter(pk=holder.pk).exists()
    actions = list(AuditEntry.objects.filter(object_id=holder.pk).values_list("action", flat=True))
    assert "soft_delete" in actions
    assert "restore" in actions


def test_soft_delete_and_restore_buttons_on_change_page(admin_client, holder):
    soft = reverse("admin:holders_holder_soft_delete", args=[holder.pk])
    restore = reverse("admin:holders_holder_restore", args=[holder.pk])
    assert admin_client.get(soft).status_code == 405
    assert admin_client.post(soft).status_code == 302
    assert Holder.all_objects.get(pk=holder.pk).deleted_at is not None
    assert admin_client.post(restore).status_code == 302
    assert Holder.all_objects.get(pk=holder.pk).deleted_at is None


def test_hard_delete_confirmation_page_lists_records_then_erases(admin_client, holder):
    url = reverse("admin:holders_holder_hard_delete", args=[holder.pk])
    response = admin_client.get(url)
    assert response.status_code == 200
    assert str(holder.pk) in response.text
    assert "***.***.789-00" in response.text
    assert "12345678900" not in response.text
    assert Holder.all_objects.filter(pk=holder.pk).exists()
    response = admin_client.post(url, {"post": "yes", "reason": "LGPD Art. 18 VI"})
    assert response.status_code == 302
    assert not Holder.all_objects.filter(pk=holder.pk).exists()
    assert not HolderNameToken.objects.filter(holder_id=holder.pk).exists()
    entries = AuditEntry.objects.filter(object_id=holder.pk, redacted=False)
    assert [entry.action for entry in entries] == ["hard_delete"]
    assert entries[0].actor == "admin"


def test_admin_hard_delete_works_on_a_row_no_configured_key_decrypts(
    admin_client, holder, settings
):
    """The admin erases through the same path as the API: a record whose key is lost (nothing
    configured decrypts it) is shown on the confirmation page and erased, with its aliases."""
    from tests.factories import AliasFactory

    alias = AliasFactory(holder=holder)
    settings.LCRYPTO_ENCRYPT_SECRET_KEY = "ab" * 32  # the key that wrote the rows is gone
    settings.LCRYPTO_PREVIOUS_ENCRYPT_SECRET_KEYS = []
    url = reverse("admin:holders_holder_hard_delete", args=[holder.pk])

    page = admin_client.get(url)
    assert page.status_code == 200
    assert str(holder.pk) in page.text and str(alias.pk) in page.text
    response = admin_client.post(url, {"post": "yes", "reason": "LGPD Art. 18 VI"})

    assert response.status_code == 302
    assert not Holder.all_objects.filter(pk=holder.pk).exists()
    assert not AliasAccount.all_objects.filter(pk=alias.pk).exists()
    kept = AuditEntry.objects.filter(object_id=holder.pk, redacted=False)
    assert [entry.action for entry in kept] == ["hard_delete"]


def test_hard_delete_action_shows_confirmation_first(admin_client, holder):
    data = {"action": "hard_delete_selected", "_selected_action": [str(holder.pk)]}
    response = admin_client.post(CHANGELIST, data)
    assert response.status_code == 200
    assert "Records that will be erased" in response.text
    assert Holder.all_objects.filter(pk=holder.pk).exists()
    response = admin_client.post(CHANGELIST, {**data, "post": "yes", "reason": "LGPD Art. 18 VI"})
    assert response.status_code == 302
    assert not Holder.all_objects.filter(pk=holder.pk).exists()


def test_hard_delete_needs_the_dedicated_permission(staff_client, staff, holder):
    url = reverse("admin:holders_holder_hard_delete", args=[holder.pk])
    assert "hard_delete_selected" not in staff_client.get(CHANGELIST).text
    assert "crm-hard-delete" not in staff_client.get(change_url(holder)).text
    assert staff_client.get(url).status_code == 403
    assert staff_client.post(url, {"post": "yes"}).status_code == 403
    staff_client.post(
        CHANGELIST,
        {"action": "hard_delete_selected", "_selected_action": [str(holder.pk)], "post": "yes"},
    )
    assert Holder.all_objects.filter(pk=holder.pk).exists()

    staff.user_permissions.add(Permission.objects.get(codename="hard_delete_holder"))
    staff = User.objects.get(pk=staff.pk)
    staff_client.force_login(staff)
    assert "hard_delete_selected" in staff_client.get(CHANGELIST).text
    assert "crm-hard-delete" in staff_client.get(change_url(holder)).text
    assert staff_client.get(url).status_code == 200


# --- history -----------------------------------------------------------------------------------


def test_history_page_shows_audit_entries_and_versions_with_documents_masked(admin_client, holder):
    """The audit trail part names fields, never values; the versions part shows each change
    before → after (docs/api.md §12.4), its documents masked."""
    data = form_data(admin_client.get(change_url(holder)))
    data["contact__primaryEmail"] = "other@example.com"
    admin_client.post(change_url(holder), data)
    response = admin_client.get(reverse("admin:holders_holder_history", args=[holder.pk]))
    assert response.status_code == 200
    trail = response.text[response.text.index('id="change-history"') :]
    assert "contact.primaryEmail" in trail
    assert "staff admin" in trail
    assert "Create" in trail
    for personal in ("other@example.com", "maria@example.com", "Conceição", "12345678900"):
        assert personal not in trail
    versions = response.text[: response.text.index('id="change-history"')]
    assert 'maria@example.com</span> → <span class="crm-after">other@example.com' in versions
    assert "12345678900" not in response.text  # the document stays masked


# --- kernel models -----------------------------------------------------------------------------


def test_audit_entries_are_read_only(admin_client, holder):
    response = admin_client.get(reverse("admin:crm_auditentry_changelist"))
    assert response.status_code == 200
    assert str(holder.pk) in response.text
    assert admin_client.get(reverse("admin:crm_auditentry_add")).status_code == 403


def test_api_token_secret_is_shown_once(admin_client):
    response = admin_client.post(
        reverse("admin:crm_apitoken_add"),
        {
            "name": "onboarding",
            "is_active": "on",
            "organizations": str(ORG_A),
            "permissions": ["holders:get", "holders:post"],
        },
    )
    assert response.status_code == 200
    secret = re.search(r'id="token-secret"[^>]*>(crm_[^<]+)<', response.text).group(1)
    token = ApiToken.objects.get()
    assert token.organizations == [str(ORG_A)]
    assert token.permissions == ["holders:get", "holders:post"]
    assert secret not in admin_client.get(reverse("admin:crm_apitoken_changelist")).text
    from crm.access.auth import hash_token

    assert token.key_hash == hash_token(secret)


def test_admin_requires_login(client, holder):
    response = client.get(CHANGELIST)
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_unknown_holder_change_page_redirects_with_a_message(admin_client):
    missing = uuid.uuid4()
    response = admin_client.get(reverse("admin:holders_holder_change", args=[missing]))
    assert response.status_code == 302
    assert response.url == reverse("admin:index")
    page = admin_client.get(response.url)
    assert f"ID “{missing}” doesn’t exist" in page.text


def test_holder_add_refused_by_the_service_is_reported_and_rolled_back(admin_client, holder):
    """The form's duplicate check passed (a concurrent writer took the document a moment
    later): the service's 409 is reported and nothing of the request stays."""
    from unittest import mock

    data = form_data(admin_client.get(reverse("admin:holders_holder_add")))
    data.update(organization=str(ORG_A), type="NATURAL_PERSON", document="12345678900", name="X")
    data["document__save_anyway"] = "1"  # the fixture's CPF has wrong check digits
    with mock.patch("holders.selectors.holder_document_in_use", return_value=False):
        response = admin_client.post(reverse("admin:holders_holder_add"), data)
    assert response.status_code == 302
    assert response.url == reverse("admin:holders_holder_add")
    page = admin_client.get(response.url)
    assert "Not saved: Document Association Error (CRM-0010)" in page.text
    assert Holder.all_objects.count() == 1
    assert not LogEntry.objects.exists()


# --- alias accounts ------------------------------------------------------------------------------

ALIAS_CHANGELIST = reverse("admin:aliases_aliasaccount_changelist")


def alias_change_url(alias) -> str:
    return reverse("admin:aliases_aliasaccount_change", args=[alias.pk])


def listed_alias_ids(response) -> set[str]:
    return set(
        re.findall(r'href="/admin/aliases/aliasaccount/([0-9a-f-]{36})/change/', response.text)
    )


@pytest.fixture
def alias(holder):
    from tests.factories import AliasFactory

    return AliasFactory(
        holder=holder,
        accountId="acc-001",
        ledgerId="ledger-9",
        bankingDetails={"branch": "0001", "account": "12345-6", "iban": "BR15 0000 0000 0000"},
        regulatoryFields={"participantDocument": "12.345.678/0001-95"},
        relatedParties=[
            {
                "document": "98765432100",
                "name": "Rep One",
                "role": "LEGAL_REPRESENTATIVE",
                "startDate": "2024-01-01",
            }
        ],
    )


@pytest.mark.parametrize(
    "term",
    [
        "acc-001",
        "ledger-9",
        "12345-6",
        "123456",
        "BR15000000000000",
        "123.456.789-00",
        "12345678000195",
        "987.654.321-00",
    ],
)
def test_alias_search_by_ids_and_hashes(admin_client, alias, term):
    from tests.factories import AliasFactory

    AliasFactory()
    assert listed_alias_ids(admin_client.get(ALIAS_CHANGELIST, {"q": term})) == {str(alias.pk)}


def test_alias_search_by_alias_id_and_holder_id(admin_client, alias):
    assert listed_alias_ids(admin_client.get(ALIAS_CHANGELIST, {"q": str(alias.pk)})) == {
        str(alias.pk)
    }
    assert listed_alias_ids(admin_client.get(ALIAS_CHANGELIST, {"q": str(alias.holder_id)})) == {
        str(alias.pk)
    }


def test_alias_list_masks_document(admin_client, alias):
    response = admin_client.get(ALIAS_CHANGELIST)
    assert "***.***.789-00" in response.text
    assert "12345678900" not in response.text


def test_alias_changelist_query_count_is_constant(admin_client, django_assert_max_num_queries):
    from tests.factories import AliasFactory

    for _ in range(20):
        AliasFactory()
    with django_assert_max_num_queries(10):
        response = admin_client.get(ALIAS_CHANGELIST)
    assert len(listed_alias_ids(response)) == 20


def test_holder_search_by_alias_id_and_account_id(admin_client, alias):
    HolderFactory()
    assert listed_ids(admin_client.get(CHANGELIST, {"q": str(alias.pk)})) == {str(alias.holder_id)}
    assert listed_ids(admin_client.get(CHANGELIST, {"q": "acc-001"})) == {str(alias.holder_id)}


def test_holder_page_lists_aliases_inline(admin_client, alias, django_assert_max_num_queries):
    from aliases.services import alias_soft_delete
    from tests.factories import AliasFactory

    other = AliasFactory(
        holder=alias.holder,
        accountId="acc-002",
        bankingDetails={"bankId": "341", "branch": "0002", "account": "4398187-0"},
    )
    alias_soft_delete(organization_id=ORG_A, holder_id=alias.holder_id, alias_id=other.pk)
    with django_assert_max_num_queries(15):
        response = admin_client.get(change_url(alias.holder))
    assert alias_change_url(alias) in response.text
    assert alias_change_url(other) in response.text
    # By bank, branch and account number (masked), not by ids.
    inline = response.text.split('id="aliases-group"')[1].split("</fieldset>")[0]
    for shown in ("341", "0002", "****187-0", "0001", "**345-6"):
        assert shown in inline
    for hidden in ("4398187-0", "12345-6", str(other.pk) + "<", "acc-002"):
        assert hidden not in inline


def test_alias_change_form_edits_banking_and_regulatory_fields(admin_client, alias):
    response = admin_client.get(alias_change_url(alias))
    assert response.status_code == 200
    data = form_data(response)
    data["bankingDetails__branch"] = "0099"
    data["regulatoryFields__participantDocument"] = ""
    response = admin_client.post(alias_change_url(alias), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    from aliases.models import AliasAccount

    alias = AliasAccount.objects.get(pk=alias.pk)
    assert alias.banking_details["branch"] == "0099"
    assert alias.banking_branch == "0099"
    assert alias.participant_document is None
    assert alias.participant_document_hash is None
    entry = AuditEntry.objects.filter(object_id=alias.pk, action="update").get()
    assert "bankingDetails.branch" in entry.changed_fields
    assert "regulatoryFields" in entry.changed_fields  # the whole object was removed


def management_data(response) -> dict:
    data = {}
    for formset in response.context["inline_admin_formsets"]:
        fs = formset.formset
        for key, value in fs.management_form.initial.items():
            data[f"{fs.prefix}-{key}"] = value
        for index, form in enumerate(fs.forms):
            if form.instance.pk and fs.can_delete:
                data[f"{fs.prefix}-{index}-id"] = str(form.instance.pk)
                data[f"{fs.prefix}-{index}-alias"] = str(form.instance.alias_id)
    return data


def test_alias_related_parties_add_and_remove(admin_client, alias):
    response = admin_client.get(alias_change_url(alias))
    data = form_data(response)
    prefixes = [f.formset.prefix for f in response.context["inline_admin_formsets"]]
    existing, new = prefixes
    data.update(
        {
            f"{new}-0-document": "111.444.777-35",
            f"{new}-0-name": "New Party",
            f"{new}-0-role": "RESPONSIBLE_PARTY",
            f"{new}-0-startDate": "2024-02-03",
            f"{existing}-0-DELETE": "on",
        }
    )
    response = admin_client.post(alias_change_url(alias), data)
    assert response.status_code == 302, response.content[:3000]
    parties = list(alias.related_parties.all())
    assert [(p.name, p.document, p.role) for p in parties] == [
        ("New Party", "111.444.777-35", "RESPONSIBLE_PARTY")
    ]


def test_alias_related_party_refused_by_the_rules_is_reported_and_nothing_saved(
    admin_client, alias
):
    from aliases.models import AliasAccount

    response = admin_client.get(alias_change_url(alias))
    data = form_data(response)
    new = [f.formset.prefix for f in response.context["inline_admin_formsets"]][1]
    data.update(
        {
            "bankingDetails__branch": "9999",
            f"{new}-0-document": "111.444.777-35",
            f"{new}-0-name": "Bad Dates",
            f"{new}-0-role": "RESPONSIBLE_PARTY",
            f"{new}-0-startDate": "2024-02-03",
            f"{new}-0-endDate": "2023-01-01",
        }
    )
    response = admin_client.post(alias_change_url(alias), data)
    assert response.status_code == 302
    assert response.url == alias_change_url(alias)
    page = admin_client.get(response.url)
    assert "Not saved: Related Party End Date Invalid (CRM-0029)" in page.text
    # The alias change of the same submit was rolled back with the refused parties.
    assert alias.related_parties.count() == 1
    assert AliasAccount.objects.get(pk=alias.pk).banking_branch == "0001"
    assert not LogEntry.objects.filter(object_id=str(alias.pk)).exists()


def test_alias_add_duplicate_account_is_a_form_error(admin_client, alias):
    add = reverse("admin:aliases_aliasaccount_add")
    data = form_data(admin_client.get(add))
    data.update(holder_id=str(alias.holder_id), ledgerId="l", accountId="acc-001")
    response = admin_client.post(add, data)
    assert response.status_code == 200
    assert "CRM-0013" in response.text
    data["accountId"] = "acc-777"
    assert admin_client.post(add, data).status_code == 302
    assert alias.holder.aliases.filter(account_id="acc-777").exists()


def test_holder_with_live_alias_cannot_be_soft_deleted(admin_client, alias):
    response = admin_client.post(
        reverse("admin:holders_holder_soft_delete", args=[alias.holder_id]), follow=True
    )
    assert "CRM-0017" in response.text
    assert Holder.objects.filter(pk=alias.holder_id).exists()


def test_holder_hard_delete_confirmation_lists_every_alias_then_erases(admin_client, alias):
    from aliases.models import AliasAccount, RelatedParty
    from aliases.services import alias_soft_delete
    from tests.factories import AliasFactory

    deleted = AliasFactory(holder=alias.holder, accountId="acc-003")
    alias_soft_delete(organization_id=ORG_A, holder_id=alias.holder_id, alias_id=deleted.pk)
    url = reverse("admin:holders_holder_hard_delete", args=[alias.holder_id])
    response = admin_client.get(url)
    assert str(alias.pk) in response.text
    assert str(deleted.pk) in response.text
    # the holder, both aliases and the live alias's related party
    assert "4 records" in response.text
    assert "Related party" in response.text
    assert admin_client.post(url, {"post": "yes", "reason": "LGPD Art. 18 VI"}).status_code == 302
    assert not Holder.all_objects.filter(pk=alias.holder_id).exists()
    assert not AliasAccount.all_objects.filter(holder_id=alias.holder_id).exists()
    assert not RelatedParty.objects.exists()


def test_alias_soft_delete_restore_and_hard_delete(admin_client, alias):
    from aliases.models import AliasAccount

    data = {"_selected_action": [str(alias.pk)]}
    admin_client.post(ALIAS_CHANGELIST, {**data, "action": "soft_delete_selected"})
    assert AliasAccount.all_objects.get(pk=alias.pk).deleted_at is not None
    admin_client.post(ALIAS_CHANGELIST + "?state=deleted", {**data, "action": "restore_selected"})
    assert AliasAccount.all_objects.get(pk=alias.pk).deleted_at is None
    url = reverse("admin:aliases_aliasaccount_hard_delete", args=[alias.pk])
    response = admin_client.get(url)
    assert "Related party" in response.text
    admin_client.post(url, {"post": "yes", "reason": "LGPD Art. 18 VI"})
    assert not AliasAccount.all_objects.filter(pk=alias.pk).exists()


def test_alias_hard_delete_needs_permission(client, alias):
    user = User.objects.create_user("alias-clerk", password="pw", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(codename__in=["view_aliasaccount", "change_aliasaccount"])
    )
    client.force_login(user)
    assert "hard_delete_selected" not in client.get(ALIAS_CHANGELIST).text
    url = reverse("admin:aliases_aliasaccount_hard_delete", args=[alias.pk])
    assert client.get(url).status_code == 403


def test_name_token_spans_the_bigint_column_and_round_trips(holder):
    """A name token is its search hash's first 64 bits read as a signed integer: the whole range
    of the `bigint` column, each value stored and read back unchanged."""
    digests = ["ff" * 32, "00" * 32, "7f" + "ff" * 31, "80" + "00" * 31]
    tokens = [name_token(digest) for digest in digests]
    assert tokens == [-1, 0, 2**63 - 1, -(2**63)]
    HolderNameToken.objects.filter(holder=holder).delete()
    insert_rows(holder.name_token_rows(tokens))
    stored = HolderNameToken.objects.filter(holder=holder).values_list("token_hash", flat=True)
    assert sorted(stored) == sorted(tokens)
