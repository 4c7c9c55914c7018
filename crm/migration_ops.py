"""Migration operations that only apply on PostgreSQL (e.g. GIN indexes on JSON columns);
on SQLite they are no-ops so the embedded default keeps working."""

from django.db import migrations


def postgres_only_sql(forward: str, reverse: str) -> migrations.RunPython:
    def apply(sql: str):
        def run(apps, schema_editor):
            if schema_editor.connection.vendor == "postgresql":
                schema_editor.execute(sql)

        return run

    return migrations.RunPython(apply(forward), apply(reverse))
