"""Error pages of the back-office: a 403, 404 or 500 inside `/admin/` is an HTML page in the
admin's look (staff are people in a browser), while everything else keeps the API's JSON
error shape (`crm.api.views`)."""

import logging

from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

logger = logging.getLogger("crm.admin")

TEXTS = {
    400: (_("Bad request"), _("The request could not be accepted.")),
    403: (
        _("Permission denied"),
        _(
            "Your account is not allowed to do this. Ask an administrator "
            "for the permission if your work needs it."
        ),
    ),
    404: (_("Page not found"), _("There is no such page, or the record no longer exists.")),
    429: (
        _("Too many failed logins"),
        _(
            "This account is locked on this computer after too many failed logins. Wait "
            "%(minutes)s minutes and try again, or ask an administrator to unlock it."
        ),
    ),
    500: (
        _("Server error"),
        _(
            "Something went wrong on our side. Nothing you did caused it; try "
            "again in a moment. The error was logged."
        ),
    ),
    503: (_("Service unavailable"), _("The database is not answering. Try again in a moment.")),
}


def crm_error_text(error) -> str:
    """A service's refusal (`crm.api.errors.CRMError`) as staff read it, in their language:
    "title (code): the fields' messages, or the error's message". The API answers the same
    error in English."""
    fields = "; ".join(f"{name}: {message}" for name, message in (error.fields or {}).items())
    return f"{gettext(error.spec.title)} ({error.code}): {fields or gettext(error.message)}"


def is_admin_path(request: HttpRequest) -> bool:
    return request.path.startswith("/admin/")


def lockout_page(request: HttpRequest, response=None, credentials=None) -> HttpResponse:
    """django-axes' lockout answer (`AXES_LOCKOUT_CALLABLE`): a 429 in the admin's look and the
    staff member's language, saying how long to wait (axes' own is an English text line)."""
    minutes = round(settings.AXES_COOLOFF_TIME.total_seconds() / 60)
    return admin_error_page(request, 429, TEXTS[429][1] % {"minutes": minutes})


def admin_error_page(request: HttpRequest, status: int, message: str = "") -> HttpResponse:
    """The admin-look page for `status`. A 5xx page renders without the request (no session,
    user or database lookups, which may be what failed); a 4xx page gets the admin's usual
    context (the user's name and links)."""
    title, default_message = TEXTS.get(status, TEXTS[500])
    context = {
        "title": title,
        "message": message or default_message,
        "status": status,
        "site_header": admin.site.site_header,
        "site_title": admin.site.site_title,
    }
    if status < 500:
        try:
            context = {**admin.site.each_context(request), **context}
            html = render_to_string("admin/crm/error.html", context, request=request)
        except Exception:  # an error page must not fail in turn
            logger.exception("admin error page rendered without its context")
            html = render_to_string("admin/crm/error.html", context)
    else:
        html = render_to_string("admin/crm/error.html", context)
    return HttpResponse(html, status=status)


# The C0 and C1 controls but for tab and line breaks (pasted text): no stored value holds one,
# and PostgreSQL refuses NUL in a text parameter outright.
UNSEARCHABLE = frozenset(map(chr, [*range(0x20), *range(0x7F, 0xA0)])) - {"\t", "\n", "\r"}
UNSEARCHABLE_MESSAGE = _(
    "The search or a filter in this address holds a control character (such as NUL), which "
    "no record contains, so it cannot be searched and nothing was listed or exported. Go back "
    "and retype the search without it."
)


def unsearchable(query) -> bool:
    """True when a query string (a `QueryDict`) holds a control character in a parameter's
    name or value."""
    return any(
        not UNSEARCHABLE.isdisjoint(text)
        for name, values in query.lists()
        for text in (name, *values)
    )


class UnsearchableQueryMiddleware:
    """Any back-office page (a list's search box and filters, an export, a lookup) asked with
    a control character in its query string gets a 400 page in the admin's look saying why,
    before any view runs: never a 500 from the database, never a list or an export that
    quietly ignored the term."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if is_admin_path(request) and unsearchable(request.GET):
            return admin_error_page(request, 400, UNSEARCHABLE_MESSAGE)
        return self.get_response(request)
