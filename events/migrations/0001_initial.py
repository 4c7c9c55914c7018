"""The change-event outbox (`events.outbox`, docs/api.md §7.5): partial indexes for the pending
events the relay reads in order and for the purge of sent ones."""

import django.utils.timezone
from django.db import migrations, models

import crm.ids


class Migration(migrations.Migration):
    initial = True

    dependencies = []

    operations = [
        migrations.CreateModel(
            name="OutboxEvent",
            fields=[
                ("seq", models.BigAutoField(primary_key=True, serialize=False)),
                ("event_id", models.UUIDField(default=crm.ids.uuid7, editable=False, unique=True)),
                (
                    "type",
                    models.CharField(help_text="event key, e.g. holder.created", max_length=64),
                ),
                ("aggregate_kind", models.CharField(help_text="holder or alias", max_length=32)),
                ("aggregate_id", models.UUIDField(help_text="the CloudEvents subject")),
                ("organization_id", models.UUIDField()),
                ("payload", models.JSONField()),
                ("occurred_at", models.DateTimeField(help_text="the CloudEvents time")),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("sent_at", models.DateTimeField(blank=True, null=True)),
                ("attempts", models.PositiveIntegerField(default=0)),
                ("next_attempt_at", models.DateTimeField(blank=True, null=True)),
            ],
            options={
                "verbose_name": "outbox event",
                "indexes": [
                    models.Index(
                        condition=models.Q(("sent_at__isnull", True)),
                        fields=["seq"],
                        name="events_outbox_pending",
                    ),
                    models.Index(fields=["aggregate_id", "seq"], name="events_outbox_aggregate"),
                    models.Index(
                        condition=models.Q(("sent_at__isnull", False)),
                        fields=["sent_at"],
                        name="events_outbox_sent",
                    ),
                ],
            },
        ),
    ]
