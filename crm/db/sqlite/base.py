"""Django's SQLite backend, plus `PRAGMA optimize` as each connection closes.

Why (issue 11): SQLite plans without statistics until something runs `ANALYZE`, and Django never
does. At 1M holders an admin search by a name word took 7-13 s on a database that had never been
analysed and 15-66 ms once it had. `migrate` ends with `ANALYZE` (`crm.db.statistics`), but rows
loaded afterwards (imports, months of traffic) are not covered by it.

SQLite's own advice for applications with short-lived connections (Django closes the SQLite
connection after every request) is to run `PRAGMA optimize` just before closing each one: it
analyses only the tables the connection's queries used whose statistics are missing or stale
(the table grew 25-fold since), and does nothing otherwise (microseconds). `analysis_limit`
bounds the work when it does analyse (a sample of ~400 rows per index instead of the whole
table), and `busy_timeout = 0` lets it give up at once rather than queue behind a writer: the
next connection to close tries again.
"""

import contextlib

from django.db.backends.sqlite3 import base

ANALYSIS_LIMIT = 400


class DatabaseWrapper(base.DatabaseWrapper):
    # `close()`, the public method, not the private one it calls: an in-memory database
    # is never closed (Django ignores the request) and a connection already closed inside a
    # transaction refuses the pragmas (suppressed), so both see the same closes.
    def close(self) -> None:
        self.validate_thread_sharing()  # never touch another thread's connection
        if self.connection is not None and not self.is_in_memory_db():
            with contextlib.suppress(base.Database.Error):
                self.connection.execute("PRAGMA busy_timeout = 0")
                self.connection.execute(f"PRAGMA analysis_limit = {ANALYSIS_LIMIT}")
                self.connection.execute("PRAGMA optimize")
        super().close()
