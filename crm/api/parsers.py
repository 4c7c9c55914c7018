"""The JSON body parser: strict JSON, a JSON object at the top, bounded size and depth."""

import json
from typing import Any

from django.conf import settings
from rest_framework.parsers import BaseParser

from crm.api.errors import CRMError

MAX_JSON_DEPTH = 10


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def json_depth(value: Any) -> int:
    """Depth of nested objects/arrays (a scalar is 0, `{}` is 1), computed iteratively."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, list):
            children = node
        else:
            deepest = max(deepest, depth)
            continue
        deepest = max(deepest, depth + 1)
        if depth + 1 > MAX_JSON_DEPTH:
            return depth + 1
        stack.extend((child, depth + 1) for child in children)
    return deepest


def refuse_declared_oversized_body(meta) -> None:
    """413 CRM-0905 when `Content-Length` declares more than `MAX_REQUEST_BODY_BYTES`, before a
    byte of the body is read. An undeclared or understated size is bounded by the parser,
    which reads at most one byte more than the limit."""
    try:
        declared = int(meta.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return
    if declared > settings.MAX_REQUEST_BODY_BYTES:
        raise CRMError("CRM-0905")


def parse_json_object(raw: bytes) -> dict[str, Any]:
    """Decode a request body into a dict or raise the contract's error."""
    if len(raw) > settings.MAX_REQUEST_BODY_BYTES:
        raise CRMError("CRM-0905")
    if not raw.strip():
        raise CRMError("CRM-0004", "The request body is empty; a JSON object is expected.")
    try:
        data = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise CRMError("CRM-0004", "The request body is not valid JSON.") from exc
    if not isinstance(data, dict):
        raise CRMError("CRM-0004", "The request body must be a JSON object.")
    if json_depth(data) > MAX_JSON_DEPTH:
        raise CRMError(
            "CRM-0015",
            f"The request body is nested deeper than {MAX_JSON_DEPTH} levels.",
        )
    return data


class StrictJSONParser(BaseParser):
    """DRF parser for `application/json` (and bodies sent without a content type)."""

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None) -> dict[str, Any]:
        raw = stream.read(settings.MAX_REQUEST_BODY_BYTES + 1) if stream is not None else b""
        return parse_json_object(raw)


class JSONOnlyNegotiation:
    """Content negotiation that parses every body as JSON, whatever its Content-Type.

    The reference does not enforce `Content-Type` (docs/api.md §3), and `curl -d` sends a form type.
    """

    def select_parser(self, request, parsers):
        return parsers[0]

    def select_renderer(self, request, renderers, format_suffix=None):
        renderer = renderers[0]
        return renderer, renderer.media_type
