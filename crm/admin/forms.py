"""Flat admin forms over the API's wire shape.

Staff edit plain fields; the form turns them into the camelCase dict the API accepts and
validates it with the API's own serializer, so the admin and the API refuse the same input
with the same CRM code. Every field is *derived* from that serializer (`form_field`): its
length, whether it is a date, a country or one of fixed values — written once, in the
serializer. A `WireField` only says where the field sits in the wire shape and its label.
"""

import contextlib
import dataclasses
import functools
from typing import Any

from django import forms
from django.contrib import admin
from django.forms.utils import flatatt
from django.utils import translation
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_countries import countries
from rest_framework import serializers

from crm import checkdigits
from crm.admin.errors import crm_error_text
from crm.api.conditional import IfMatch
from crm.api.documents import Path, get_path, set_path
from crm.api.errors import CRMError
from crm.api.serializers import (
    ApiDateField,
    CountryField,
    EmailField,
    EnumField,
    StrictCharField,
    email_rule,
    parse_api_date,
    validate_input,
)
from crm.lifecycle.versions import versions_since


@dataclasses.dataclass(frozen=True)
class WireField:
    """One form field bound to a path in the wire document, e.g. ("contact", "primaryEmail")."""

    path: Path
    label: str

    @property
    def name(self) -> str:
        return "__".join(self.path)


def serializer_field(serializer_class: type[serializers.Serializer], path: Path):
    """The serializer field at `path` (nested serializers walked)."""
    node: Any = serializer_class()
    for key in path:
        node = node.fields[key]
    return node


WIDE_FROM = 30  # max_length from which a text input is drawn wide
# A UUID input wide enough for its 36 characters.
UUID_INPUT = forms.TextInput(attrs={"class": "vTextField crm-uuid"})


def form_field(
    serializer_class: type[serializers.Serializer], path: Path, label: str
) -> forms.Field:
    """The admin form field for the serializer field at `path`: same length, same choices,
    a date picker for dates. Required exactly when the serializer requires it."""
    source = serializer_field(serializer_class, path)
    required = bool(source.required)
    if isinstance(source, ApiDateField):
        return forms.DateField(label=label, required=required, widget=admin.widgets.AdminDateWidget)
    if isinstance(source, EnumField):
        labels = source.labels or {}
        choices = [
            (value, labels.get(value) or value.replace("_", " ").capitalize())
            for value in source.allowed
        ]
        return forms.ChoiceField(
            label=label, required=required, choices=choices if required else [("", "—"), *choices]
        )
    if isinstance(source, CountryField):
        return forms.ChoiceField(
            label=label, required=required, choices=country_choices, widget=QuickSelect
        )
    if isinstance(source, EmailField):  # the serializer's own rule, not a second one
        return forms.CharField(
            label=label,
            required=required,
            max_length=source.max_length,
            strip=True,
            validators=[email_rule],
            widget=forms.EmailInput(attrs={"size": 40}),
        )
    if isinstance(source, StrictCharField):
        # Room for what the field holds: an address line or an IBAN needs a wide input, a
        # zip code or a branch a short one (styles in templates/admin/base_site.html).
        width = "crm-wide" if (source.max_length or 0) >= WIDE_FROM else "crm-short"
        return forms.CharField(
            label=label,
            required=required,
            max_length=source.max_length,
            strip=True,
            widget=forms.TextInput(attrs={"class": f"vTextField {width}"}),
        )
    raise TypeError(f"no admin form field for {type(source).__name__} at {'.'.join(path)}")


class QuickSelect(forms.Select):
    """A `<select>` whose options are written in Python. Django renders every option through
    a template of its own; a country list is 250 of them and the holder page has several, which
    made it cost ~100 ms at the server. Same markup, same attributes (id, required, ...). The
    options' markup is made once per list of choices (`_options`: a language's countries) and
    the chosen ones marked in a copy: escaping 250 options for each of a page's selects was
    still ~15 ms of the holder page at 1M holders."""

    def render(self, name, value, attrs=None, renderer=None):
        options = _options(tuple(self.choices))
        for chosen in dict.fromkeys(str(v) for v in self.format_value(value)):
            option = format_html('<option value="{}">', chosen)
            options = options.replace(option, f"{option[:-1]} selected>", 1)
        return format_html(
            '<select name="{}"{}>{}</select>',
            name,
            flatatt(self.build_attrs(self.attrs, attrs)),
            mark_safe(options),  # noqa: S308 (every value escaped by format_html)
        )


@functools.lru_cache(maxsize=64)
def _options(choices: tuple) -> str:
    """The `<option>` elements of `choices` ((value, text) pairs), none selected."""
    return format_html_join("", '<option value="{}">{}</option>', choices)


def country_choices() -> list[tuple[str, str]]:
    """Countries by name in the page's language ("Brasil (BR)"), in django-countries' order
    (by translated name, accents ignored); evaluated each time a form is drawn, so the names
    follow the language (the list is made once per language)."""
    return _countries_in(translation.get_language())


@functools.cache
def _countries_in(language: str | None) -> list[tuple[str, str]]:
    return [("", "—"), *((code, f"{name} ({code})") for code, name in countries)]


def wire_form(
    name: str,
    base: type[forms.BaseForm],
    serializer_class: type[serializers.Serializer],
    specs: tuple[WireField, ...],
) -> type[forms.BaseForm]:
    """A form class with one declared field per spec, derived from `serializer_class`
    (declared, so ModelAdmin accepts them in its fieldsets)."""
    declared = {spec.name: form_field(serializer_class, spec.path, spec.label) for spec in specs}
    return type(name, (base,), {**declared, "wire_fields": specs})


def _to_wire(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def wire_values(form: forms.BaseForm) -> dict[str, Any]:
    """A validated form's non-empty `wire_fields` (and metadata) as a wire document."""
    document: dict[str, Any] = {}
    for spec in form.wire_fields:
        value = form.cleaned_data.get(spec.name)
        if value not in (None, ""):
            set_path(document, spec.path, _to_wire(value))
    if form.cleaned_data.get("metadata"):
        document["metadata"] = form.cleaned_data["metadata"]
    return document


# --- CPF and CNPJ check digits: a warning staff may confirm past ----------------------------

SAVE_ANYWAY = "__save_anyway"  # suffix of the confirming checkbox's name, per document field


class CheckedDocumentInput(forms.TextInput):
    """A document input after a save found wrong check digits in it: the same input, with
    the "Save anyway" checkbox under it (posted as the input's name + `SAVE_ANYWAY`)."""

    def render(self, name, value, attrs=None, renderer=None):
        checkbox = f"{name}{SAVE_ANYWAY}"
        return format_html(
            '{}<label class="crm-save-anyway" for="id_{}">'
            '<input type="checkbox" name="{}" id="id_{}" value="1"> {}</label>',
            super().render(name, value, attrs, renderer),
            checkbox,
            checkbox,
            checkbox,
            gettext("Save anyway: the document is right as typed"),
        )


def warn_check_digits(form: forms.BaseForm, names: tuple[str, ...]) -> None:
    """Each field of `names` that was typed in (added or changed) holding a CPF or CNPJ whose
    check digits do not match (`crm.checkdigits`) gets a warning and a "Save anyway"
    checkbox, unless that box was ticked: the registry takes any document (docs/api.md §0),
    so a clerk who knows better confirms it. A document stored earlier is never questioned
    on a later save."""
    changed = set(form.changed_data)
    for name in names:
        value = form.cleaned_data.get(name)
        if name not in changed or not value or name in form.errors:
            continue
        kind = checkdigits.wrong_check_digits(value)
        if kind is None or form.data.get(f"{form.add_prefix(name)}{SAVE_ANYWAY}"):
            continue
        field = form.fields[name]
        field.widget = CheckedDocumentInput(attrs=field.widget.attrs)
        form.add_error(
            name,
            gettext(
                "The check digits of this %(kind)s do not match: check the number. If it is "
                "right as typed, tick “Save anyway” and save again."
            )
            % {"kind": kind},
        )


# --- metadata as `key = value` lines -------------------------------------------------------------


def metadata_text(metadata: dict[str, Any] | None) -> str:
    """Flat metadata as `key = value` lines (the JSON-free metadata widget)."""

    def scalar(value: Any) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    return "\n".join(f"{key} = {scalar(value)}" for key, value in (metadata or {}).items())


def parse_metadata(text_value: str) -> dict[str, str]:
    """`key = value` lines back to a dict; raises `forms.ValidationError` on a bad line."""
    result: dict[str, str] = {}
    for number, line in enumerate(text_value.splitlines(), start=1):
        if not line.strip():
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise forms.ValidationError(f"Line {number}: write it as `key = value`.")
        result[key.strip()] = value.strip()
    return result


def metadata_patch(before: dict[str, Any] | None, after: dict[str, str]) -> dict[str, Any]:
    """Merge patch from the stored metadata to the edited lines: removed keys -> null, changed
    keys -> new value. A value whose text did not change keeps its JSON type (number, bool)."""
    before = before or {}
    patch: dict[str, Any] = {key: None for key in before if key not in after}
    for key, value in after.items():
        if key in before and metadata_text({key: before[key]}) == f"{key} = {value}":
            continue
        patch[key] = value
    return patch


class MetadataField(forms.CharField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("label", _("Metadata"))
        kwargs.setdefault("required", False)
        kwargs.setdefault(
            "widget",
            forms.Textarea(attrs={"rows": 4, "cols": 60, "placeholder": "segment = retail"}),
        )
        kwargs.setdefault(
            "help_text",
            _(
                "One entry per line, written as <code>key = value</code>. "
                "Remove a line to remove the key."
            ),
        )
        super().__init__(**kwargs)

    def clean(self, value: Any) -> dict[str, str]:
        return parse_metadata(super().clean(value) or "")


METADATA_ERRORS = frozenset({"CRM-0001", "CRM-0002", "CRM-0012"})


def stale_form_message(instance, opened: int) -> str:
    """What a clerk is told when someone else changed the record after they opened its page:
    which fields, when and by whom (the versions since; field names, never values)."""
    later = versions_since(instance, opened)
    fields = sorted({name for version in later for name in version.changed_fields})
    last = later[-1] if later else None
    return gettext(
        "Someone else changed this record after you opened this page: %(fields)s (last on "
        "%(when)s UTC, by %(who)s). Nothing was saved. Reload the page to see their changes, "
        "then make yours again."
    ) % {
        "fields": ", ".join(fields) or "—",
        "when": last.changed_at.strftime("%Y-%m-%d %H:%M:%S") if last else "—",
        "who": last.actor if last else "—",
    }


class WireForm(forms.ModelForm):
    """Base of the holder and alias forms (fields declared by `wire_form`).

    On add, the form's input becomes a create body; on change, a merge patch of the changed
    fields against the stored wire state (`before`). Either is validated with the API
    serializer in `clean()` and left in `payload` for `save_model` to hand to the service.
    Fields named in `add_only` are shown on the add page only; a soft-deleted record's form is
    read-only.
    """

    wire_fields: tuple[WireField, ...] = ()
    add_only: tuple[str, ...] = ()
    create_serializer: type[serializers.Serializer]
    update_serializer: type[serializers.Serializer]

    metadata = MetadataField()
    # The record's version when the page was opened (a change page only; rendered by
    # `registry_change_form.html`): a save from a page someone else's change made stale is
    # refused (`stale_form_message`) and the service checks it again on the locked row.
    opened_version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)

    class Meta:
        fields: tuple[str, ...] = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.adding = self.instance._state.adding
        self.payload: dict[str, Any] = {}
        # Only the fields the page shows take part (a hidden field would read as "cleared").
        shown = {*(self._meta.fields or ()), "opened_version"}
        for name in list(self.fields):
            if name not in shown or (not self.adding and name in self.add_only):
                del self.fields[name]
        if self.adding:
            del self.fields["opened_version"]
        else:
            self.initial["opened_version"] = self.instance.version
            self.before = self.wire_state(self.instance)
            self._fill_initial(self.before)
            if self.instance.is_deleted:
                for field in self.fields.values():
                    field.disabled = True

    def wire_state(self, instance) -> dict[str, Any]:
        """The stored record's editable state in wire shape (the service's view of it)."""
        raise NotImplementedError

    def create_body(self, cleaned: dict[str, Any]) -> dict[str, Any]:
        """The create body: the wire fields, plus what the subclass adds (ids, type, ...)."""
        return wire_values(self)

    def _fill_initial(self, state: dict[str, Any]) -> None:
        """Initial values typed as the fields clean them (a date as a date, not its text), so
        an untouched field never counts as changed."""
        for spec in self.wire_fields:
            value = get_path(state, spec.path)
            if value is None:
                continue
            if isinstance(self.fields.get(spec.name), forms.DateField) and isinstance(value, str):
                with contextlib.suppress(ValueError):
                    value = parse_api_date(value)
            self.initial[spec.name] = value
        if "metadata" in self.fields:
            self.initial["metadata"] = metadata_text(state.get("metadata"))

    def wire_changes(self) -> dict[str, Any]:
        """The changed fields as a JSON merge patch against the stored state (for update)."""
        patch: dict[str, Any] = {}
        changed = set(self.changed_data)
        for spec in self.wire_fields:
            if spec.name in changed:
                value = self.cleaned_data.get(spec.name)
                set_path(patch, spec.path, None if value in (None, "") else _to_wire(value))
        if "metadata" in changed:
            meta = metadata_patch(self.before.get("metadata"), self.cleaned_data["metadata"])
            if meta:
                patch["metadata"] = meta
        return patch

    @property
    def if_match(self) -> IfMatch | None:
        """The service's condition for this save: the record is still at the version the page
        was opened at (None on an add page, or a post without the field)."""
        opened = None if self.adding else self.cleaned_data.get("opened_version")
        return IfMatch.exactly(opened) if opened else None

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.errors:
            return cleaned
        opened = None if self.adding else cleaned.get("opened_version")
        if opened and opened != self.instance.version:
            self.add_error(None, stale_form_message(self.instance, opened))
            return cleaned
        try:
            if self.adding:
                self.payload = validate_input(self.create_serializer, self.create_body(cleaned))
            else:
                patch = self.wire_changes()
                self.payload = validate_input(self.update_serializer, patch) if patch else {}
        except CRMError as error:
            self.add_crm_error(error)
        return cleaned

    def add_crm_error(self, error: CRMError) -> None:
        """Attach a CRM error to the form fields its `fields` name (dotted wire paths)."""
        fields = error.fields or {}
        if not fields and error.code in METADATA_ERRORS and "metadata" in self.fields:
            self.add_error("metadata", gettext(error.message))
            return
        placed = False
        for wire_path, message in fields.items():
            name = "metadata" if wire_path.startswith("metadata") else wire_path.replace(".", "__")
            if name in self.fields:
                self.add_error(name, message)
                placed = True
        if not placed:
            self.add_error(None, crm_error_text(error))
