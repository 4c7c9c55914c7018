"""CSV export of a changelist selection (docs/api.md §8, issue 11 item 6).

* **Bounded memory**: rows are read with `QuerySet.iterator(chunk_size=CHUNK_ROWS)` (a
  server-side cursor on PostgreSQL), decrypted and written one chunk at a time into a
  `StreamingHttpResponse`; nothing holds the whole selection.
* **Audited**: one `export` audit entry per download, written when the stream ends (or is
  cut off): who, when, which kind, how many rows and which filters. Never a value: the search
  term (it may be a document) is recorded only as "a search was applied".
* **Safe to open in a spreadsheet**: every cell is quoted, and any part of a cell that starts
  with `=`, `+`, `-`, `@`, a tab or a carriage return — the cell's start, or the text after
  a `,`, a `;` or a tab, where a spreadsheet that splits on that separator (a pt-BR Excel
  splits on `;`) starts a new cell — is prefixed with `'`, so nothing is run as a formula.
* **Masked by default**: the paths an admin declares in `export_masks` (documents, account
  numbers, IBANs, also inside lists such as related parties) are masked as on the admin's
  pages (`crm.crypto.masking`). Only a user with the `export_unmasked_<model>` permission gets
  them in full, after giving a reason; the export's audit entry records `unmasked` and the
  reason, as a revealed document is recorded.
* **Confirmed when large**: a selection of more than `CONFIRM_ROWS` rows (or one the list can
  only estimate) gets a confirmation page with its size first. The size is the list's own
  count (`crm.admin.counting.bounded_count`): exact up to `EXACT_LIMIT` rows, read through a
  `LIMIT`ed subquery, beyond that PostgreSQL's planner estimate ("about N") or a lower bound
  ("more than N") — never a `COUNT(*)` over the whole table.
"""

import csv
import json
import re
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from typing import Any

from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext

from crm.admin.counting import EXACT_LIMIT, bounded_count
from crm.admin.errors import UNSEARCHABLE
from crm.api.documents import Path, get_path
from crm.crypto.encryption import is_unreadable, reading_unreadable_as_marks
from crm.ids import parse_uuid
from crm.lifecycle.audit import entry_values, giving_reason
from crm.models import AuditEntry

CHUNK_ROWS = 500
# A selection larger than this is shown with its size and confirmed before it is exported.
CONFIRM_ROWS = 1_000
# The longest reason an unmasked export keeps on its audit entry (the form says so too).
REASON_MAX = 1_000
FORMULA_START = ("=", "+", "-", "@", "\r")
# The separators some spreadsheet splits a line on: `,`, `;` (pt-BR Excel) and tab.
SEPARATOR = re.compile(r"([,;\t])")
# Changelist parameters that are not filters (paging, ordering) or must not be recorded.
NOT_FILTERS = frozenset({"p", "o", "q", "all", "e", "_facets"})


class _Line:
    """A file-like object whose `write` returns the line (csv.writer -> strings)."""

    def write(self, value: str) -> str:
        return value


def csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        value = json.dumps(value, ensure_ascii=False, sort_keys=True)
    parts = SEPARATOR.split(str(value))  # text, separator, text, ...
    for index in range(0, len(parts), 2):
        part = parts[index]
        text = part.lstrip(" ")
        if text.startswith(FORMULA_START):
            parts[index] = part[: len(part) - len(text)] + "'" + text
    return "".join(parts)


# A masked path: the wire path of a value and how it is masked (`crm.crypto.masking`).
Masks = dict[Path, Callable[[str], str]]


def masked_row(body: dict, masks: Masks) -> dict:
    """`body` with the value at each path of `masks` masked. A path that meets a list (an
    alias's related parties) masks that key in every item; a missing value or a mark for an
    unreadable one stays as it is. `body` itself is left unchanged."""

    def mask(value: Any, path: Path, how: Callable[[str], str]) -> Any:
        if isinstance(value, list):
            return [mask(item, path, how) for item in value]
        if not path:
            return how(value) if isinstance(value, str) and not is_unreadable(value) else value
        if not isinstance(value, dict) or path[0] not in value:
            return value
        return {**value, path[0]: mask(value[path[0]], path[1:], how)}

    for path, how in masks.items():
        body = mask(body, path, how)
    return body


def _masked(row: Callable[[Any], dict], masks: Masks, obj: Any) -> dict:
    return masked_row(row(obj), masks)


def selection_size(queryset) -> tuple[int, str]:
    """How many rows an export of `queryset` holds, as the list counts them: (n, "") exact,
    (n, "about") an estimate, (n, "more than") a lower bound (`bounded_count`)."""
    return bounded_count(queryset, EXACT_LIMIT)


def needs_confirmation(size: tuple[int, str]) -> bool:
    """More than `CONFIRM_ROWS` rows, or more than the list counts exactly."""
    count, estimate = size
    return bool(estimate) or count > CONFIRM_ROWS


def reason_problem(reason: str) -> str:
    """Why an unmasked export's `reason` is refused ("" when it is fine): it is required, at
    most `REASON_MAX` characters, and holds no control character (it is kept on the audit
    entry, and PostgreSQL refuses a NUL)."""
    text = reason.strip()
    if not text:
        return gettext("Give the reason for exporting full documents and account numbers.")
    if len(text) > REASON_MAX:
        return gettext("The reason is longer than %(max)d characters.") % {"max": REASON_MAX}
    if not UNSEARCHABLE.isdisjoint(text):  # tab and line breaks are fine
        return gettext("The reason holds a control character; retype it without.")
    return ""


def csv_lines(
    queryset, columns: Sequence[Path], row: Callable[[Any], dict], done: Callable[[int, bool], None]
) -> Iterator[str]:
    """The CSV text of `queryset`, a chunk of rows at a time; `done(rows, complete)` is called
    once the stream ends, whether it ran to its end or was cut off."""
    writer = csv.writer(_Line(), quoting=csv.QUOTE_ALL)
    written, complete = 0, False
    try:
        yield "\ufeff" + writer.writerow([".".join(path) for path in columns])
        chunk: list[str] = []
        rows = queryset.iterator(chunk_size=CHUNK_ROWS)
        while True:
            # A row no configured key reads is exported with its mark (crm/admin/unreadable.py);
            # the context is entered per row: a generator may be resumed in another context.
            with reading_unreadable_as_marks():
                obj = next(rows, None)
                body = None if obj is None else row(obj)
            if body is None:
                break
            chunk.append(writer.writerow([csv_cell(get_path(body, path)) for path in columns]))
            if len(chunk) == CHUNK_ROWS:
                written += len(chunk)
                yield "".join(chunk)
                chunk = []
        written += len(chunk)
        yield "".join(chunk)
        complete = True
    finally:
        done(written, complete)


def export_filters(request) -> dict[str, Any]:
    """What the audit entry says about the selection: the list's filter choices (fixed
    values: organization, type, state), and whether a search term narrowed it."""
    filters = {
        name: request.GET.get(name) for name in sorted(request.GET) if name not in NOT_FILTERS
    }
    return {"filters": filters, "search": bool(request.GET.get("q", "").strip())}


def csv_response(
    request,
    queryset,
    *,
    object_type: str,
    columns: Sequence[Path],
    row: Callable[[Any], dict],
    masks: Masks,
    selection: str,
    unmasked: bool = False,
    reason: str = "",
) -> StreamingHttpResponse:
    """Stream `queryset` as a CSV download and audit it (see the module docstring).
    `selection` says how the rows were chosen: "filters" (the whole filtered list) or
    "ticked" (rows ticked on the page). The values at `masks` are masked unless `unmasked`
    (the caller checked the permission and the `reason`, which the audit entry keeps)."""
    # Taken now: the actor and request id live in context variables of the request, and the
    # stream is consumed after the view has returned.
    with giving_reason(reason if unmasked else ""):
        values = entry_values(
            AuditEntry.Action.EXPORT,
            object_type=object_type,
            object_id=None,
            organization_id=parse_uuid(request.GET.get("organization") or ""),
        )
    details = {**export_filters(request), "selection": selection, "unmasked": unmasked}
    if not unmasked:
        row = partial(_masked, row, masks)

    def done(rows: int, complete: bool) -> None:
        AuditEntry.objects.create(**values, details={**details, "rows": rows, "complete": complete})

    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    response = StreamingHttpResponse(
        csv_lines(queryset, columns, row, done), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{object_type}s-{stamp}.csv"'
    response["Cache-Control"] = "no-store"
    return response
