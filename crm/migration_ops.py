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


def backfill_metadata_pairs(app_label: str, model: str, pair_model: str, fk: str):
    """Fill a metadata pair index (`crm.metadata_index`) from the records' metadata, in
    batches (a million rows take a few minutes; run with DB_STATEMENT_TIMEOUT_MS=0)."""
    from crm.metadata_index import pair_hashes

    def forward(apps, schema_editor):
        records = apps.get_model(app_label, model).objects
        pairs = apps.get_model(app_label, pair_model)
        database = schema_editor.connection.alias
        batch = []
        rows = records.using(database).values_list("id", "organization_id", "metadata")
        for record_id, organization_id, metadata in rows.iterator(chunk_size=2000):
            batch.extend(
                pairs(**{fk: record_id}, organization_id=organization_id, pair_hash=digest)
                for digest in pair_hashes(organization_id, metadata)
            )
            if len(batch) >= 5000:
                pairs.objects.using(database).bulk_create(batch)
                batch = []
        pairs.objects.using(database).bulk_create(batch)

    return migrations.RunPython(forward, migrations.RunPython.noop)
