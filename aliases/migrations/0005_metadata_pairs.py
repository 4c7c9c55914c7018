"""The metadata pair index (`crm.crypto.metadata_index`): flat `metadata.<k>=<v>` filters. Replaces
the GIN index on the organization-scoped metadata, which returned every match unordered (cost
in proportion to the matches) and which every write had to maintain. On a large table run it
with DB_STATEMENT_TIMEOUT_MS=0 DB_CLIENT_TIMEOUT_MS=0."""

import django.db.models.deletion
from django.db import migrations, models

from crm.db.migration_ops import backfill_metadata_pairs, postgres_only_sql


class Migration(migrations.Migration):

    dependencies = [
        ('aliases', '0004_filter_indexes'),
    ]

    operations = [
        migrations.CreateModel(
            name='AliasMetadataPair',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('organization_id', models.UUIDField()),
                ('pair_hash', models.CharField(max_length=64)),
                ('alias', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='metadata_pairs', to='aliases.aliasaccount')),
            ],
            options={
                'indexes': [models.Index(fields=['organization_id', 'pair_hash', 'alias'], name='alias_metadata_pair_idx')],
                'constraints': [models.UniqueConstraint(fields=('alias', 'pair_hash'), name='alias_metadata_pair_unique')],
            },
        ),
        backfill_metadata_pairs("aliases", "AliasAccount", "AliasMetadataPair", "alias_id"),
        postgres_only_sql(
            "DROP INDEX IF EXISTS alias_scoped_metadata_gin",
            "CREATE INDEX IF NOT EXISTS alias_scoped_metadata_gin ON aliases_aliasaccount "
            "USING gin (crm_scoped_metadata(metadata, organization_id) jsonb_path_ops)",
        ),
    ]
