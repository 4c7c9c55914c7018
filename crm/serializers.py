"""Strict input validation on top of DRF serializers, and the translation of DRF's error tree
into one CRM error following ref §3.3's order (first failing step wins):

1. wrong JSON type or unparseable date           -> CRM-0004
2. unknown or immutable field                     -> CRM-0007 (`fields` lists them)
3. NUL byte in a string                           -> CRM-0015
4. required field missing / empty / null          -> CRM-0003 (`fields` lists them)
   metadata: nested value / key / value length    -> CRM-0001 / CRM-0002 / CRM-0012
   any other rule (length, enum, country, ...)    -> CRM-0015 (`fields` lists them)
"""

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail, ValidationError

from crm.countries import ISO_3166_ALPHA2
from crm.errors import CRMError

MAX_METADATA_KEYS = 100
MAX_METADATA_KEY_LENGTH = 100
MAX_METADATA_VALUE_LENGTH = 2000
DEFAULT_MAX_LENGTH = 256

# DRF error code -> CRM code, in ref §3.3 priority order.
_CODE_PRIORITY: list[tuple[str, frozenset[str]]] = [
    ("CRM-0004", frozenset({"invalid_type", "invalid_date", "not_a_list"})),
    ("CRM-0007", frozenset({"unexpected"})),
    ("CRM-0015", frozenset({"nul"})),
    ("CRM-0003", frozenset({"required", "blank", "null"})),
    ("CRM-0001", frozenset({"metadata_nesting"})),
    ("CRM-0002", frozenset({"metadata_key_length"})),
    ("CRM-0012", frozenset({"metadata_value_length"})),
]


def _walk(detail: Any, path: str = "") -> list[tuple[str, ErrorDetail]]:
    found: list[tuple[str, ErrorDetail]] = []
    if isinstance(detail, Mapping):
        for key, value in detail.items():
            child = path if key == "non_field_errors" else (f"{path}.{key}" if path else str(key))
            found.extend(_walk(value, child))
    elif isinstance(detail, list):
        for index, item in enumerate(detail):
            if isinstance(item, Mapping | list):
                found.extend(_walk(item, f"{path}.{index}" if path else str(index)))
            else:
                found.extend(_walk(item, path))
    else:
        found.append((path, detail))
    return found


def _message(code: str, path: str, detail: ErrorDetail) -> str:
    if code == "CRM-0003":
        return f"{path} is a required field"
    if code == "CRM-0007":
        return f"{path} is not an allowed field"
    return str(detail)


def translate_errors(errors: Any) -> CRMError:
    """Turn `serializer.errors` into the single CRM error the reference would return."""
    found = _walk(errors)
    for crm_code, drf_codes in _CODE_PRIORITY:
        matching = [(path, d) for path, d in found if getattr(d, "code", None) in drf_codes]
        if matching:
            return _with_fields(crm_code, matching)
    return _with_fields("CRM-0015", found)


def _with_fields(crm_code: str, matching: list[tuple[str, ErrorDetail]]) -> CRMError:
    fields: dict[str, str] = {}
    for path, detail in matching:
        fields.setdefault(path or "body", _message(crm_code, path or "body", detail))
    if crm_code in {"CRM-0001", "CRM-0002", "CRM-0012"}:
        # Metadata errors carry one message naming the key, like the reference.
        return CRMError(crm_code, next(iter(fields.values())))
    if crm_code == "CRM-0004":
        return CRMError(crm_code, "; ".join(f"{k}: {v}" for k, v in fields.items()), fields=fields)
    return CRMError(crm_code, fields=fields)


def validate_input(serializer_class: type[serializers.Serializer], data: Any, **kwargs: Any):
    """Validate a request body; return `validated_data` or raise the CRM error."""
    serializer = serializer_class(data=data, **kwargs)
    if not serializer.is_valid():
        raise translate_errors(serializer.errors)
    return serializer.validated_data


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
                ErrorDetail(f"expected string, got {_type_name(data)}", code="invalid_type")
            )
        if "\x00" in data:
            raise ValidationError(ErrorDetail("must not contain NUL bytes", code="nul"))
        return super().to_internal_value(data)


def optional_string(max_length: int = DEFAULT_MAX_LENGTH, **kwargs: Any) -> StrictCharField:
    return StrictCharField(required=False, max_length=max_length, **kwargs)


def required_string(max_length: int = DEFAULT_MAX_LENGTH, **kwargs: Any) -> StrictCharField:
    return StrictCharField(required=True, max_length=max_length, **kwargs)


class EnumField(StrictCharField):
    """A string restricted to fixed values (CRM-0015 otherwise)."""

    def __init__(self, choices: tuple[str, ...], **kwargs: Any) -> None:
        self.allowed = choices
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        if value not in self.allowed:
            raise ValidationError(
                ErrorDetail(f"must be one of {', '.join(self.allowed)}", code="invalid_choice")
            )
        return value


class CountryField(StrictCharField):
    """ISO 3166-1 alpha-2 country code, upper case (CRM-0015 otherwise)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 2)
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        if value and value not in ISO_3166_ALPHA2:
            raise ValidationError(
                ErrorDetail("must be an ISO 3166-1 alpha-2 country code", code="invalid_country")
            )
        return value


_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_LOCAL_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?$")
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def parse_api_date(value: str) -> dt.date:
    """Ref §4.10: `YYYY-MM-DD`, `YYYY-MM-DDThh:mm:ss` or RFC 3339, truncated to the UTC date."""
    try:
        if _DATE_ONLY.match(value):
            return dt.date.fromisoformat(value)
        if _LOCAL_DATETIME.match(value) or _RFC3339.match(value):
            parsed = parse_datetime(value.replace("z", "Z"))
            if parsed is None:
                raise ValueError(value)
            if parsed.tzinfo is not None:
                parsed = parsed.astimezone(dt.UTC)
            return parsed.date()
    except ValueError:
        pass
    raise ValueError("not a date")


@extend_schema_field(OpenApiTypes.DATE)
class ApiDateField(serializers.Field):
    """A date in any ref §4.10 format; `""` and null mean "no date"; output `YYYY-MM-DD`."""

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
                ErrorDetail(f"expected date string, got {_type_name(data)}", code="invalid_type")
            )
        try:
            return parse_api_date(data).isoformat()
        except ValueError:
            raise ValidationError(
                ErrorDetail(
                    "invalid date; use YYYY-MM-DD, YYYY-MM-DDThh:mm:ss or RFC 3339",
                    code="invalid_date",
                )
            ) from None

    def to_representation(self, value: Any) -> str | None:
        return value or None


@extend_schema_field({"type": "object", "additionalProperties": {"type": "string"}})
class MetadataField(serializers.Field):
    """Flat metadata (ref §4.12): ≤100 keys, key ≤100 chars, value ≤2000 chars, no nesting.

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
                ErrorDetail(f"expected object, got {_type_name(data)}", code="invalid_type")
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
            raise ValidationError(ErrorDetail("must not contain NUL bytes", code="nul"))
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


def _metadata_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


class StrictSerializer(serializers.Serializer):
    """A serializer for JSON objects that refuses unknown keys (CRM-0007) and non-objects
    (CRM-0004). Optional nested objects accept null (merge patch: remove)."""

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, Mapping):
            raise ValidationError(
                ErrorDetail(f"expected object, got {_type_name(data)}", code="invalid_type")
            )
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
