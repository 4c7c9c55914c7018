"""Database machinery, vendor by vendor: the PostgreSQL and SQLite backends (timeouts, prepared
writes), multi-row inserts (`rows`), read replicas and their router, and planner statistics.

May import: Django and psycopg only (no other `crm` sub-package). See docs/architecture.md.
"""
