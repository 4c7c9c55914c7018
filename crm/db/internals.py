"""The private or undocumented Django and psycopg APIs the kernel uses, in one place.

Each is here because measuring it against the public path showed a gain worth an upgrade's
risk; the figures, where each is used and the test that fails when an upgrade changes it are
in docs/internals.md (`python -m bench.internals` measures them again). Every one of them is
exercised by `tests/test_private_apis.py`, which compares it with the public path's result:
after upgrading Django or psycopg, run that file first.

Two more live where they must, as overrides in the subclass they belong to, and are listed in
the same table: the PostgreSQL backend's health-check skip and client deadline
(`crm.db.postgresql.base`) and the relay's frame batching (`events.broker`, pika).
"""

from dataclasses import dataclass
from typing import Any

from django.db.backends.postgresql import base as postgresql_base
from django.db.models import Model, QuerySet
from psycopg import errors as pg_errors

# psycopg raises this private subclass of `OperationalError` when the `timeout` of
# `Connection.wait()` (also undocumented) expires; `crm.db.postgresql.base.DeadlineConnection`
# turns it into a public `OperationalError` after closing the connection. No public psycopg
# API bounds a wait on a server that stopped answering (docs/reliability.md: a frozen server
# held a query > 25 s; with it, 503 CRM-0907 within `client_timeout`).
WaitTimeout = pg_errors._WaitTimeout

# Django's psycopg 3 cursor class for `server_side_binding` (an undocumented name):
# `crm.db.postgresql.base.WritePreparingCursor` extends it so that only the services' fixed
# INSERTs are prepared on the server (bench: a create's statement 4.42 → 3.90 ms on a busy
# machine; quiet: create holder 2.5 → 2.2 ms in process; docs/internals.md).
ServerBindingCursor = postgresql_base.ServerBindingCursor


@dataclass(frozen=True)
class CompiledRead:
    """A single-row `SELECT` compiled once for one connection: its SQL and parameters, and
    what turns a row into a model instance the way the ORM's own iterator does (the selected
    columns' attribute names and the compiler's converters)."""

    model: type[Model]
    sql: str
    params: tuple
    init_names: tuple[str, ...]
    converters: tuple[tuple[int, list, Any], ...]

    def instance(self, connection, row: tuple) -> Model:
        values = list(row[: len(self.init_names)])
        for position, functions, expression in self.converters:
            for convert in functions:
                values[position] = convert(values[position], expression, connection)
        return self.model.from_db(connection.alias, self.init_names, values)


def compile_read(connection, queryset: QuerySet) -> CompiledRead:
    """Compile `queryset` (one model's rows, no annotations or related selections) for
    `connection` with Django's SQL compiler: `get_compiler`, `as_sql`, `klass_info`, `select`
    and `get_converters` are the compiler's internals, which `QuerySet.__iter__` uses to turn
    rows into instances. `crm.models.one_or_error` compiles each by-id read once per shape and
    connection and reuses it with new ids: the ORM builds and compiles the same query on every
    call, a third of an in-process GET (bench: the read 5.83 → 1.87 ms on PostgreSQL, 5.89 →
    1.21 ms on SQLite, on a busy machine; quiet: GET 1.58 → 0.95 ms; docs/internals.md)."""
    compiler = queryset.query.get_compiler(connection=connection)
    sql, params = compiler.as_sql()
    fields = compiler.klass_info["select_fields"]
    selected = [column for column, _sql, _alias in compiler.select[fields[0] : fields[-1] + 1]]
    converters = compiler.get_converters(selected)
    return CompiledRead(
        model=queryset.model,
        sql=sql,
        params=tuple(params),
        init_names=tuple(column.target.attname for column in selected),
        converters=tuple(
            (position, functions, expression)
            for position, (functions, expression) in converters.items()
        ),
    )
