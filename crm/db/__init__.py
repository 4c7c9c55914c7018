"""Database machinery, vendor by vendor: the PostgreSQL and SQLite backends (timeouts, prepared
writes), database URLs with several hosts (`config`), multi-row inserts (`rows`), read replicas
and their router, server sessions and their liveness (`sessions`), waiting for the synchronous
standby (`durability`), planner statistics, and the private Django/psycopg APIs still used for
a measured gain (`internals`, docs/internals.md). Failover: docs/high-availability.md.

May import: Django and psycopg. Two lazy imports go up within the kernel, each explained where
it is made: `statistics` and `replicas` ask `crm.lifecycle.kinds` which tables hold registry
data (`crm.lifecycle` itself builds on `crm.db`). See docs/architecture.md.
"""
