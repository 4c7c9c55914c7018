"""List pages: offset pages by default, keyset (cursor) pages on request.

Offset (docs/api.md §3.2): `page`/`limit`/`sort_order`, envelope `{items, page, limit}`, no total
count.
`sort_order` (asc|desc, by creation = UUIDv7 primary key) is validated *and* honoured, unlike
the reference. A page costs one indexed range read plus the skipped rows (`OFFSET`).

Keyset (opt-in): a request that carries the `cursor` parameter - empty for the first page, or a
value from a previous page - is paged by primary key instead of by offset: `id > boundary`
(`<` for `sort_order=desc`) with `limit`, so every page costs the same at any depth. The envelope
is `{items, limit, next_cursor?, prev_cursor?}` (the reference's field names; each is left out
when there is no such page). A cursor is opaque and tamper-evident: urlsafe base64 of
`{"id", "points_next"}` (the shape of the reference's cursor; a position, no personal data), a
`.`, and an HMAC-SHA256 of it (`django.core.signing`, keyed by `SECRET_KEY` with a salt of its
own). A cursor whose signature does not match, i.e. any altered, truncated or extended one, or one
that this service did not make, is 400 CRM-0016 naming `cursor`: a client cannot aim a page at a
position of its choosing. Rotating `SECRET_KEY` ends the cursors in flight unless the old key is
kept in `SECRET_KEY_FALLBACKS` (the client starts again with `cursor=`). A cursor stays valid
while rows are added or deleted, and under any filter: it is only a position.
"""

import re
import uuid
from typing import Any

from django.conf import settings
from django.core import signing
from rest_framework.pagination import BasePagination
from rest_framework.response import Response

from crm.api.errors import CRMError

_INTEGER = re.compile(r"^[+-]?\d{1,12}$")
MAX_PAGE = 2**31 - 1
CURSOR_PARAM = "cursor"
MAX_CURSOR_LENGTH = 200
CURSOR_SALT = "crm.api.pagination.cursor"
CURSOR_SEPARATOR = "."  # outside base64's urlsafe alphabet, and safe in a query string
_CURSOR_SHAPE = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")


def _positive_int(params: Any, name: str, default: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    if not _INTEGER.match(raw) or int(raw) < 1:
        raise CRMError("CRM-0016", f"Invalid query parameter '{name}': must be a positive integer.")
    return int(raw)


def parse_page_params(params: Any, default_sort_order: str = "asc") -> tuple[int, int, str]:
    """Validate `page`, `limit`, `sort_order`; return them (defaults 1, 10, asc unless
    `default_sort_order` says otherwise)."""
    page = _positive_int(params, "page", 1)
    if page > MAX_PAGE:
        raise CRMError("CRM-0016", f"Invalid query parameter 'page': must be at most {MAX_PAGE}.")
    limit = _positive_int(params, "limit", 10)
    maximum = settings.MAX_PAGINATION_LIMIT
    if limit > maximum:
        raise CRMError("CRM-0009", f"The pagination limit exceeds the maximum of {maximum}.")
    sort_order = (params.get("sort_order") or default_sort_order).lower()
    if sort_order not in ("asc", "desc"):
        raise CRMError("CRM-0011")
    return page, limit, sort_order


def cursor_signer() -> signing.Signer:
    """Signs and checks cursors with `SECRET_KEY` (and `SECRET_KEY_FALLBACKS`)."""
    return signing.Signer(salt=CURSOR_SALT, sep=CURSOR_SEPARATOR)


def encode_cursor(boundary: uuid.UUID, points_next: bool) -> str:
    """The opaque, signed cursor for the page after (`points_next`) or before `boundary`."""
    return cursor_signer().sign_object({"id": str(boundary), "points_next": points_next})


def _bad_cursor() -> CRMError:
    return CRMError(
        "CRM-0016",
        f"Invalid query parameter '{CURSOR_PARAM}': not a cursor from a previous page.",
        fields={CURSOR_PARAM: "Invalid cursor."},
    )


def decode_cursor(value: str) -> tuple[uuid.UUID, bool]:
    """(boundary id, points_next) of a cursor; 400 CRM-0016 naming `cursor` for anything that
    is not exactly what `encode_cursor` made: a signature that does not match first, then (for
    a signed payload) anything but `{"id": <UUID text>, "points_next": <bool>}`."""
    if len(value) > MAX_CURSOR_LENGTH or not _CURSOR_SHAPE.match(value):
        raise _bad_cursor()
    try:
        data = cursor_signer().unsign_object(value)
    except (signing.BadSignature, ValueError):  # binascii, Unicode and JSON errors included
        raise _bad_cursor() from None
    if (
        not isinstance(data, dict)
        or set(data) != {"id", "points_next"}
        or not isinstance(data["id"], str)
        or not isinstance(data["points_next"], bool)
    ):
        raise _bad_cursor()
    try:
        boundary = uuid.UUID(data["id"])
    except ValueError:
        raise _bad_cursor() from None
    if str(boundary) != data["id"]:
        raise _bad_cursor()
    return boundary, data["points_next"]


def reads_increasing_ids(forward: bool, sort_order: str) -> bool:
    """A forward page in asc order, or a backward page in desc order, reads increasing ids."""
    return forward == (sort_order == "asc")


def request_keyset(params: Any) -> tuple[uuid.UUID | None, bool] | None:
    """(boundary id or None on the first page, reads increasing ids) of a keyset list
    request, None for an offset page. The metadata filter bounds its index scan with it; the
    pagination validates and applies the rest."""
    if CURSOR_PARAM not in params:
        return None
    cursor = params.get(CURSOR_PARAM) or ""
    boundary, forward = decode_cursor(cursor) if cursor else (None, True)
    return boundary, reads_increasing_ids(forward, parse_page_params(params)[2])


class PagePagination(BasePagination):
    """Offset pages (page/limit/sort_order) over the primary key (creation order), or keyset
    pages when the request carries `cursor` (see the module docstring).

    A subclass may page another unique key in place of the primary key: `ordering_field`,
    with `position(row)` (a row's place as the cursor's UUID) and `bound(boundary)` (the value
    a cursor's UUID stands for), and change `default_sort_order`."""

    ordering_field = "id"
    default_sort_order = "asc"

    def position(self, row) -> uuid.UUID:
        """A row's place in the order, as a cursor carries it (a record, or a named tuple of
        a list's columns)."""
        return getattr(row, self.ordering_field)

    def bound(self, boundary: uuid.UUID) -> Any:
        """The `ordering_field` value a cursor's boundary stands for."""
        return boundary

    def paginate_queryset(self, queryset, request, view=None):
        rows = list(self.page_queryset(queryset, request.query_params))
        return self._keyset_rows(rows) if self.keyset else rows

    def page_queryset(self, queryset, params: Any):
        """The (unevaluated) query of the page the parameters ask for: what a list request runs,
        and what `tests/test_query_plans.py` EXPLAINs."""
        self.page, self.limit, self.sort_order = parse_page_params(params, self.default_sort_order)
        self.keyset = CURSOR_PARAM in params
        if self.keyset:
            return self._keyset_queryset(queryset, params.get(CURSOR_PARAM) or "")
        key = self.ordering_field
        ordering = key if self.sort_order == "asc" else f"-{key}"
        offset = (self.page - 1) * self.limit
        return queryset.order_by(ordering)[offset : offset + self.limit]

    def _keyset_queryset(self, queryset, cursor: str):
        """`limit + 1` rows from the boundary: the extra row tells whether there is a page
        beyond. Backward pages are read in reverse order (and turned around afterwards)."""
        if self.page != 1:
            raise CRMError(
                "CRM-0016",
                f"Invalid query parameter '{CURSOR_PARAM}': a cursor page has no page number.",
                fields={CURSOR_PARAM: "Cannot be combined with page."},
            )
        self.boundary, self.forward = decode_cursor(cursor) if cursor else (None, True)
        self.increasing = reads_increasing_ids(self.forward, self.sort_order)
        key = self.ordering_field
        if self.boundary is not None:
            lookup = f"{key}__gt" if self.increasing else f"{key}__lt"
            queryset = queryset.filter(**{lookup: self.bound(self.boundary)})
        return queryset.order_by(key if self.increasing else f"-{key}")[: self.limit + 1]

    def _keyset_rows(self, rows: list) -> list:
        """The page's rows in list order; sets `next_cursor` / `prev_cursor`."""
        boundary, forward = self.boundary, self.forward
        self.next_cursor = self.prev_cursor = None
        more = len(rows) > self.limit
        rows = rows[: self.limit]
        if not forward:
            rows.reverse()
        if rows:
            first, last = self.position(rows[0]), self.position(rows[-1])
            if forward:
                self.next_cursor = encode_cursor(last, True) if more else None
                self.prev_cursor = encode_cursor(first, False) if boundary is not None else None
            else:
                self.next_cursor = encode_cursor(last, True)
                self.prev_cursor = encode_cursor(first, False) if more else None
        elif boundary is not None:
            # Nothing beyond the boundary (any more): the way back starts just past the
            # boundary, so that the page back includes the boundary row itself.
            step = 1 if self.increasing else -1
            just_past = uuid.UUID(int=min(max(boundary.int + step, 0), 2**128 - 1))
            if forward:
                self.prev_cursor = encode_cursor(just_past, False)
            else:
                self.next_cursor = encode_cursor(just_past, True)
        return rows

    def get_paginated_response(self, data) -> Response:
        if not self.keyset:
            return Response({"items": data, "page": self.page, "limit": self.limit})
        body: dict[str, Any] = {"items": data, "limit": self.limit}
        if self.next_cursor:
            body["next_cursor"] = self.next_cursor
        if self.prev_cursor:
            body["prev_cursor"] = self.prev_cursor
        return Response(body)

    def get_paginated_response_schema(self, schema: dict) -> dict:
        return {
            "type": "object",
            "required": ["items", "limit"],
            "description": (
                "Offset page `{items, page, limit}`; with `cursor`, a keyset page "
                "`{items, limit, next_cursor?, prev_cursor?}`."
            ),
            "properties": {
                "items": schema,
                "page": {
                    "type": "integer",
                    "example": 1,
                    "description": "The page number (offset pages only).",
                },
                "limit": {"type": "integer", "example": 10},
                "next_cursor": {
                    "type": "string",
                    "description": (
                        "Keyset pages only: pass as `cursor` for the next page; left out on "
                        "the last page."
                    ),
                },
                "prev_cursor": {
                    "type": "string",
                    "description": (
                        "Keyset pages only: pass as `cursor` for the previous page; left out "
                        "on the first page."
                    ),
                },
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
                "schema": {
                    "type": "string",
                    "enum": ["asc", "desc"],
                    "default": self.default_sort_order,
                },
            },
            {
                "name": CURSOR_PARAM,
                "in": "query",
                "required": False,
                "schema": {"type": "string", "maxLength": MAX_CURSOR_LENGTH},
            },
        ]
