"""The back-office in Brazilian Portuguese (issue 11 items 6 and 7): the catalog is complete and
its compiled `.mo` (committed, so no gettext tools are needed to run) matches the `.po`; choices
are dropdowns with names in the page's language."""

import ast
import gettext
import pathlib
import re

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import translation
from django_countries import countries

CATALOG = pathlib.Path(__file__).resolve().parents[1] / "locale" / "pt_BR" / "LC_MESSAGES"


def po_entries() -> dict[tuple[str, str], list[str]]:
    """(msgctxt, msgid) -> its msgstr (one, or one per plural form), from the `.po` file."""
    entries: dict[tuple[str, str], list[str]] = {}
    for block in (CATALOG / "django.po").read_text().split("\n\n"):
        fields: dict[str, str] = {}
        current = None
        for line in block.splitlines():
            if line.startswith("#"):
                continue
            match = re.match(r"^(msgctxt|msgid|msgid_plural|msgstr(?:\[\d\])?) (\".*\")$", line)
            if match:
                current = match.group(1)
                fields[current] = ast.literal_eval(match.group(2))
            elif line.startswith('"') and current:
                fields[current] += ast.literal_eval(line)
        if fields.get("msgid"):
            key = (fields.get("msgctxt", ""), fields["msgid"])
            entries[key] = [v for k, v in sorted(fields.items()) if k.startswith("msgstr")]
    return entries


def test_portuguese_catalog_is_complete_and_compiled():
    entries = po_entries()
    assert len(entries) > 150
    untranslated = [key for key, strings in entries.items() if not all(strings)]
    assert untranslated == []
    with (CATALOG / "django.mo").open("rb") as compiled:
        mo = gettext.GNUTranslations(compiled)
    for (context, msgid), strings in entries.items():
        if len(strings) == 1:
            found = mo.pgettext(context, msgid) if context else mo.gettext(msgid)
            assert found == strings[0], msgid
    assert mo.pgettext("address", "State") == "Estado"


def test_country_names_are_django_countries_in_both_languages():
    """Country names come from django-countries' catalogs, not ours: ours holds none of them
    (it would shadow the library's), and every code has a Portuguese name."""
    with translation.override("en"):
        english = dict(countries)
    with translation.override("pt-br"):
        portuguese = dict(countries)
    assert english["BR"] == "Brazil" and portuguese["BR"] == "Brasil"
    assert portuguese["DE"] == "Alemanha" and portuguese["US"] == "Estados Unidos"
    assert set(english) == set(portuguese) and len(english) == 249
    translated = [code for code in english if portuguese[code] != english[code]]
    assert len(translated) > 180  # the rest are spelt alike (Angola, Portugal, ...)
    ours = {msgid for _context, msgid in po_entries()}
    assert not ours & set(english.values())


@pytest.fixture
def boss(client, db):
    client.force_login(User.objects.create_superuser("boss", "boss@example.com", "pw"))
    return client


@pytest.mark.parametrize(
    ("language", "country", "natural"),
    [("pt-BR", "Brasil (BR)", "Pessoa física"), ("en-US", "Brazil (BR)", "Natural person")],
)
def test_holder_add_page_choices_are_named_dropdowns(boss, language, country, natural):
    page = boss.get(reverse("admin:holders_holder_add"), HTTP_ACCEPT_LANGUAGE=language)
    select = re.search(
        r'<select name="addresses__primary__country".*?</select>', page.text, re.S
    ).group(0)
    assert f'<option value="BR">{country}</option>' in select
    names = re.findall(r'<option value="[A-Z]{2}">([^<]+)</option>', select)
    assert len(names) == 249
    assert names.index(country) > 0
    type_select = re.search(r'<select name="type".*?</select>', page.text, re.S).group(0)
    assert f'<option value="NATURAL_PERSON">{natural}</option>' in type_select


def test_new_related_party_role_is_a_named_dropdown(boss, db):
    from tests.factories import AliasFactory

    alias = AliasFactory()
    page = boss.get(
        reverse("admin:aliases_aliasaccount_change", args=[alias.pk]),
        HTTP_ACCEPT_LANGUAGE="pt-BR",
    )
    assert re.search(r'<select name="[^"]*role"', page.text)
    assert '<option value="LEGAL_REPRESENTATIVE">Representante legal</option>' in page.text


def test_quick_select_marks_only_the_chosen_option_and_escapes_every_one():
    """`QuickSelect` builds a list's options once and marks the chosen one in a copy: a
    second select drawn from the same list shows its own choice, not the first one's."""
    from crm.admin.forms import QuickSelect

    widget = QuickSelect(choices=[("", "—"), ("BR", "Brasil (BR)"), ("A&B", "<x>")])
    first = widget.render("country", "BR", attrs={"id": "id_country"})
    second = widget.render("other", "A&B")
    empty = widget.render("third", None)
    assert first.startswith('<select name="country" id="id_country">')
    assert '<option value="BR" selected>Brasil (BR)</option>' in first
    assert first.count(" selected") == 1
    assert '<option value="A&amp;B" selected>&lt;x&gt;</option>' in second
    assert second.count(" selected") == 1 and '<option value="BR">' in second
    # No value: the empty choice is the selected one, as Django's own `Select` draws it.
    assert '<option value="" selected>—</option>' in empty and empty.count(" selected") == 1
