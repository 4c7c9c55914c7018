"""Two people editing one record in the back-office (docs/api.md §12): the change page carries
the version it was opened at; saving it after someone else changed the record is refused with a
message naming the fields they changed, when and who, and nothing is written. The service checks
the version again on the locked row, so a change landing between the check and the save is
refused too (CRM-0911)."""

import pytest
from django.utils import translation

from crm.admin.forms import stale_form_message
from crm.lifecycle.audit import Actor, acting_as
from crm.models import AuditEntry, RecordVersion
from holders.models import Holder
from holders.services import holder_update
from tests.conftest import ORG_A
from tests.factories import AliasFactory, HolderFactory
from tests.test_admin import change_url, form_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def holder(db):
    return HolderFactory(
        name="Maria Stale",
        addresses={"primary": {"line1": "Rua Velha, 1", "city": "Belém", "country": "BR"}},
    )


def someone_else_changes_the_address(holder) -> None:
    with acting_as(Actor("staff", "clerk-bia")):
        holder_update(
            organization_id=ORG_A,
            holder_id=holder.pk,
            patch={"addresses": {"primary": {"line1": "Rua Nova, 2"}}},
        )


def test_the_change_page_carries_the_version_it_was_opened_at(admin_client, holder):
    page = admin_client.get(change_url(holder))
    assert f'name="opened_version" value="{holder.version}"' in page.text


def test_a_stale_page_is_refused_naming_what_changed_and_nothing_is_written(admin_client, holder):
    data = form_data(admin_client.get(change_url(holder)))  # the supervisor opens the page
    someone_else_changes_the_address(holder)  # the clerk corrects the address meanwhile
    data["name"] = "Maria Stale Souza"  # the supervisor edits the name and saves

    response = admin_client.post(change_url(holder), data)

    assert response.status_code == 200  # the page again, with the message
    text = response.content.decode()
    assert "Someone else changed this record after you opened this page" in text
    assert "addresses.primary" in text and "clerk-bia" in text
    stored = Holder.objects.get(pk=holder.pk)
    assert stored.name == "Maria Stale"
    assert stored.addresses["primary"]["line1"] == "Rua Nova, 2"  # the correction stands
    assert stored.version == 2
    assert RecordVersion.objects.filter(object_id=holder.pk).count() == 2
    assert not AuditEntry.objects.filter(object_id=holder.pk, actor="admin").exists()


def test_a_fresh_page_saves(admin_client, holder):
    someone_else_changes_the_address(holder)
    data = form_data(admin_client.get(change_url(holder)))  # opened after the change
    data["name"] = "Maria Fresh"

    assert admin_client.post(change_url(holder), data).status_code == 302
    stored = Holder.objects.get(pk=holder.pk)
    assert (stored.name, stored.addresses["primary"]["line1"]) == ("Maria Fresh", "Rua Nova, 2")


def test_a_change_between_the_check_and_the_save_is_refused_by_the_service(
    admin_client, holder, monkeypatch
):
    """The form's check passed; the record changes before the service locks it: the service's
    own comparison (If-Match on the locked row) refuses the save."""
    from holders import admin as holders_admin

    data = form_data(admin_client.get(change_url(holder)))
    data["name"] = "Maria Race"
    real = holders_admin.services.holder_update

    def raced(**kwargs):
        someone_else_changes_the_address(holder)
        return real(**kwargs)

    monkeypatch.setattr(holders_admin.services, "holder_update", raced)
    response = admin_client.post(change_url(holder), data, follow=True)

    assert "changed since you read it" in response.content.decode()
    assert Holder.objects.get(pk=holder.pk).name == "Maria Stale"


def test_a_stale_alias_page_is_refused_too(admin_client):
    alias = AliasFactory()
    url = f"/admin/aliases/aliasaccount/{alias.pk}/change/"
    data = form_data(admin_client.get(url))
    from aliases.services import alias_update

    alias_update(
        organization_id=alias.organization_id,
        holder_id=alias.holder_id,
        alias_id=alias.pk,
        patch={"metadata": {"tier": "gold"}},
    )
    data["metadata"] = "tier = silver"

    response = admin_client.post(url, data)

    assert response.status_code == 200
    assert "Someone else changed this record" in response.content.decode()
    assert alias.__class__.objects.get(pk=alias.pk).metadata == {"tier": "gold"}


def test_the_message_is_translated_to_brazilian_portuguese(holder):
    someone_else_changes_the_address(holder)
    with translation.override("pt-br"):
        message = stale_form_message(Holder.objects.get(pk=holder.pk), 1)
    assert "Outra pessoa alterou este registro" in message
    assert "addresses.primary" in message and "clerk-bia" in message
