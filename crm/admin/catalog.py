"""The admin's translation script (`/admin/jsi18n/`), cached by the browser (issue 28 item 8).

Every admin list and form loads `jsi18n/`, the JavaScript catalog of the admin's strings, and
Django serves it with no caching headers: each page load asked for it again, through the whole
middleware, session and permission stack (60-170 ms of a 330-590 ms page load measured in
Chromium, while the page itself took under 205 ms). It changes only with the language and a
deployment, so `catalog_view` (routed at the same address, before the admin's own URLs, in
`config/urls.py`)

* builds it once per language per process (Django's own `JavaScriptCatalog`, the admin's
  package, as `AdminSite.i18n_javascript` does);
* answers with an ETag of its content and `Cache-Control: private, max-age=CATALOG_MAX_AGE`:
  the browser reuses it without a request for a day, then revalidates and gets a `304`. The
  language is chosen per request (`Vary: Accept-Language, Cookie`), and a deployment that
  changes a translation changes the ETag.

It stays behind the admin's login (`admin_view`), as Django's is.
"""

import hashlib
from dataclasses import dataclass

from django.http import HttpResponse
from django.utils.translation import get_language
from django.views.decorators.cache import cache_control
from django.views.decorators.http import etag, require_safe
from django.views.i18n import JavaScriptCatalog

CATALOG_MAX_AGE = 24 * 60 * 60
ADMIN_PACKAGES = ["django.contrib.admin"]


@dataclass(frozen=True)
class Catalog:
    content: bytes
    content_type: str
    etag: str


_catalogs: dict[str, Catalog] = {}


def language_catalog(request) -> Catalog:
    """The catalog of the request's language (`LocaleMiddleware` chose it), built on first
    use; two threads building it at once build the same bytes."""
    language = get_language()
    catalog = _catalogs.get(language)
    if catalog is None:
        response = JavaScriptCatalog.as_view(packages=ADMIN_PACKAGES)(request)
        content = response.content
        digest = hashlib.sha256(content).hexdigest()[:32]
        catalog = _catalogs.setdefault(
            language, Catalog(content, response["Content-Type"], f"{language}-{digest}")
        )
    return catalog


@require_safe
@cache_control(private=True, max_age=CATALOG_MAX_AGE)
@etag(lambda request: language_catalog(request).etag)
def catalog_view(request):
    catalog = language_catalog(request)
    return HttpResponse(catalog.content, content_type=catalog.content_type)
