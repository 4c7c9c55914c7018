"""Paging of the back-office lists (issue 28 item 8): the count said the same way at the top, at
the bottom and in the actions bar; "Show all" offered only within its bound, and working; a page
past the end says so (the filters kept) instead of silently showing page 1; the admin's
translation script served with caching headers."""

import re

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import translation

from crm.admin.counting import EstimatedCountPaginator
from crm.admin.paging import SHOW_ALL_ROWS, count_text
from crm.models import AuditEntry
from events.models import OutboxEvent
from holders.models import Holder
from holders.services import holder_soft_delete
from tests.conftest import ORG_A
from tests.factories import HolderFactory

HOLDERS = reverse("admin:holders_holder_changelist")
AUDIT = reverse("admin:crm_auditentry_changelist")
OUTBOX = reverse("admin:events_outboxevent_changelist")
CATALOG = reverse("admin:jsi18n")


@pytest.fixture
def boss(client, db):
    client.force_login(User.objects.create_superuser("boss", "boss@example.com", "pw"))
    return client


@pytest.fixture
def five(db):
    holders = [HolderFactory(name=f"Pessoa {n}") for n in range(5)]
    holder_soft_delete(organization_id=ORG_A, holder_id=holders[0].id)
    return holders


@pytest.fixture
def two_per_page(monkeypatch):
    monkeypatch.setattr(admin.site.get_model_admin(Holder), "list_per_page", 2)


def counts(page: str) -> tuple[str, str]:
    top = re.search(r'id="crm-count-top">([^<]*)<', page).group(1).strip()
    bottom = re.search(r'id="crm-count-bottom">([^<]*)<', page).group(1).strip()
    return top, bottom


# --- counts ---------------------------------------------------------------------------------------


def test_the_count_reads_the_same_at_the_top_and_the_bottom(boss, five, two_per_page):
    page = boss.get(HOLDERS).text
    assert counts(page) == ("4 holders", "4 holders")
    assert "Select all: 4 holders" in page
    assert "(<a" not in re.search(r'id="crm-count-top">.*?</span>', page).group(0)  # no link


def test_an_estimated_count_reads_the_same_everywhere(boss, five, two_per_page, monkeypatch):
    monkeypatch.setattr(EstimatedCountPaginator, "exact_limit", 3)
    response = boss.get(HOLDERS)
    top, bottom = counts(response.text)
    assert top == bottom
    # SQLite: a lower bound; PostgreSQL: the planner's estimate of the 4 live holders.
    assert top == "more than 3 holders" or top.startswith("about ")
    assert f"Select all: {top}" in response.text
    assert response.context["selection_note_all"] == f"All selected: {top}"


def test_counts_group_thousands_in_each_language():
    opts = Holder._meta
    with translation.override("en"):
        assert count_text(10000, "more than", opts) == "more than 10,000 holders"
        assert count_text(1234, "", opts) == "1,234 holders"
        assert count_text(1, "", opts) == "1 holder"
    with translation.override("pt-br"):
        assert count_text(10000, "more than", opts) == "mais de 10.000 titulares"
        assert count_text(50089, "about", opts) == "cerca de 50.089 titulares"


# --- show all -------------------------------------------------------------------------------------


def test_show_all_is_offered_within_its_bound_and_lists_everything(boss, five, two_per_page):
    page = boss.get(HOLDERS, {"state": "all"})
    link = re.search(r'<a href="([^"]+)" class="showall" id="crm-show-all">', page.text)
    assert link
    everything = boss.get(HOLDERS + link.group(1).replace("&amp;", "&"))
    assert len(everything.context["cl"].result_list) == 5
    assert 'class="showall"' not in everything.text  # already showing all
    assert SHOW_ALL_ROWS == 200


def test_show_all_is_not_offered_beyond_its_bound(boss, five, two_per_page, monkeypatch):
    monkeypatch.setattr(admin.site.get_model_admin(Holder), "list_max_show_all", 3)
    page = boss.get(HOLDERS, {"state": "all"})
    assert 'class="showall"' not in page.text
    # Asked anyway: one page, never the unbounded list.
    assert len(boss.get(HOLDERS, {"state": "all", "all": ""}).context["cl"].result_list) == 2


# --- a page past the end --------------------------------------------------------------------------


def test_a_page_past_the_end_says_so_and_keeps_the_filters(boss, five, two_per_page):
    response = boss.get(HOLDERS, {"state": "all", "p": "250"})
    assert response.status_code == 302
    assert response["Location"] == "?p=3&state=all"
    page = boss.get(HOLDERS + response["Location"])
    assert page.context["cl"].page_num == 3
    assert "There is no page 250: this list has 3 pages; here is the last one." in page.text


@pytest.mark.parametrize("asked", ["0", "-4", "x"])
def test_a_page_before_the_first_or_not_a_number_says_so(boss, five, two_per_page, asked):
    response = boss.get(HOLDERS, {"p": asked, "q": "Pessoa"})
    assert response.status_code == 302
    assert response["Location"] == "?p=1&q=Pessoa"
    page = boss.get(HOLDERS + response["Location"])
    assert f"There is no page {asked}: here is the first page." in page.text


def test_a_page_past_an_estimated_end_says_how_far_the_list_goes(
    boss, five, two_per_page, monkeypatch
):
    monkeypatch.setattr(EstimatedCountPaginator, "exact_limit", 3)
    response = boss.get(HOLDERS, {"p": "9"}, follow=True)
    pages = response.context["cl"].paginator.num_pages
    assert response.context["cl"].page_num == pages
    assert f"There is no page 9: this list goes up to page {pages}" in response.text
    assert "Narrow the search or the filters" in response.text


def test_a_page_past_the_end_in_portuguese(boss, five, two_per_page):
    page = boss.get(HOLDERS, {"p": "7"}, follow=True, HTTP_ACCEPT_LANGUAGE="pt-BR")
    assert "Não há página 7: esta lista tem 2 páginas; esta é a última." in page.text


def test_the_audit_trail_and_the_outbox_page_the_same_way(boss, five, monkeypatch):
    for model in (AuditEntry, OutboxEvent):
        monkeypatch.setattr(admin.site.get_model_admin(model), "list_per_page", 2)
    response = boss.get(AUDIT, {"p": "99"}, follow=True)
    assert response.context["cl"].page_num == response.context["cl"].paginator.num_pages > 1
    assert "There is no page 99" in response.text
    assert counts(response.text)[1].endswith("audit entries")
    outbox = boss.get(OUTBOX)
    assert isinstance(outbox.context["cl"].paginator, EstimatedCountPaginator)
    assert 'id="crm-count-bottom"' in outbox.text


# --- the translation script -----------------------------------------------------------------------


def test_the_translation_script_is_cached_per_language(boss):
    english = boss.get(CATALOG)
    assert english.status_code == 200
    assert english["Content-Type"].startswith("text/javascript")
    cache_control = {part.strip() for part in english["Cache-Control"].split(",")}
    assert {"private", "max-age=86400"} <= cache_control
    assert "Accept-Language" in english["Vary"]
    etag = english["ETag"]
    assert etag.startswith('"en-')
    again = boss.get(CATALOG, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304
    assert again.content == b""
    portuguese = boss.get(CATALOG, HTTP_ACCEPT_LANGUAGE="pt-BR")
    assert portuguese["ETag"] != etag
    # The admin's own strings ("Available %s"), in the request's language.
    assert b"%s dispon\\u00edveis" in portuguese.content
    assert b"dispon" not in english.content
    assert boss.get(CATALOG, HTTP_IF_NONE_MATCH=etag, HTTP_ACCEPT_LANGUAGE="pt-BR").status_code == (
        200
    )


def test_the_translation_script_needs_a_staff_login(client, db):
    response = client.get(CATALOG)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
