"""Issue 28 item 6: a CPF or CNPJ typed with wrong check digits in the admin is a warning the
clerk can confirm past ("Save anyway"), in English and Portuguese; a right one, another kind of
document or a document stored earlier is never questioned; the API stays neutral (the registry
does not verify documents, docs/api.md §0)."""

import pytest
from django.urls import reverse

from aliases.models import AliasAccount
from crm.admin.forms import SAVE_ANYWAY
from crm.models import Organization
from holders.models import Holder
from staff.roles import CLERK
from tests.conftest import ORG_A
from tests.factories import HolderFactory
from tests.test_admin import alias_change_url, change_url, form_data
from tests.test_admin_bank_work import member_of

pytestmark = pytest.mark.django_db

ADD = reverse("admin:holders_holder_add")
WARNING = {
    "en": "The check digits of this CPF do not match",
    "pt-br": "Os dígitos verificadores deste CPF não conferem",
}


@pytest.fixture
def clerk(client):
    """A clerk of a bank whose organization has its label (the Add page offers labelled
    organizations and those that already hold records)."""
    Organization.objects.create(id=ORG_A, label="Banco Exemplo")
    client.force_login(member_of(CLERK))
    return client


def add_holder(client, document: str, language: str = "en", **more):
    data = form_data(client.get(ADD))
    data.update(
        organization=str(ORG_A), type="NATURAL_PERSON", document=document, name="Carla Dias"
    )
    data.update(more)
    return client.post(ADD, data, HTTP_ACCEPT_LANGUAGE=language)


@pytest.mark.parametrize("language", ["en", "pt-br"])
def test_check_digits_wrong_cpf_is_a_warning_with_a_save_anyway_box(clerk, language):
    response = add_holder(clerk, "529.982.247-24", language)

    assert response.status_code == 200
    assert WARNING[language] in response.text
    assert f'name="document{SAVE_ANYWAY}"' in response.text
    assert not Holder.all_objects.exists()


def test_check_digits_save_anyway_saves_the_document_as_typed(clerk):
    response = add_holder(clerk, "529.982.247-24", **{f"document{SAVE_ANYWAY}": "1"})

    assert response.status_code == 302
    assert Holder.objects.get().document == "529.982.247-24"


@pytest.mark.parametrize(
    "document",
    ["529.982.247-25", "11.222.333/0001-81", "12.ABC.345/01DE-35", "P1234567", "AB-99"],
)
def test_check_digits_right_or_other_documents_save_without_a_warning(clerk, document):
    response = add_holder(clerk, document)

    assert response.status_code == 302
    assert Holder.objects.get().document == document


@pytest.mark.parametrize("document", ["11.222.333/0001-80", "12.ABC.345/01DE-53"])
def test_check_digits_wrong_cnpj_numeric_or_alphanumeric_is_a_warning(clerk, document):
    response = add_holder(clerk, document, type="LEGAL_PERSON")

    assert response.status_code == 200
    assert "The check digits of this CNPJ do not match" in response.text
    assert not Holder.all_objects.exists()


def test_check_digits_representative_document_warns_only_when_typed(clerk):
    company = HolderFactory(
        type="LEGAL_PERSON",
        document="11222333000181",
        legalPerson={"representative": {"name": "Rui", "document": "12345678900"}},
    )
    data = form_data(clerk.get(change_url(company)))
    # A wrong document stored earlier (through the API) does not stop another change.
    data["name"] = "Padaria Nova"
    assert clerk.post(change_url(company), data).status_code == 302

    data = form_data(clerk.get(change_url(company)))
    data["legalPerson__representative__document"] = "390.533.447-04"
    response = clerk.post(change_url(company), data)
    assert response.status_code == 200
    assert "The check digits of this CPF do not match" in response.text

    data[f"legalPerson__representative__document{SAVE_ANYWAY}"] = "1"
    assert clerk.post(change_url(company), data).status_code == 302
    company = Holder.objects.get(pk=company.pk)
    assert company.legal_person_private["representative"]["document"] == "390.533.447-04"


def test_check_digits_new_related_party_document_warns(clerk):
    from tests.factories import AliasFactory

    alias = AliasFactory(holder=HolderFactory())
    response = clerk.get(alias_change_url(alias))
    data = form_data(response)
    new = [f.formset.prefix for f in response.context["inline_admin_formsets"]][-1]
    party = {
        "document": "111.444.777-36",
        "name": "New Party",
        "role": "RESPONSIBLE_PARTY",
        "startDate": "2024-02-03",
    }
    data.update({f"{new}-0-{field}": value for field, value in party.items()})

    response = clerk.post(alias_change_url(alias), data)
    assert response.status_code == 200
    assert "The check digits of this CPF do not match" in response.text
    assert f'name="{new}-0-document{SAVE_ANYWAY}"' in response.text
    assert not AliasAccount.objects.get(pk=alias.pk).related_parties.exists()

    data[f"{new}-0-document{SAVE_ANYWAY}"] = "1"
    assert clerk.post(alias_change_url(alias), data).status_code == 302
    parties = AliasAccount.objects.get(pk=alias.pk).related_parties.all()
    assert [party.document for party in parties] == ["111.444.777-36"]


def test_check_digits_api_stays_neutral(api):
    response = api.post(
        "/v1/holders", {"type": "NATURAL_PERSON", "name": "Ana", "document": "529.982.247-24"}
    )

    assert response.status_code == 201
    assert response.json()["document"] == "529.982.247-24"
