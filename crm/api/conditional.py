"""`ETag` and `If-Match` on the API: optimistic concurrency for two writers of one record
(docs/api.md §12, RFC 9110 §8.8.3 and §13.1.1).

A record's entity tag is its version number (`RegistryModel.version`, one more with every
change), as a strong tag: `"3"`. Every response carrying a record body sends it
(`with_etag`); a past body (`…/versions/{n}`, `?as_of=`) sends the version it shows.

`PATCH` and `DELETE` accept `If-Match` (`parse_if_match`): a comma-separated list of entity
tags or `*`. The write then happens only while the record's version is one of them
(`IfMatch.allows`; strong comparison, so a weak `W/"3"` matches nothing, and `*` matches any
existing record); otherwise it is refused with 412 CRM-0911 and nothing is written. The
comparison is made by the service with the row locked, inside the write's transaction
(`crm.lifecycle.versions.require_version`), so two writers holding the same tag cannot both
win. A header that is not a list of entity tags is 400 CRM-0022 (a malformed header, as for
`X-Organization-Id`). Without `If-Match` a write behaves as in Midaz: the last one wins.
"""

import re
from dataclasses import dataclass

from rest_framework.response import Response

from crm.api.errors import CRMError

HEADER = "If-Match"
MAX_HEADER_LENGTH = 1024
# One entity tag (RFC 9110 §8.8.3): optional weakness prefix, then a quoted string of etagc.
_ENTITY_TAG = re.compile(r'^(W/)?"([\x21\x23-\x7e\x80-\xff]*)"$')
# A tag this service makes: a version number (at most 10 digits: a PositiveIntegerField).
_VERSION_TAG = re.compile(r"^[1-9][0-9]{0,9}$")


def etag(version: int) -> str:
    """The strong entity tag of a record at `version`: `"3"`."""
    return f'"{version}"'


def with_etag(response: Response, version: int) -> Response:
    """`response` with the `ETag` of the record body it carries."""
    response["ETag"] = etag(version)
    return response


@dataclass(frozen=True)
class IfMatch:
    """A parsed `If-Match`: `*` (any existing record), or the versions its strong tags name."""

    any: bool = False
    versions: frozenset[int] = frozenset()

    @classmethod
    def exactly(cls, version: int) -> "IfMatch":
        """The condition "the record is still at `version`" (a form that carries the version
        it was opened at asks the same question as an API client)."""
        return cls(versions=frozenset({version}))

    def allows(self, version: int) -> bool:
        return self.any or version in self.versions


def parse_if_match(value: str | None) -> IfMatch | None:
    """The condition of an `If-Match` header value, None when absent; 400 CRM-0022 naming
    the header when it is not `*` or a comma-separated list of entity tags."""
    if value is None:
        return None
    text = value.strip()
    if text == "*":
        return IfMatch(any=True)
    # Empty list elements are ignored (RFC 9110 §5.6.1.2).
    items = [item.strip() for item in text.split(",")] if len(text) <= MAX_HEADER_LENGTH else []
    items = [item for item in items if item]
    versions = set()
    for item in items:
        match = _ENTITY_TAG.match(item)
        if match is None:
            items = []
            break
        weak, tag = match.groups()
        if not weak and _VERSION_TAG.match(tag):
            versions.add(int(tag))
    if not items:
        raise CRMError(
            "CRM-0022",
            'The If-Match header must be "*" or a list of entity tags, e.g. "3".',
            fields={HEADER: 'Expected "*" or quoted entity tags such as "3".'},
        )
    return IfMatch(versions=frozenset(versions))
