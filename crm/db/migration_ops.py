"""Migration operations shared by the apps' migrations: SQL that only applies on PostgreSQL
(e.g. GIN indexes on JSON columns; a no-op on SQLite so the embedded default keeps working),
backfills, and re-keying a table on a composite primary key."""

from django.db import migrations, models

from crm.db.internals import remake_table


def postgres_only_sql(forward: str, reverse: str) -> migrations.RunPython:
    def apply(sql: str):
        def run(apps, schema_editor):
            if schema_editor.connection.vendor == "postgresql":
                schema_editor.execute(sql)

        return run

    return migrations.RunPython(apply(forward), apply(reverse))


def backfill_metadata_pairs(app_label: str, model: str, pair_model: str, fk: str):
    """Fill a metadata pair index (`crm.crypto.metadata_index`) from the records' metadata, in
    batches (a million rows take a few minutes; run with DB_STATEMENT_TIMEOUT_MS=0)."""
    from crm.crypto.metadata_index import pair_hashes

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


def composite_primary_key(
    app_label: str, model_name: str, fields: tuple[str, ...], unique_constraint: str
) -> list:
    """Operations that drop a table's surrogate `id` and make `fields`, unique together until
    now (`unique_constraint`), its primary key: the unique index becomes the key's, and the
    index of `id` — one more entry written for every row, read by nothing — is gone. For the
    search index tables (name tokens, metadata pairs), where a record writes several rows.

    Django cannot migrate a primary key to a composite one by itself: the model state changes
    as `makemigrations` would write it, and the table is changed here. PostgreSQL in one
    `ALTER TABLE` (the key's index is built once: ~10 s per 10 million rows); SQLite copies the
    table into a new one (its way of changing a key). Not reversible."""
    key = models.CompositePrimaryKey(
        *fields, blank=True, editable=False, primary_key=True, serialize=False
    )
    state = [
        migrations.RemoveConstraint(model_name=model_name, name=unique_constraint),
        migrations.RemoveField(model_name=model_name, name="id"),
        migrations.AddField(model_name=model_name, name="pk", field=key),
    ]

    def rekey(apps, schema_editor):
        model = apps.get_model(app_label, model_name)  # the new state: keyed on `fields`
        if schema_editor.connection.vendor != "postgresql":
            remake_table(schema_editor, model)
            return
        quote = schema_editor.quote_name
        key = ", ".join(quote(column) for column in model._meta.pk.columns)
        schema_editor.execute(
            f"ALTER TABLE {quote(model._meta.db_table)} DROP CONSTRAINT {quote(unique_constraint)},"
            f" DROP COLUMN id, ADD PRIMARY KEY ({key})"
        )

    return [
        migrations.SeparateDatabaseAndState(state_operations=state),
        migrations.RunPython(rekey, elidable=False),
    ]
