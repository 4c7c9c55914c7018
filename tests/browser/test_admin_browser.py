"""The back-office in a real browser (headless Chromium): log in, find a holder by a formatted
document, edit it, soft-delete and restore it, erase it through the confirmation page; a
staff user without the permission sees no hard delete."""

import re

import pytest
from django.contrib.auth.models import Permission, User
from playwright.sync_api import Page, expect

from holders.models import Holder
from tests.browser.conftest import log_in, settle

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_holder_lifecycle_in_browser(page: Page, live_server, holders):
    User.objects.create_superuser("boss", "boss@example.com", "s3cret-pass")
    holder = holders
    log_in(page, live_server, "boss", "s3cret-pass")

    # Search by a formatted document.
    page.goto(f"{live_server.url}/admin/holders/holder/")
    expect(page.locator("#result_list")).to_contain_text("***.***.247-25")
    page.fill("#searchbar", "529.982.247-25")
    page.press("#searchbar", "Enter")
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Maria José da Conceição")
    expect(page.locator("#result_list")).not_to_contain_text("52998224725")

    # Open it and edit a contact field.
    rows.first.locator(f"a[href*='{holder.pk}']").first.click()
    expect(page.locator("#id_contact__primaryEmail")).to_have_value("maria@example.com")
    page.fill("#id_contact__primaryEmail", "maria.nova@example.com")
    page.click("input[name=_continue]")
    expect(page.locator(".messagelist")).to_contain_text("changed successfully")
    settle(page)
    assert Holder.objects.get(pk=holder.pk).contact["primaryEmail"] == "maria.nova@example.com"

    # Soft delete, then restore, from the change page, each through its confirmation page.
    page.click("#crm-soft-delete")
    page.click("#crm-customer-confirm")
    expect(page.locator(".crm-banner")).to_contain_text("soft-deleted")
    settle(page)
    assert Holder.all_objects.get(pk=holder.pk).deleted_at is not None
    page.click("#crm-restore")
    page.click("#crm-customer-confirm")
    expect(page.locator(".messagelist")).to_contain_text("restored")
    settle(page)
    assert Holder.objects.filter(pk=holder.pk).exists()

    # History shows who changed which fields.
    page.click("a.historylink[href$='/history/']")
    expect(page.locator("#change-history")).to_contain_text("contact.primaryEmail")
    expect(page.locator("#change-history")).to_contain_text("staff boss")
    expect(page.locator("#change-history")).not_to_contain_text("maria.nova@example.com")
    page.go_back()

    # Hard delete through the confirmation page.
    page.click("#crm-hard-delete")
    expect(page.locator("#erase-list")).to_contain_text(str(holder.pk))
    page.fill("#crm-erase-reason", "LGPD Art. 18 VI: erasure requested, ticket 4711")
    page.click("#crm-confirm-erase")
    expect(page.locator(".messagelist")).to_contain_text("erased")
    settle(page)
    assert not Holder.all_objects.filter(pk=holder.pk).exists()


def test_admin_staff_without_permission_sees_no_hard_delete(page: Page, live_server, holders):
    user = User.objects.create_user("clerk", password="s3cret-pass", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(
            codename__in=["view_holder", "change_holder", "soft_delete_holder"]
        )
    )
    log_in(page, live_server, "clerk", "s3cret-pass")
    page.goto(f"{live_server.url}/admin/holders/holder/{holders.pk}/change/")
    expect(page.locator("#crm-soft-delete")).to_be_visible()
    expect(page.locator("#crm-hard-delete")).to_have_count(0)
    page.goto(f"{live_server.url}/admin/holders/holder/")
    options = page.locator("select[name=action] option").all_inner_texts()
    assert not any(re.search("hard", option, re.I) for option in options)
    assert any("Soft-delete" in option for option in options)
    response = page.goto(f"{live_server.url}/admin/holders/holder/{holders.pk}/hard-delete/")
    assert response.status == 403
