"""The HTTP API's plumbing, shared by every kind: the error contract, parsers, tenancy, pagination,
filters, base serializers, viewsets, idempotency, throttling, the OpenAPI helpers, middleware and
the operational endpoints (`/health`, `/version`, `/readyz`, error views).

May import: `crm.db`, `crm.crypto`, `crm.access`, `crm.lifecycle` (and `crm.models`). Never a
domain app (`holders`, `aliases`), `registry` or `events`. See docs/architecture.md.
"""
