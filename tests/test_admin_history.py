"""A record's History page (crm/admin/history.py, docs/api.md §12): each version's changes as
before → after with documents masked, revealed only to the data-protection officer and
recorded; "restore these values" writes a new version through the service, never the past."""

import pytest
from django.urls import reverse

from crm.models import AuditEntry, RecordVersion
from holders.models import Holder
from holders.services import holder_update
from staff.roles import CLERK, DATA_PROTECTION_OFFICER
from tests.conftest import ORG_A
from tests.factories import HolderFactory
from tests.test_admin_bank_work import member_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def holder(db):
    holder = HolderFactory(name="Hilda Historia", document="52998224725")
    holder_update(organization_id=ORG_A, holder_id=holder.pk, patch={"name": "Hilda Errada"})
    return Holder.objects.get(pk=holder.pk)


def history(client, holder, **post):
    url = reverse("admin:holders_holder_history", args=[holder.pk])
    return client.post(url, post) if post else client.get(url)


def test_history_shows_each_change_before_and_after_with_documents_masked(client, holder):
    client.force_login(member_of(CLERK))
    text = history(client, holder).content.decode()

    assert 'id="crm-version-2"' in text and 'id="crm-version-1"' in text
    assert 'Hilda Historia</span> → <span class="crm-after">Hilda Errada' in text
    assert "52998224725" not in text and "***.***.247-25" in text
    assert 'id="crm-history-reveal"' not in text  # a clerk cannot reveal


def test_a_data_protection_officer_reveals_documents_and_it_is_recorded(client, holder):
    client.force_login(member_of(DATA_PROTECTION_OFFICER, "dpo-rui"))
    assert 'id="crm-history-reveal"' in history(client, holder).content.decode()

    text = history(client, holder, reveal="1").content.decode()

    assert "52998224725" in text
    entry = AuditEntry.objects.get(object_id=holder.pk, action="view_document")
    assert (entry.actor, entry.changed_fields) == ("dpo-rui", ["history"])


def test_a_clerk_cannot_reveal(client, holder):
    client.force_login(member_of(CLERK))
    assert history(client, holder, reveal="1").status_code == 403
    assert not AuditEntry.objects.filter(action="view_document").exists()


def test_restore_these_values_writes_a_new_version(client, holder):
    client.force_login(member_of(CLERK, "clerk-ana"))
    url = reverse("admin:holders_holder_restore_version", args=[holder.pk])

    response = client.post(url, {"number": "1", "current": str(holder.version)})

    assert response.status_code == 302
    restored = Holder.objects.get(pk=holder.pk)
    assert (restored.name, restored.version) == ("Hilda Historia", 3)
    latest = RecordVersion.objects.get(object_id=holder.pk, number=3)
    assert (latest.action, latest.actor, latest.changed_fields) == ("update", "clerk-ana", ["name"])
    assert RecordVersion.objects.get(object_id=holder.pk, number=2).body["name"] == "Hilda Errada"


def test_restore_from_a_stale_page_is_refused(client, holder):
    client.force_login(member_of(CLERK))
    url = reverse("admin:holders_holder_restore_version", args=[holder.pk])
    stale = holder.version
    holder_update(organization_id=ORG_A, holder_id=holder.pk, patch={"name": "Hilda Nova"})

    response = client.post(url, {"number": "1", "current": str(stale)}, follow=True)

    assert "changed since you read it" in response.content.decode()
    assert Holder.objects.get(pk=holder.pk).name == "Hilda Nova"
