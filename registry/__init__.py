"""The registry: what spans the two kinds of record, a holder and its alias accounts.

* `admin` — the holder page with its accounts (the aggregate's back-office);
* `importing` — the bulk import of holders with their accounts (`manage.py import_holders`);
* `management/commands` — `hard_delete` (erasure by id, retention and organization purges),
  `import_holders`, `seed_demo`.

May import: `crm`, `events`, `holders`, `aliases`. Nothing imports it (it is the top of the
dependency graph; docs/architecture.md).
"""
