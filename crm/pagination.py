"""Offset pages with the Midaz envelope `{items, page, limit}` (ref §2.5), no total count.

`sort_order` (asc|desc, by creation = UUIDv7 primary key) is validated *and* honoured, unlike the
reference. There is no COUNT query: a page costs one indexed range read.
"""

import re
from typing import Any

from django.conf import settings
from rest_framework.pagination import BasePagination
from rest_framework.response import Response

from crm.errors import CRMError

_INTEGER = re.compile(r"^[+-]?\d{1,12}$")
MAX_PAGE = 2**31 - 1


def _positive_int(params: Any, name: str, default: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    if not _INTEGER.match(raw) or int(raw) < 1:
        raise CRMError("CRM-0016", f"Invalid query parameter '{name}': must be a positive integer.")
    return int(raw)


def parse_page_params(params: Any) -> tuple[int, int, str]:
    """Validate `page`, `limit`, `sort_order`; return them (defaults 1, 10, asc)."""
    page = _positive_int(params, "page", 1)
    if page > MAX_PAGE:
        raise CRMError("CRM-0016", f"Invalid query parameter 'page': must be at most {MAX_PAGE}.")
    limit = _positive_int(params, "limit", 10)
    maximum = settings.MAX_PAGINATION_LIMIT
    if limit > maximum:
        raise CRMError("CRM-0009", f"The pagination limit exceeds the maximum of {maximum}.")
    sort_order = (params.get("sort_order") or "asc").lower()
    if sort_order not in ("asc", "desc"):
        raise CRMError("CRM-0011")
    return page, limit, sort_order


class PagePagination(BasePagination):
    """page/limit/sort_order pagination over the primary key (creation order)."""

    def paginate_queryset(self, queryset, request, view=None):
        self.page, self.limit, sort_order = parse_page_params(request.query_params)
        ordering = "id" if sort_order == "asc" else "-id"
        offset = (self.page - 1) * self.limit
        return list(queryset.order_by(ordering)[offset : offset + self.limit])

    def get_paginated_response(self, data) -> Response:
        return Response({"items": data, "page": self.page, "limit": self.limit})

    def get_paginated_response_schema(self, schema: dict) -> dict:
        return {
            "type": "object",
            "required": ["items", "page", "limit"],
            "properties": {
                "items": schema,
                "page": {"type": "integer", "example": 1},
                "limit": {"type": "integer", "example": 10},
            },
        }

    def get_schema_operation_parameters(self, view) -> list[dict]:
        return [
            {
                "name": "page",
                "in": "query",
                "required": False,
                "schema": {"type": "integer", "minimum": 1, "default": 1},
            },
            {
                "name": "limit",
                "in": "query",
                "required": False,
                "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 10},
            },
            {
                "name": "sort_order",
                "in": "query",
                "required": False,
                "schema": {"type": "string", "enum": ["asc", "desc"], "default": "asc"},
            },
        ]
