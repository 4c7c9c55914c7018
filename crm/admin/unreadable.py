"""Rows no configured key decrypts, in the back-office: shown and marked, never a 500.

A row written under an encryption key that is gone raises `DecryptionError` when it loads.
The API and the commands keep that (they must not answer with a guess); staff browsing a list
need the other rows. So every back-office page loads such values as marks
(`crm.crypto.encryption.reading_unreadable_as_marks`: "⚠ cannot be read with the current
keys"): a list shows the row with the mark, its page is read-only with a banner saying why,
an export writes the mark, and no save can write a mark back over the stored ciphertext (the
fields refuse it). Erasure needs no key at all (`ERASURE_COLUMNS`), so a lost-key record can
still be erased.
"""

from django.http import HttpRequest, HttpResponse

from crm.admin.errors import is_admin_path
from crm.crypto.encryption import reading_unreadable_as_marks


class UnreadableRowsMiddleware:
    """Every `/admin/` page, rendering included, loads undecryptable values as marks."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not is_admin_path(request):
            return self.get_response(request)
        with reading_unreadable_as_marks():
            return self.get_response(request)
