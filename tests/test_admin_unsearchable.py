"""A control character (NUL, …) in any back-office query string — a list's search box or
filters, an export, another admin list — is a 400 page in the admin's look that says why:
never a 500 from the database (PostgreSQL refuses NUL in a text parameter), never a list or an
export that quietly ignored the term (crm/admin/errors.py)."""

import pytest
from django.urls import reverse

from crm.models import AuditEntry
from tests.factories import AliasFactory, HolderFactory

pytestmark = pytest.mark.django_db

HOLDERS = reverse("admin:holders_holder_changelist")
EXPORT = reverse("admin:holders_holder_export")


@pytest.fixture
def registry(db):
    holder = HolderFactory()
    AliasFactory(holder=holder)
    return holder


@pytest.mark.parametrize(
    "url",
    [
        HOLDERS + "?q=%00",
        HOLDERS + "?q=Maria%00",
        HOLDERS + "?external_id=%00",
        HOLDERS + "?q=%1b%5b31m",
        HOLDERS + "?%00=1",
        reverse("admin:aliases_aliasaccount_changelist") + "?q=%00",
        reverse("admin:crm_auditentry_changelist") + "?q=%00",
        reverse("admin:auth_user_changelist") + "?q=%00",
        reverse("admin:holders_holder_export") + "?q=%C2%85",
    ],
)
def test_a_control_character_is_a_clear_400_page(admin_client, registry, url):
    response = admin_client.get(url)

    assert response.status_code == 400
    assert "holds a control character" in response.text
    assert 'id="crm-error-message"' in response.text  # the admin's look, not a stack trace


def test_an_export_with_an_unsearchable_term_exports_nothing_and_records_nothing(
    admin_client, registry
):
    response = admin_client.get(EXPORT + "?q=%00")

    assert response.status_code == 400
    assert not response.streaming  # the error page, not a CSV stream
    assert not AuditEntry.objects.filter(action="export").exists()


def test_tabs_and_line_breaks_pasted_into_the_search_still_search(admin_client, registry):
    response = admin_client.get(HOLDERS + "?q=Maria%0A")
    assert response.status_code == 200
