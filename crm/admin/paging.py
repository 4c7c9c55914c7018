"""Paging of the back-office lists: one count, said the same way everywhere, a "Show all" that
works within a bound, and a page past the end that says so (issue 28 item 8).

* **Counts** come from `EstimatedCountPaginator` (`crm.admin.counting`: exact up to
  `EXACT_LIMIT`, then an estimate or a lower bound). `count_text` words them once — "1,234
  holders", "about 50,089 holders", "more than 10,000 holders" — for the search bar, the
  paginator, the actions bar ("Select all: …") and the export's confirmation page.
* **Show all** lists the whole selection on one page when it has at most `SHOW_ALL_ROWS` rows
  (an exact count): the page decrypts at most that many rows. Beyond it Django does not offer
  the link, and the search bar no longer offers its own "Show all" (which only cleared the
  search, or did nothing without one).
* **A page past the end** (`?p=250` of 200 pages, `?p=0`, `?p=x`) is redirected to the nearest
  page that exists with a message saying so, the filters and search kept: Django would
  silently show the first page of the unfiltered list (`?e=1`).
"""

from django.contrib import messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import PAGE_VAR, ChangeList
from django.http import HttpResponseRedirect
from django.utils import formats
from django.utils.translation import gettext, ngettext

from crm.admin.counting import EstimatedCountPaginator

LIST_PER_PAGE = 50
SHOW_ALL_ROWS = 200
# How much of an unusable page number the message repeats.
SHOWN_PAGE_CHARS = 20


def count_text(count: int, estimate: str, opts) -> str:
    """A list's size in words: `count` rows of `opts`' model, exact (`estimate` "") or
    "about" / "more than" (`EstimatedCountPaginator.estimate`)."""
    number = formats.number_format(count, force_grouping=True)
    if estimate == "about":
        return gettext("about %(count)s %(name)s") % {
            "count": number,
            "name": opts.verbose_name_plural,
        }
    if estimate:
        return gettext("more than %(count)s %(name)s") % {
            "count": number,
            "name": opts.verbose_name_plural,
        }
    return f"{number} {opts.verbose_name if count == 1 else opts.verbose_name_plural}"


def list_count_text(changelist) -> str:
    """`count_text` of a changelist (any paginator: Django's own counts exactly)."""
    estimate = getattr(changelist.paginator, "estimate", "")
    return count_text(changelist.result_count, estimate, changelist.opts)


class PagedChangeList(ChangeList):
    """A changelist that turns a page number it cannot show into the nearest page it can,
    and remembers what was asked (`page_asked`) so the view can say so."""

    page_asked: str | None = None

    def get_results(self, request) -> None:
        asked = request.GET.get(PAGE_VAR)
        if asked is not None and not asked.strip().lstrip("-").isdigit():
            self.page_asked = asked  # Django reads it as page 1 without a word
        try:
            super().get_results(request)
        except IncorrectLookupParameters:  # raised here only for a page out of range
            self.page_asked = asked
            last = self.model_admin.get_paginator(
                request, self.queryset, self.list_per_page
            ).num_pages
            self.page_num = min(max(self.page_num, 1), last)
            super().get_results(request)


class PagedAdmin:
    """A `ModelAdmin` mixin for the back-office's lists: bounded counts, the bounded "Show
    all" and the out-of-range redirect (module docstring)."""

    paginator = EstimatedCountPaginator
    show_full_result_count = False  # the unfiltered total would be a COUNT(*) of the table
    list_per_page = LIST_PER_PAGE
    list_max_show_all = SHOW_ALL_ROWS

    def get_changelist(self, request, **kwargs):
        return PagedChangeList

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        context = getattr(response, "context_data", None) or {}
        changelist = context.get("cl")
        if not isinstance(changelist, PagedChangeList):
            return response  # a redirect, an action's own response, an error page
        if changelist.page_asked is not None:
            self.message_user(request, page_message(changelist), messages.WARNING)
            return HttpResponseRedirect(
                changelist.get_query_string({PAGE_VAR: changelist.page_num})
            )
        # The actions bar once "Select all" was clicked, in the list's words (Django: "All
        # 10000 selected" where the list says "more than 10,000").
        context["selection_note_all"] = gettext("All selected: %(count)s") % {
            "count": list_count_text(changelist)
        }
        return response


def page_message(changelist: PagedChangeList) -> str:
    """What a list says when asked for a page it does not have (`page_asked`); the list is
    then shown at `page_num`, the nearest page that exists."""
    asked = str(changelist.page_asked)[:SHOWN_PAGE_CHARS]
    pages = changelist.paginator.num_pages
    if changelist.page_num == 1 and pages > 1:
        return gettext("There is no page %(asked)s: here is the first page.") % {"asked": asked}
    if getattr(changelist.paginator, "estimate", ""):
        return gettext(
            "There is no page %(asked)s: this list goes up to page %(pages)s (%(count)s). "
            "Narrow the search or the filters to reach the others; here is the last page."
        ) % {"asked": asked, "pages": pages, "count": list_count_text(changelist)}
    return ngettext(
        "There is no page %(asked)s: this list has %(pages)s page.",
        "There is no page %(asked)s: this list has %(pages)s pages; here is the last one.",
        pages,
    ) % {"asked": asked, "pages": pages}
