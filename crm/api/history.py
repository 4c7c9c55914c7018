"""Reading the past over the API (docs/api.md §12): a record's versions and its body as it was.

* `GET …/{id}/versions` — the record's versions, newest first, paged like every list (`page`,
  `limit`, `sort_order`, `cursor`; `VersionPagination` pages by version number): `version`,
  `action`, `changedAt`, `actor`, `fields` (field names: no personal value, nothing decrypted).
  The record must exist as its own GET finds it, soft-deleted included (its history ends with
  the soft delete); an erased record has no versions left: 404.
* `GET …/{id}/versions/{number}` — the body as it was after that version (the same JSON as a
  GET of the record then), with `ETag` naming that version.
* `GET …/{id}?as_of=<RFC 3339>` — the body at that instant: what a GET answered then, so a
  record that did not exist yet, was erased, or was soft-deleted at that instant (unless
  `include_deleted=true`) is the record's usual 404. A malformed `as_of` is 400 CRM-0016.

Everything is scoped by the organization and the record id like the record's own reads, so
another organization's id is the same 404. `HistoryMixin` gives a `RegistryViewSet` these
routes and its `retrieve`; the kind is the one the view set serves (`resource`, its plural).
The versions themselves are written by `crm.lifecycle.versions`.
"""

import datetime as dt
import re
import uuid
from typing import Any

from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from crm import lifecycle
from crm.api.conditional import with_etag
from crm.api.errors import CRMError
from crm.api.pagination import PagePagination
from crm.api.serializers import representation, timestamp
from crm.lifecycle.audit import ACTOR_TYPES
from crm.lifecycle.versions import VERSIONED
from crm.models import AuditEntry, RecordVersion

AS_OF = "as_of"
NUMBER = "number"  # the path parameter of one version
MAX_NUMBER = 2**31 - 1  # a PositiveIntegerField's largest value
# RFC 3339 `date-time`: a full date, a time, an offset (`Z` or ±hh:mm); seconds may have a
# fraction. A `+` sent unencoded in a query string arrives as a space: taken as the `+`.
_RFC_3339 = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[Tt](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?([Zz]|[+ -]\d{2}:\d{2})$"
)
_NUMBER = re.compile(r"^[1-9][0-9]{0,9}$")
# The actions a version names, as the OpenAPI enum `VersionActionEnum` lists them.
VERSION_ACTIONS = tuple(str(action) for action in sorted(VERSIONED))


def parse_as_of(params: Any) -> dt.datetime | None:
    """The `as_of` instant of a request in UTC (None when absent); 400 CRM-0016 naming it when
    it is not an RFC 3339 date-time with an offset."""
    raw = params.get(AS_OF)
    if raw is None:
        return None
    match = _RFC_3339.match(raw.strip()) if len(raw) <= 64 else None
    if match is not None:
        day, time, fraction, offset = match.groups()
        if offset in ("Z", "z"):
            offset = "+00:00"
        elif offset[0] == " ":
            offset = "+" + offset[1:]
        text = f"{day}T{time}.{(fraction or '')[:6]:0<6}{offset}"  # microseconds at most
        try:
            return dt.datetime.fromisoformat(text).astimezone(dt.UTC)
        except (ValueError, OverflowError):  # 2024-02-30, an offset past ±24 h, year 0
            pass
    raise CRMError(
        "CRM-0016",
        f"Invalid query parameter '{AS_OF}': must be an RFC 3339 date-time with an offset, "
        "e.g. 2024-03-01T12:00:00Z.",
        fields={AS_OF: "Expected an RFC 3339 date-time such as 2024-03-01T12:00:00Z."},
    )


def parse_number(raw: str) -> int:
    """A version number in a path: 1 to 2**31 - 1, else 400 CRM-0005 naming it."""
    if _NUMBER.match(raw) and int(raw) <= MAX_NUMBER:
        return int(raw)
    raise CRMError(
        "CRM-0005",
        f"Invalid path parameter '{NUMBER}': must be a version number (an integer from 1).",
        fields={NUMBER: "Expected an integer from 1."},
    )


class VersionPagination(PagePagination):
    """A record's versions, newest first by default, paged by version number; a cursor carries
    the number as its position (a UUID whose integer is the number)."""

    ordering_field = "number"
    default_sort_order = "desc"

    def position(self, row: RecordVersion) -> uuid.UUID:
        return uuid.UUID(int=row.number)

    def bound(self, boundary: uuid.UUID) -> int:
        # Past every version number (a cursor of another list): a bound no row passes.
        return min(boundary.int, MAX_NUMBER + 1)


class ActorSerializer(serializers.Serializer):
    type = serializers.ChoiceField(
        choices=ACTOR_TYPES,
        help_text="`token` (an API token or Access Manager subject), `staff` (the "
        "back-office), `command` (a management command, e.g. the import), `api` (an "
        "anonymous API call, access control off), `system`.",
    )
    name = serializers.CharField(help_text="The token's, user's or command's name.")


class VersionSerializer(serializers.Serializer):
    """One version in a record's list of versions: field names, never values."""

    version = serializers.IntegerField(min_value=1, help_text="1 for the create, then +1.")
    action = serializers.ChoiceField(choices=VERSION_ACTIONS)
    changedAt = serializers.DateTimeField(help_text="The record's `updatedAt` after it.")
    actor = ActorSerializer(help_text="Who made the change, as the audit trail names them.")
    fields = serializers.ListField(
        child=serializers.CharField(),
        help_text="The names of the fields the change set (`relatedParties[+]`/`[-]`: parties "
        "added/removed); no values.",
    )

    class Meta:
        ref_name = "Version"

    def to_representation(self, row: RecordVersion) -> dict[str, Any]:
        return {
            "version": row.number,
            "action": row.action,
            "changedAt": timestamp(row.changed_at),
            "actor": {"type": row.actor_type, "name": row.actor},
            "fields": row.changed_fields,
        }


class HistoryMixin:
    """`retrieve` (with `as_of`), `versions` and `version` for a `RegistryViewSet` whose
    `get_object()` reads the record by its path (`lookup_url_kwarg`). A view set whose path
    names more than the record (an alias under its holder) says in `owns(body)` whether a
    past body belongs there."""

    def history_kind(self) -> lifecycle.Kind:
        return lifecycle.kind_by_plural(self.resource)

    def history_ids(self) -> dict[str, uuid.UUID]:
        return {
            "organization_id": self.organization_id,
            "object_id": self.path_id(self.lookup_url_kwarg),
        }

    def owns(self, body: dict[str, Any]) -> bool:
        """Whether a past body of the record belongs under this path; True here."""
        return True

    def include_deleted(self) -> bool:
        # A soft-deleted record's versions are listed: its history ends with the deletion.
        return self.action == "versions" or super().include_deleted()

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        instant = parse_as_of(request.query_params)
        if instant is None:
            record = self.get_object()
            return with_etag(Response(self.get_serializer(record).data), record.version)
        found = lifecycle.version_as_of(self.history_kind(), **self.history_ids(), instant=instant)
        if found is None or (
            found.action == AuditEntry.Action.SOFT_DELETE and not self.include_deleted()
        ):
            raise CRMError(self.not_found_code)
        return self._past(found)

    @action(detail=True, methods=["get"], pagination_class=VersionPagination)
    def versions(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        self.get_object()  # the record's own 404 (tenancy, path, erased)
        queryset = lifecycle.versions_of(self.history_kind(), **self.history_ids())
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response([representation(VersionSerializer, r) for r in page])

    @action(detail=True, methods=["get"], url_path=rf"versions/(?P<{NUMBER}>[^/]+)")
    def version(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        number = parse_number(kwargs[NUMBER])
        found = lifecycle.version_number(self.history_kind(), **self.history_ids(), number=number)
        if found is None:
            raise CRMError(self.not_found_code, f"The record has no version {number}.")
        return self._past(found)

    def _past(self, found: RecordVersion) -> Response:
        """A past body, with the version it is as its `ETag`: `If-Match` with it succeeds only
        while the record is still at that version."""
        if not self.owns(found.body):
            raise CRMError(self.not_found_code)
        return with_etag(Response(found.body), found.number)
