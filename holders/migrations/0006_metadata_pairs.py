"""The metadata pair index (`crm.crypto.metadata_index`): flat `metadata.<k>=<v>` filters. Replaces
the GIN index on the organization-scoped metadata, which returned every match unordered (cost
in proportion to the matches) and which every write had to maintain. On a large table run it
with DB_STATEMENT_TIMEOUT_MS=0 DB_CLIENT_TIMEOUT_MS=0."""

import django.db.models.deletion
from django.db import migrations, models

from crm.db.migration_ops import backfill_metadata_pairs, postgres_only_sql


class Migration(migrations.Migration):

    dependencies = [
        ('holders', '0005_filter_indexes'),
    ]

    operations = [
        migrations.CreateModel(
            name='HolderMetadataPair',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('organization_id', models.UUIDField()),
                ('pair_hash', models.CharField(max_length=64)),
                ('holder', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='metadata_pairs', to='holders.holder')),
            ],
            options={
                'indexes': [models.Index(fields=['organization_id', 'pair_hash', 'holder'], name='holder_metadata_pair_idx')],
                'constraints': [models.UniqueConstraint(fields=('holder', 'pair_hash'), name='holder_metadata_pair_unique')],
            },
        ),
        backfill_metadata_pairs("holders", "Holder", "HolderMetadataPair", "holder_id"),
        postgres_only_sql(
            "DROP INDEX IF EXISTS holder_scoped_metadata_gin",
            "CREATE INDEX IF NOT EXISTS holder_scoped_metadata_gin ON holders_holder "
            "USING gin (crm_scoped_metadata(metadata, organization_id) jsonb_path_ops)",
        ),
    ]
