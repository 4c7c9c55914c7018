"""The registry's kernel: everything the kinds of record share, split by concern.

* `api/` — the HTTP API's plumbing (errors, parsers, tenancy, pagination, filters, base
  serializers and viewsets, idempotency, throttling, OpenAPI helpers, middleware, operational
  endpoints);
* `lifecycle/` — how a record is written, soft-deleted, restored and erased, and the audit trail;
* `crypto/` — encryption at rest, search hashes, key rotation and check, masking;
* `access/` — API tokens, the Access Manager, access-control checks;
* `db/` — database backends, multi-row inserts, replicas, statistics, migration operations;
* `admin/` — the back-office base;
* `observability/` — Prometheus metrics (`/metrics`, the series, gunicorn's workers summed);
* `models.py` — the kernel's own tables (audit entries, API tokens, idempotency records, the
  key check, organization labels) and the base of every kind (`RegistryModel`).

It knows no domain app, not even by name: the kinds are read from the models
(`crm.lifecycle.kinds`). docs/architecture.md draws the layers.
"""
