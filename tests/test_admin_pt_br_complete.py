"""The back-office speaks only Brazilian Portuguese to a pt-BR browser (issue 28 item 7,
docs/admin.md "Languages"): every page a superuser can reach from the dashboard by following
links, and the error pages, are rendered in pt-BR and their visible text is searched for
English words. A string shown to staff that is not marked for translation, or marked but
missing from the catalog, shows up here; the catalog itself must have no fuzzy entry (a fuzzy
entry is not used by gettext, so the page would be English) and no untranslated one.

The pages are filled with records of every kind (holders, accounts with related parties, audit
entries of every action, versions, organizations, tokens, events) whose own values hold no
English words, so what is found is the interface's."""

import html.parser
import re
from collections import deque
from urllib.parse import urldefrag, urlsplit

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

from staff.roles import CLERK, ensure_roles
from tests.test_admin_i18n import CATALOG

pytestmark = pytest.mark.django_db

PT_BR = {"HTTP_ACCEPT_LANGUAGE": "pt-BR"}
MAX_PAGES = 250
# Words that betray an English interface: function words of English sentences and the
# interface's own nouns and verbs. None is spelt alike in Portuguese.
ENGLISH = re.compile(
    r"\b(the|and|of|with|this|for|from|not|was|were|has|have|are|is|you|your|by|on|at|"
    r"Organization|Organizations|Holder|Holders|Account|Accounts|Record|Records|Reason|Create|"
    r"Created|Update|Updated|Soft delete|Restore|Restored|Hard delete|Export|Home|Change|"
    r"Changed|Delete|Deleted|Save|History|Search|Filter|Yes|Unknown|Document|Name|Type|Bank|"
    r"Branch|Related|Party|Parties|staff|command|system|View|Show|Hide|Reveal|Back|Cancel|"
    r"Confirm|events|Outbox|Key|Keys|Rotate|Legal hold|Hold|Verify|Verified|Plan|Erase|Erased|"
    r"Request|Requested|Approve|Reject|Pending|Add|Edit|Close|Open|All|None|Active|Deleted|"
    r"Warning|Error|Page|Next|Previous|results|result|Select|Action|Actions|Go|Clear|Date|"
    r"Time|Actor|Field|Fields|Value|Values|Version|Versions|Before|After|Role|Start|End|"
    r"date|Approve|Approved|Rejected|Withdraw|Ask|Four eyes|Erasure|erasure)\b",
)
# Text that is data or a name in its own right, not the interface's words.
NOT_INTERFACE = ("English", "X-Organization-Id")


class VisibleText(html.parser.HTMLParser):
    """The text a person reads on a page: not scripts, styles, the country list's option
    names (django-countries' own catalog) nor the values of form fields."""

    SKIP = {"script", "style", "textarea", "option", "code", "pre"}

    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self.skipping += 1
        attributes = dict(attrs)
        for name in ("title", "placeholder", "aria-label"):
            if attributes.get(name) and not self.skipping:
                self.parts.append(attributes[name])
        if tag == "input" and attributes.get("type") in {"submit", "button"}:
            self.parts.append(attributes.get("value") or "")

    def handle_endtag(self, tag):
        if tag in self.SKIP and self.skipping:
            self.skipping -= 1

    def handle_data(self, data):
        if not self.skipping and data.strip():
            self.parts.append(data.strip())


def english_on(page_html: str) -> list[str]:
    """The snippets of a page's visible text that hold an English word."""
    parser = VisibleText()
    parser.feed(page_html)
    found = []
    for part in parser.parts:
        text = part
        for allowed in NOT_INTERFACE:
            text = text.replace(allowed, "")
        if ENGLISH.search(text):
            found.append(part[:120])
    return found


def admin_links(page_html: str) -> list[str]:
    return [
        urldefrag(href).url
        for href in re.findall(r'href="(/admin/[^"]*)"', page_html.replace("&amp;", "&"))
    ]


@pytest.fixture
def filled_registry(db, settings):
    """Records of every kind the back-office shows, with Portuguese-only values; four eyes on
    erasure, with one request waiting."""
    from crm.lifecycle import approval
    from crm.lifecycle.audit import Actor, acting_as
    from crm.models import Organization
    from holders.services import holder_soft_delete, holder_update
    from tests.conftest import ORG_A
    from tests.factories import AliasFactory, HolderFactory

    Organization.objects.create(id=ORG_A, label="Banco Exemplo")
    with acting_as(Actor("staff", "escriturario")):
        maria = HolderFactory(name="Maria Conceição", document="52998224725")
        AliasFactory(
            holder=maria,
            relatedParties=[
                {
                    "document": "11144477735",
                    "name": "Ana Representante",
                    "role": "LEGAL_REPRESENTATIVE",
                    "startDate": "2024-01-01",
                }
            ],
        )
        holder_update(organization_id=ORG_A, holder_id=maria.pk, patch={"name": "Maria Souza"})
        antiga = HolderFactory(name="Joana Antiga", document="39053344705")
        holder_soft_delete(organization_id=ORG_A, holder_id=antiga.pk)
        settings.ERASURE_APPROVAL = True
        approval.erasure_request_create(
            obj=antiga, reason="LGPD Art. 18 VI, chamado 4711", requested_by="escriturario"
        )


def crawl(client: Client, start: str) -> dict[str, list[str]]:
    """English found on every admin page reachable from `start` (GET only, no query strings
    but the first page of each list, at most MAX_PAGES pages)."""
    seen, queue, found = {start}, deque([start]), {}
    while queue and len(seen) <= MAX_PAGES:
        url = queue.popleft()
        response = client.get(url, **PT_BR)
        if response.status_code in (301, 302):
            continue
        if "text/html" not in response.get("Content-Type", ""):
            continue
        page = response.content.decode()
        english = english_on(page)
        if english:
            found[url] = english
        for link in admin_links(page):
            path = urlsplit(link).path
            if "logout" in path or "jsi18n" in path or path in seen:
                continue
            seen.add(path)
            queue.append(path)
    return found


def _catalog_entries() -> list[tuple[str, dict[str, str]]]:
    """The pt-BR catalog's live entries (obsolete `#~` ones left out): each one's comment lines
    and its fields (`msgctxt`, `msgid`, `msgid_plural`, `msgstr`, `msgstr[0]`, …) with their
    continuation strings joined, escapes left as written."""
    entries = []
    for block in (CATALOG / "django.po").read_text().split("\n\n"):
        comments, fields, current = [], {}, None
        for line in block.splitlines():
            if line.startswith("#"):
                comments.append(line)
            elif line.startswith('"') and current:
                fields[current] += line[1:-1]
            elif match := re.match(r'^(\S+) "(.*)"$', line):
                current, fields[match[1]] = match[1], match[2]
        if fields:
            entries.append(("\n".join(comments), fields))
    return entries


def test_the_pt_br_catalog_has_no_fuzzy_or_untranslated_entry():
    entries = [(comments, fields) for comments, fields in _catalog_entries() if fields["msgid"]]
    fuzzy = [f["msgid"] for c, f in entries if re.search(r"^#, .*\bfuzzy\b", c, re.M)]
    untranslated = [
        f["msgid"] for c, f in entries if not any(f[k] for k in f if k.startswith("msgstr"))
    ]
    assert len(entries) > 500  # the catalog was read
    assert (fuzzy, untranslated) == ([], [])


def test_every_admin_page_a_superuser_reaches_is_in_pt_br(client, filled_registry):
    client.force_login(User.objects.create_superuser("chefe", "chefe@example.com", "pw"))

    found = crawl(client, "/admin/")

    assert found == {}


def test_the_error_pages_are_in_pt_br(client, db, settings):
    ensure_roles()
    clerk = User.objects.create_user("escriturario", password="senha-certa", is_staff=True)
    clerk.groups.add(Group.objects.get(name=CLERK))
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/admin/login/", {"username": "escriturario", "password": "errada"}, **PT_BR)
    locked = client.post(
        "/admin/login/", {"username": "escriturario", "password": "senha-certa"}, **PT_BR
    )
    client.force_login(clerk)
    missing = client.get("/admin/nada-aqui/", **PT_BR)
    refused = client.get("/admin/auth/user/", **PT_BR)

    assert (locked.status_code, missing.status_code, refused.status_code) == (429, 404, 403)
    assert "Aguarde 15 minutos" in locked.content.decode()
    for page in (locked, missing, refused):
        assert english_on(page.content.decode()) == []


def test_a_refusal_of_the_service_is_in_the_staff_members_language_and_english_on_the_api(
    admin_client, api
):
    """The catalogue's titles and messages (docs/api.md §6) are shown to staff in their
    language; the API answers the same error in English, as Midaz does."""
    from django.urls import reverse

    from tests.conftest import ORG_A
    from tests.factories import HolderFactory
    from tests.test_admin import form_data

    HolderFactory(document="52998224725")
    add = reverse("admin:holders_holder_add")
    data = form_data(admin_client.get(add, **PT_BR))
    data.update(organization=str(ORG_A), type="NATURAL_PERSON", document="52998224725", name="Ana")

    page = admin_client.post(add, data, **PT_BR)
    api_answer = api.post(
        "/v1/holders", {"type": "NATURAL_PERSON", "name": "Ana", "document": "52998224725"}
    )

    assert page.status_code == 200
    assert (
        "Documento já associado (CRM-0010): Já existe um titular com este documento nesta "
        "organização." in page.content.decode()
    )
    assert api_answer.status_code == 409
    assert api_answer.json()["title"] == "Document Association Error"


def test_the_api_answers_in_english_whatever_the_client_asks(api):
    """The API's messages are Midaz's, in English, for every client: an integration that sends
    `Accept-Language: pt-BR` gets no translated field message and no `Content-Language`
    (crm.admin.locale). DRF's own message here used to come back in Portuguese."""
    response = api.post(
        "/v1/holders",
        {"type": "NATURAL_PERSON", "name": "A" * 300, "document": "1", "contact": {}},
        HTTP_ACCEPT_LANGUAGE="pt-BR",
    )

    assert response.status_code == 400
    assert response.json()["fields"] == {
        "name": "Ensure this field has no more than 256 characters."
    }
    assert "Content-Language" not in response.headers


def test_a_field_message_of_the_services_validation_is_in_the_staff_members_language(
    admin_client,
):
    """A value the form's own field accepts but the service's validation refuses (an e-mail
    address): the message is in the staff member's language."""
    from django.urls import reverse

    from tests.conftest import ORG_A
    from tests.factories import HolderFactory
    from tests.test_admin import form_data

    HolderFactory(document="39053344705")  # the organization is offered on the Add page
    add = reverse("admin:holders_holder_add")
    data = form_data(admin_client.get(add, **PT_BR))
    data.update(
        organization=str(ORG_A),
        type="NATURAL_PERSON",
        document="52998224725",
        name="Ana",
        contact__primaryEmail="nao-e-email",
    )

    page = admin_client.post(add, data, **PT_BR)

    assert page.status_code == 200
    assert "deve ser um endereço de e-mail válido" in page.content.decode()
