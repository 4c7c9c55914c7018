"""GIN index (jsonb_path_ops) so `metadata.<key>=<value>` filters (`metadata @> {...}`) stay
index-backed at a million holders. PostgreSQL only."""

from django.db import migrations

from crm.db.migration_ops import postgres_only_sql


class Migration(migrations.Migration):
    dependencies = [("holders", "0001_initial")]

    operations = [
        postgres_only_sql(
            "CREATE INDEX IF NOT EXISTS holder_metadata_gin ON holders_holder "
            "USING gin (metadata jsonb_path_ops)",
            "DROP INDEX IF EXISTS holder_metadata_gin",
        )
    ]
