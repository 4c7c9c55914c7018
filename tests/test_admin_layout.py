"""The holder page's layout (issue 11 item 7): alias accounts right under the identity section
(a page of them, then a link to all), inputs wide enough for addresses and IBANs."""

import re

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from aliases import admin as aliases_admin
from tests.factories import AliasFactory, HolderFactory


@pytest.fixture
def boss(client, db):
    client.force_login(User.objects.create_superuser("boss", "boss@example.com", "pw"))
    return client


def test_holder_page_shows_aliases_right_under_the_identity(boss):
    holder = HolderFactory()
    alias = AliasFactory(holder=holder)
    page = boss.get(reverse("admin:holders_holder_change", args=[holder.pk])).text
    identity = page.index('id="fieldset-0-0-heading"')
    aliases = page.index(reverse("admin:aliases_aliasaccount_change", args=[alias.pk]))
    contact = page.index('id="fieldset-0-1-heading"')
    assert identity < aliases < contact
    assert 'id="crm-inlines-more"' not in page  # every alias is shown: no link to more


def test_holder_page_lists_a_page_of_aliases(boss, monkeypatch):
    monkeypatch.setattr(aliases_admin, "ALIASES_SHOWN", 2)
    holder = HolderFactory()
    aliases = [AliasFactory(holder=holder) for _ in range(3)]
    page = boss.get(reverse("admin:holders_holder_change", args=[holder.pk])).text
    shown = [
        a for a in aliases if reverse("admin:aliases_aliasaccount_change", args=[a.pk]) in page
    ]
    assert len(shown) == 2
    more = re.search(r'<a href="([^"]+)" id="crm-inlines-more">', page).group(1)
    assert more == f"{reverse('admin:aliases_aliasaccount_changelist')}?q={holder.pk}&amp;state=all"
    # The link lists them all.
    listed = boss.get(reverse("admin:aliases_aliasaccount_changelist"), {"q": str(holder.pk)})
    assert all(str(a.pk) in listed.text for a in aliases)


def test_inputs_are_wide_enough_for_addresses_and_ibans(boss):
    holder = HolderFactory()
    page = boss.get(reverse("admin:holders_holder_change", args=[holder.pk])).text
    line1 = re.search(r'<input[^>]+name="addresses__primary__line1"[^>]*>', page).group(0)
    assert "crm-wide" in line1
    zip_code = re.search(r'<input[^>]+name="addresses__primary__zipCode"[^>]*>', page).group(0)
    assert "crm-short" in zip_code
    alias = AliasFactory(holder=holder)
    alias_page = boss.get(reverse("admin:aliases_aliasaccount_change", args=[alias.pk])).text
    iban = re.search(r'<input[^>]+name="bankingDetails__iban"[^>]*>', alias_page).group(0)
    assert "crm-wide" in iban
    assert "input.vTextField.crm-wide { width: 36em" in page
