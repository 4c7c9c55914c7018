"""GIN index (jsonb_path_ops) so `metadata.<key>=<value>` filters (`metadata @> {...}`) stay
index-backed at scale. PostgreSQL only."""

from django.db import migrations

from crm.db.migration_ops import postgres_only_sql


class Migration(migrations.Migration):
    dependencies = [("aliases", "0001_initial")]

    operations = [
        postgres_only_sql(
            "CREATE INDEX IF NOT EXISTS alias_metadata_gin ON aliases_aliasaccount "
            "USING gin (metadata jsonb_path_ops)",
            "DROP INDEX IF EXISTS alias_metadata_gin",
        )
    ]
