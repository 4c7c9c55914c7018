"""Record versions (docs/api.md §12): one row per state a holder or an alias account was left in
by a change, its API body encrypted (`crm.lifecycle.versions`). Unique per (record, number): the
index every read of a record's versions uses. Records created before this migration have no
version rows (nothing was deployed before it); their first change writes version 2."""

import crm.crypto.encryption
import crm.ids
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('crm', '0003_audit_chain_and_legal_holds'),
    ]

    operations = [
        migrations.CreateModel(
            name='RecordVersion',
            fields=[
                ('id', models.UUIDField(default=crm.ids.uuid7, editable=False, primary_key=True, serialize=False)),
                ('organization_id', models.UUIDField(verbose_name='organization')),
                ('object_type', models.CharField(max_length=32, verbose_name='object type')),
                ('object_id', models.UUIDField(verbose_name='object id')),
                ('number', models.PositiveIntegerField(verbose_name='version')),
                ('changed_at', models.DateTimeField(verbose_name='changed at (UTC)')),
                ('actor_type', models.CharField(max_length=16, verbose_name='actor type')),
                ('actor', models.CharField(max_length=150, verbose_name='actor')),
                ('action', models.CharField(max_length=16, verbose_name='action')),
                ('changed_fields', models.JSONField(blank=True, default=list)),
                ('body', crm.crypto.encryption.EncryptedJSONField()),
            ],
            options={
                'verbose_name': 'record version',
                'verbose_name_plural': 'record versions',
                'ordering': ['object_id', '-number'],
                'constraints': [models.UniqueConstraint(fields=('object_id', 'number'), name='version_object_number')],
            },
        ),
    ]
