"""Names staff read, translatable (docs/admin.md, pt-BR): field labels and help texts, the audit
entries' actor kinds as choices (`AuditEntry.ActorType`). No change in the database."""


import crm.ids
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('events', '0002_outboxevent_traceparent'),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='outboxevent',
            options={'verbose_name': 'outbox event', 'verbose_name_plural': 'outbox events'},
        ),
        migrations.AlterField(
            model_name='outboxevent',
            name='aggregate_id',
            field=models.UUIDField(help_text='the CloudEvents subject', verbose_name='record id'),
        ),
        migrations.AlterField(
            model_name='outboxevent',
            name='aggregate_kind',
            field=models.CharField(help_text='holder or alias', max_length=32, verbose_name='record kind'),
        ),
        migrations.AlterField(
            model_name='outboxevent',
            name='attempts',
            field=models.PositiveIntegerField(default=0, verbose_name='attempts'),
        ),
        migrations.AlterField(
            model_name='outboxevent',
            name='created_at',
            field=models.DateTimeField(default=django.utils.timezone.now, verbose_name='created at'),
        ),
        migrations.AlterField(
            model_name='outboxevent',
            name='event_id',
            field=models.UUIDField(default=crm.ids.uuid7, editable=False, unique=True, verbose_name='event id'),
        ),
        migrations.AlterField(
            model_name='outboxevent',
            name='next_attempt_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='next attempt at'),
        ),
        migrations.AlterField(
            model_name='outboxevent',
            name='occurred_at',
            field=models.DateTimeField(help_text='the CloudEvents time', verbose_name='occurred at'),
        ),
        migrations.AlterField(
            model_name='outboxevent',
            name='organization_id',
            field=models.UUIDField(verbose_name='organization id'),
        ),
        migrations.AlterField(
            model_name='outboxevent',
            name='payload',
            field=models.JSONField(verbose_name='payload'),
        ),
        migrations.AlterField(
            model_name='outboxevent',
            name='sent_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='sent at'),
        ),
        migrations.AlterField(
            model_name='outboxevent',
            name='seq',
            field=models.BigAutoField(primary_key=True, serialize=False, verbose_name='sequence'),
        ),
        migrations.AlterField(
            model_name='outboxevent',
            name='type',
            field=models.CharField(help_text='event key, e.g. holder.created', max_length=64, verbose_name='type'),
        ),
    ]
