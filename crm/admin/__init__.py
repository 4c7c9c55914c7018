"""The back-office's kernel part: the site's look, the building blocks the holder and alias
admins are made of, and the admins of the kernel's own models.

* `site` — titles and layout of the admin site.
* `lists` — list columns and filters shared by registry models (state, organization, masked
  documents, short ids).
* `forms` — flat admin forms over the API's wire shape, with every field derived from the
  API serializers (a length or rule is declared once, in the serializer).
* `registry` — `RegistryAdmin`, the base of the holder and alias admins: writes through the
  services, deletion through the lifecycle core, the audit trail as history.
* `paging` — counts worded once, the bounded "Show all", pages past the end (every list);
  `counting` — the bounded counts behind them.
* `export` — the CSV export: masked by default, confirmed when large, audited.
* `catalog` — the admin's translation script, cached by the browser.
* `audit`, `tokens`, `organizations` — the audit trail (read-only), API tokens and
  organization labels.
* `erasure_requests` — four eyes on erasure (`ERASURE_APPROVAL`): asking, the requests'
  list and page, approving and rejecting.

May import: the rest of the kernel. Never a domain app: a kind's admin subclasses
`RegistryAdmin` in its own app, and names its erasure's change events (`announce_erasure`).
"""

from crm.admin import (  # noqa: F401  (registers the kernel's admins)
    audit,
    erasure_requests,
    organizations,
    site,
    tokens,
)
from crm.admin.lists import mask_document

__all__ = ["mask_document"]
