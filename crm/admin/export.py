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
"""

import csv
import json
import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from django.http import StreamingHttpResponse
from django.utils import timezone

from crm.api.documents import Path, get_path
from crm.crypto.encryption import reading_unreadable_as_marks
from crm.ids import parse_uuid
from crm.lifecycle.audit import entry_values
from crm.models import AuditEntry

CHUNK_ROWS = 500
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
    selection: str,
) -> StreamingHttpResponse:
    """Stream `queryset` as a CSV download and audit it (see the module docstring).
    `selection` says how the rows were chosen: "filters" (the whole filtered list) or
    "ticked" (rows ticked on the page)."""
    # Taken now: the actor and request id live in context variables of the request, and the
    # stream is consumed after the view has returned.
    values = entry_values(
        AuditEntry.Action.EXPORT,
        object_type=object_type,
        object_id=None,
        organization_id=parse_uuid(request.GET.get("organization") or ""),
    )
    details = {**export_filters(request), "selection": selection}

    def done(rows: int, complete: bool) -> None:
        AuditEntry.objects.create(**values, details={**details, "rows": rows, "complete": complete})

    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    response = StreamingHttpResponse(
        csv_lines(queryset, columns, row, done), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{object_type}s-{stamp}.csv"'
    response["Cache-Control"] = "no-store"
    return response
