"""Strict input validation on top of DRF serializers: exact JSON types, bounded strings, the
reference's date formats, flat metadata, unknown keys refused. Each field raises DRF errors
with a code of its own; `crm.api.errors.translate_errors` turns them into the one CRM error the
reference would return (docs/api.md §4.7's order)."""

import datetime as dt
import functools
import json
import math
import re
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext
from django_countries import countries
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail, ValidationError
from rest_framework.validators import ProhibitSurrogateCharactersValidator

from crm.api.errors import translate_errors

MAX_METADATA_KEYS = 100
MAX_METADATA_KEY_LENGTH = 100
MAX_METADATA_VALUE_LENGTH = 2000
DEFAULT_MAX_LENGTH = 256


def timestamp(value: dt.datetime | None) -> str | None:
    """RFC 3339 in UTC with milliseconds, as the reference reads them back (API bodies and
    event payloads)."""
    if value is None:
        return None
    return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def validate_input(serializer_class: type[serializers.Serializer], data: Any, **kwargs: Any):
    """Validate a request body; return `validated_data` or raise the CRM error."""
    serializer = serializer_class(data=data, **kwargs)
    if not serializer.is_valid():
        raise translate_errors(serializer.errors)
    return serializer.validated_data


def json_value_problems(value: Any, path: str = "") -> list[tuple[str, ErrorDetail]]:
    """What no stored value may contain, anywhere in a parsed JSON document (keys included):
    text that is not valid Unicode (a lone surrogate such as "\\udfff" cannot be encoded as
    UTF-8, so no database can store it and no response can carry it) and numbers that are not
    finite IEEE-754 doubles (1e400 parses as infinity; an integer of 400 digits overflows
    every reader a client may have). Walked iteratively: depth is bounded by the parser.

    Almost every document has no problem; that is proven first by the C encoder (it refuses
    non-finite floats and, encoding to UTF-8, lone surrogates) plus a search of its output for
    a digit run long enough to be an overflowing integer. Only a document that fails that
    (or merely contains a long digit string) is walked, to name the fields."""
    if _plainly_valid(value):
        return []
    problems: list[tuple[str, ErrorDetail]] = []
    stack: list[tuple[str, Any]] = [(path, value)]
    while stack:
        where, node = stack.pop()
        if isinstance(node, dict):
            for key, item in node.items():
                child = f"{where}.{key}" if where else str(key)
                if not _is_unicode(key):
                    problems.append(
                        (child, ErrorDetail(gettext("invalid text in key"), "invalid_text"))
                    )
                stack.append((child, item))
        elif isinstance(node, list):
            stack.extend(
                (f"{where}.{index}" if where else str(index), item)
                for index, item in enumerate(node)
            )
        elif isinstance(node, str) and not _is_unicode(node):
            problems.append(
                (where, ErrorDetail(gettext("must be valid Unicode text"), "invalid_text"))
            )
        elif isinstance(node, int | float) and not isinstance(node, bool) and not _is_finite(node):
            problems.append((where, ErrorDetail(gettext("number out of range"), "out_of_range")))
    return problems


_FLOAT_OVERFLOW_DIGITS = re.compile(r"\d{309}")  # 1e308 has 309 digits: the double limit


def _plainly_valid(value: Any) -> bool:
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False)
        text.encode("utf-8")
    except (ValueError, TypeError, RecursionError):  # UnicodeEncodeError is a ValueError
        return False
    return _FLOAT_OVERFLOW_DIGITS.search(text) is None


def _is_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _is_finite(number: int | float) -> bool:
    try:
        return math.isfinite(float(number))
    except OverflowError:
        return False


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


class StrictCharField(serializers.CharField):
    """A JSON string, exactly: no number coercion, no trimming, no NUL bytes, bounded length."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("trim_whitespace", False)
        kwargs.setdefault("max_length", DEFAULT_MAX_LENGTH)
        if not kwargs.get("required", True) or "default" in kwargs:
            kwargs.setdefault("allow_blank", True)
            kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            raise ValidationError(
                ErrorDetail(
                    gettext("expected string, got %(type)s") % {"type": _type_name(data)},
                    code="invalid_type",
                )
            )
        if "\x00" in data:
            raise ValidationError(ErrorDetail(gettext("must not contain NUL bytes"), code="nul"))
        return super().to_internal_value(data)


def optional_string(max_length: int = DEFAULT_MAX_LENGTH, **kwargs: Any) -> StrictCharField:
    return StrictCharField(required=False, max_length=max_length, **kwargs)


def required_string(max_length: int = DEFAULT_MAX_LENGTH, **kwargs: Any) -> StrictCharField:
    return StrictCharField(required=True, max_length=max_length, **kwargs)


class EnumField(StrictCharField):
    """A string restricted to fixed values (CRM-0015 otherwise). `labels` name the values for
    people (the admin's dropdown). With `checked=False` any string is decoded and the service
    refuses other values with a code of its own (a related party's role: CRM-0025, in the
    documented order); the OpenAPI document lists the values either way."""

    def __init__(
        self,
        choices: tuple[str, ...],
        labels: dict[str, Any] | None = None,
        *,
        checked: bool = True,
        **kwargs: Any,
    ) -> None:
        self.allowed = choices
        self.labels = labels
        self.checked = checked
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        if self.checked and value not in self.allowed:
            raise ValidationError(
                ErrorDetail(
                    gettext("must be one of %(choices)s") % {"choices": ", ".join(self.allowed)},
                    code="invalid_choice",
                )
            )
        return value


class CountryField(StrictCharField):
    """ISO 3166-1 alpha-2 country code, upper case (CRM-0015 otherwise): one of
    django-countries' codes (`country_codes`; `tests/test_countries.py` pins the set)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 2)
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        if value and value not in countries:
            raise ValidationError(
                ErrorDetail(
                    gettext("must be an ISO 3166-1 alpha-2 country code"), code="invalid_country"
                )
            )
        return value


def country_codes() -> list[str]:
    """The ISO 3166-1 alpha-2 codes `CountryField` accepts, in code order: django-countries'
    list (249 codes, no user-assigned ones such as `XK`; the project sets no `COUNTRIES_*`
    option that would change it)."""
    return sorted(code for code, _name in countries)


def email_rule(value: str) -> None:
    """The one e-mail format rule of the API and the admin (Django's `EmailValidator`):
    raises Django's `ValidationError` (code "invalid_email") without echoing the value."""
    try:
        validate_email(value)
    except DjangoValidationError:
        raise DjangoValidationError(
            gettext("must be a valid e-mail address"), code="invalid_email"
        ) from None


class EmailField(StrictCharField):
    """An e-mail address (`email_rule`; CRM-0015 otherwise). Empty means absent."""

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        if value:
            try:
                email_rule(value)
            except DjangoValidationError as error:
                raise ValidationError(
                    ErrorDetail(error.messages[0], code="invalid_email")
                ) from None
        return value


_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_LOCAL_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?$")
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def parse_api_date(value: str) -> dt.date:
    """docs/api.md §4.3: `YYYY-MM-DD`, `YYYY-MM-DDThh:mm:ss` or RFC 3339, truncated to the UTC
    date."""
    try:
        if _DATE_ONLY.match(value):
            return dt.date.fromisoformat(value)
        if _LOCAL_DATETIME.match(value) or _RFC3339.match(value):
            parsed = parse_datetime(value.replace("z", "Z"))
            if parsed is None:
                raise ValueError(value)
            if parsed.tzinfo is not None:
                parsed = parsed.astimezone(dt.UTC)  # 0001-01-01T00:00+01:00 overflows
            return parsed.date()
    except (ValueError, OverflowError):
        pass
    raise ValueError("not a date")


@extend_schema_field(OpenApiTypes.DATE)
class ApiDateField(serializers.Field):
    """A date in any docs/api.md §4 format; `""` and null mean "no date"; output `YYYY-MM-DD`."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)

    def validate_empty_values(self, data: Any):
        if data == "":
            return True, None
        return super().validate_empty_values(data)

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            raise ValidationError(
                ErrorDetail(
                    gettext("expected date string, got %(type)s") % {"type": _type_name(data)},
                    code="invalid_type",
                )
            )
        try:
            return parse_api_date(data).isoformat()
        except ValueError:
            raise ValidationError(
                ErrorDetail(
                    gettext("invalid date; use YYYY-MM-DD, YYYY-MM-DDThh:mm:ss or RFC 3339"),
                    code="invalid_date",
                )
            ) from None

    def to_representation(self, value: Any) -> str | None:
        return value or None


@extend_schema_field({"type": "object", "additionalProperties": {"type": "string"}})
class MetadataField(serializers.Field):
    """Flat metadata (docs/api.md §4.5): ≤100 keys, key ≤100 chars, value ≤2000 chars, no nesting.

    On create a null value is invalid nesting (CRM-0001); on update (`allow_null_values`) a null
    value means "remove this key".
    """

    def __init__(self, *, allow_null_values: bool = False, **kwargs: Any) -> None:
        self.allow_null_values = allow_null_values
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise ValidationError(
                ErrorDetail(
                    gettext("expected object, got %(type)s") % {"type": _type_name(data)},
                    code="invalid_type",
                )
            )
        if len(data) > MAX_METADATA_KEYS:
            raise ValidationError(
                ErrorDetail(f"at most {MAX_METADATA_KEYS} keys are allowed", code="too_many_keys")
            )
        for key, value in data.items():
            self._check_entry(key, value)
        return data

    def _check_entry(self, key: str, value: Any) -> None:
        if "\x00" in key or (isinstance(value, str) and "\x00" in value):
            raise ValidationError(ErrorDetail(gettext("must not contain NUL bytes"), code="nul"))
        if isinstance(value, dict) or (value is None and not self.allow_null_values):
            raise ValidationError(
                ErrorDetail(
                    f"metadata key '{key[:100]}' has a nested value", code="metadata_nesting"
                )
            )
        if len(key) > MAX_METADATA_KEY_LENGTH:
            raise ValidationError(
                ErrorDetail(
                    f"metadata key exceeds {MAX_METADATA_KEY_LENGTH} characters",
                    code="metadata_key_length",
                )
            )
        if isinstance(value, list) or len(_metadata_text(value)) > MAX_METADATA_VALUE_LENGTH:
            raise ValidationError(
                ErrorDetail(
                    f"metadata value of key '{key}' exceeds {MAX_METADATA_VALUE_LENGTH} "
                    "characters or is not a scalar",
                    code="metadata_value_length",
                )
            )

    def to_representation(self, value: Any) -> dict[str, Any]:
        return value


def representation(serializer_class: type[serializers.Serializer], instance: Any) -> Any:
    """`serializer_class(instance).data` for a response serializer whose `to_representation`
    builds the body from the instance alone (no context, no instance state): one instance per
    class serves every request. Building a serializer (its `__init__` walks the class hierarchy
    for error messages) and `.data`'s wrapping cost as much again as a holder's body: 12.2 →
    6.0 µs per response."""
    return _shared(serializer_class).to_representation(instance)


@functools.cache
def _shared(serializer_class: type[serializers.Serializer]) -> serializers.Serializer:
    return serializer_class()


def _metadata_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def unbound_copy(field: serializers.Field) -> serializers.Field:
    """A fresh, unbound copy of a declared field, for one serializer instance.

    DRF's own `get_fields` deep-copies the declared fields, and a field's `__deepcopy__` runs
    its `__init__` again with deep-copied arguments: more than half of validating a body
    (docs/internals.md has the figures). A shallow copy is enough when what a copy changes is
    its own: the binding (`field_name`, `parent`, and the `source`, `label` and `source_attrs`
    that `bind` derives from the field name, derived again when the copy is bound), its
    validator list (copied), a nested serializer's `fields` (built per copy, from copies), and
    a list's or dict's `child` (copied and bound to the copy). The copy is `copy.copy`'s
    without its detour through `__reduce_ex__` and DRF's `Field.__new__`: a quarter of its
    cost, nine fields per body. Public attributes only; `tests/test_serializer_fields.py`
    checks the copies against DRF's deep copies and `tests/test_private_apis.py` that `bind`
    still sets nothing else."""
    clone = object.__new__(type(field))
    clone.__dict__.update(field.__dict__)
    clone.field_name = None
    clone.parent = None
    bound_as = field.field_name
    if bound_as is not None:  # a list's child, bound by its parent's `__init__`
        if field.source == bound_as:  # `bind` refuses an explicit source equal to the name
            clone.source = None
        if field.label == bound_as.replace("_", " ").capitalize():
            clone.label = None  # `bind` derives the same label again
    clone.__dict__.pop("source_attrs", None)
    clone.__dict__.pop("fields", None)
    clone.validators = list(field.validators)
    child = getattr(field, "child", None)
    if child is not None:
        clone.child = unbound_copy(child)
        clone.child.bind(field_name="", parent=clone)
    return clone


# Per serializer class: its declared fields as DRF's `get_fields` copies them, never bound (the
# originals `unbound_copy` copies for each instance).
_declared: dict[type, dict[str, serializers.Field]] = {}


class StrictSerializer(serializers.Serializer):
    """A serializer for JSON objects that refuses unknown keys (CRM-0007) and non-objects
    (CRM-0004). Optional nested objects accept null (merge patch: remove).

    A request body serializer names its `response_serializer_class`: once the view has set
    `instance` to what the service wrote, `.data` is the response body.
    """

    response_serializer_class: type[serializers.Serializer]

    def to_representation(self, instance: Any) -> dict[str, Any]:
        return representation(self.response_serializer_class, instance)

    def get_fields(self) -> dict[str, serializers.Field]:
        declared = _declared.get(type(self))
        if declared is None:  # DRF's own: unbound deep copies of the declared fields, once
            declared = _declared[type(self)] = super().get_fields()
        fields = {name: unbound_copy(field) for name, field in declared.items()}
        if isinstance(self.root, StrictSerializer):
            # The root refuses lone surrogates anywhere in the body (`json_value_problems`,
            # one pass in C); DRF's per-character check on every text field repeats it.
            for field in fields.values():
                if isinstance(field, serializers.CharField):
                    field.validators = [
                        validator
                        for validator in field.validators
                        if not isinstance(validator, ProhibitSurrogateCharactersValidator)
                    ]
        return fields

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, Mapping):
            raise ValidationError(
                ErrorDetail(
                    gettext("expected object, got %(type)s") % {"type": _type_name(data)},
                    code="invalid_type",
                )
            )
        if self.root is self:  # the whole body, once: API, admin and commands alike
            problems = json_value_problems(data)
            if problems:
                raise ValidationError({where: [detail] for where, detail in problems})
        unknown = {
            key: [ErrorDetail("unexpected field", code="unexpected")]
            for key in data
            if key not in self.fields or self.fields[key].read_only
        }
        try:
            validated = super().to_internal_value(data)
        except ValidationError as exc:
            if isinstance(exc.detail, dict):
                exc.detail.update(unknown)
            raise
        if unknown:
            raise ValidationError(unknown)
        # Keep explicit nulls (they mean "remove" in a merge patch) and only the keys sent.
        return {key: validated.get(key) for key in data if key in self.fields}
