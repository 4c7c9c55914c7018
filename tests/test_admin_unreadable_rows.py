"""A row no configured key decrypts (its key was lost) in the back-office: the lists show the
other rows and mark that one, its page is read-only with a banner, an export marks it, and no
save writes the mark over the stored ciphertext (crm/admin/unreadable.py); the API keeps
refusing to guess."""

import pytest
from django.db import connection
from django.urls import reverse

from crm.crypto.encryption import UNREADABLE_TEXT, DecryptionError
from holders.models import Holder
from tests.factories import AliasFactory, HolderFactory

pytestmark = pytest.mark.django_db

HOLDERS = reverse("admin:holders_holder_changelist")
ALIASES = reverse("admin:aliases_aliasaccount_changelist")


@pytest.fixture
def lost(settings):
    """A holder and an alias written under a key that is then lost, and a readable pair
    written under the new key."""
    gone = HolderFactory(name="Gone Under Oldkey", document="52998224725")
    gone_alias = AliasFactory(holder=gone)
    settings.LCRYPTO_ENCRYPT_SECRET_KEY = "cd" * 32
    settings.LCRYPTO_PREVIOUS_ENCRYPT_SECRET_KEYS = []
    readable = HolderFactory(name="Readable Newkey", document="39053344705")
    AliasFactory(holder=readable)
    return gone, gone_alias, readable


def test_the_lists_show_every_row_and_mark_the_unreadable_one(admin_client, lost):
    for url in (HOLDERS, ALIASES, HOLDERS + "?state=all"):
        page = admin_client.get(url)
        assert page.status_code == 200, url
        assert UNREADABLE_TEXT in page.text
    assert "Readable Newkey" in admin_client.get(HOLDERS).text


def test_the_unreadable_record_page_is_read_only_with_a_banner(admin_client, lost):
    gone, gone_alias, _ = lost
    for url in (
        reverse("admin:holders_holder_change", args=[gone.pk]),
        reverse("admin:aliases_aliasaccount_change", args=[gone_alias.pk]),
    ):
        page = admin_client.get(url)
        assert page.status_code == 200, url
        assert 'id="crm-unreadable"' in page.text
        assert 'name="_save"' not in page.text  # read-only: no save button

    url = reverse("admin:holders_holder_change", args=[gone.pk])
    before = stored_name(gone)
    response = admin_client.post(url, {"name": "Overwritten", "type": "NATURAL_PERSON"})
    assert response.status_code == 403
    assert stored_name(gone) == before  # the ciphertext as it was


def stored_name(holder) -> bytes:
    """The `name` column's stored bytes (no decryption)."""
    table = connection.ops.quote_name(Holder._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT name FROM {table} WHERE id = %s",
            [Holder._meta.pk.get_db_prep_value(holder.pk, connection)],
        )
        return bytes(cursor.fetchone()[0])


def test_an_export_marks_the_unreadable_row(admin_client, lost):
    response = admin_client.get(reverse("admin:holders_holder_export"))
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    assert UNREADABLE_TEXT in text and "Readable Newkey" in text


def test_a_mark_is_never_written_back(lost):
    from crm.crypto.encryption import reading_unreadable_as_marks

    gone, _, _ = lost
    with reading_unreadable_as_marks():
        loaded = Holder.all_objects.get(pk=gone.pk)
    assert loaded.name == UNREADABLE_TEXT
    with pytest.raises(DecryptionError, match="cannot be written back"):
        loaded.save()


def test_outside_the_back_office_the_row_still_refuses_to_load(lost):
    gone, _, _ = lost
    with pytest.raises(DecryptionError):
        Holder.all_objects.get(pk=gone.pk)
