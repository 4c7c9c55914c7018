"""Names staff read, translatable (docs/admin.md, pt-BR): field labels and help texts, the audit
entries' actor kinds as choices (`AuditEntry.ActorType`). No change in the database."""

import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0007_erasure_requests"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="organization",
            options={
                "ordering": ["label", "id"],
                "verbose_name": "organization",
                "verbose_name_plural": "organizations",
            },
        ),
        migrations.AlterField(
            model_name="apitoken",
            name="all_organizations",
            field=models.BooleanField(default=False, verbose_name="all organizations"),
        ),
        migrations.AlterField(
            model_name="apitoken",
            name="created_at",
            field=models.DateTimeField(
                default=django.utils.timezone.now, editable=False, verbose_name="created at"
            ),
        ),
        migrations.AlterField(
            model_name="apitoken",
            name="expires_at",
            field=models.DateTimeField(
                blank=True,
                help_text="After this moment the token is refused (401).",
                null=True,
                verbose_name="expires at",
            ),
        ),
        migrations.AlterField(
            model_name="apitoken",
            name="is_active",
            field=models.BooleanField(default=True, verbose_name="active"),
        ),
        migrations.AlterField(
            model_name="apitoken",
            name="key_prefix",
            field=models.CharField(editable=False, max_length=12, verbose_name="key prefix"),
        ),
        migrations.AlterField(
            model_name="apitoken",
            name="last_used_at",
            field=models.DateTimeField(
                blank=True, editable=False, null=True, verbose_name="last used at"
            ),
        ),
        migrations.AlterField(
            model_name="apitoken",
            name="name",
            field=models.CharField(max_length=100, unique=True, verbose_name="name"),
        ),
        migrations.AlterField(
            model_name="apitoken",
            name="organizations",
            field=models.JSONField(
                blank=True,
                default=list,
                help_text="Organization UUIDs this token may access.",
                verbose_name="organizations",
            ),
        ),
        migrations.AlterField(
            model_name="apitoken",
            name="permissions",
            field=models.JSONField(
                blank=True,
                default=list,
                help_text='Allowed "resource:action" pairs: each kind\'s plural with get, post, patch or delete.',
                verbose_name="permissions",
            ),
        ),
        migrations.AlterField(
            model_name="auditentry",
            name="actor_type",
            field=models.CharField(
                choices=[
                    ("api", "API (no token)"),
                    ("token", "API token"),
                    ("staff", "staff"),
                    ("command", "command"),
                    ("system", "system"),
                ],
                max_length=16,
                verbose_name="actor type",
            ),
        ),
        migrations.AlterField(
            model_name="auditentry",
            name="changed_fields",
            field=models.JSONField(blank=True, default=list, verbose_name="changed fields"),
        ),
        migrations.AlterField(
            model_name="auditentry",
            name="details",
            field=models.JSONField(blank=True, default=dict, verbose_name="details"),
        ),
        migrations.AlterField(
            model_name="auditentry",
            name="reason",
            field=models.TextField(blank=True, default="", verbose_name="reason"),
        ),
        migrations.AlterField(
            model_name="auditentry",
            name="redacted",
            field=models.BooleanField(default=False, verbose_name="redacted"),
        ),
        migrations.AlterField(
            model_name="auditentry",
            name="request_id",
            field=models.CharField(
                blank=True, default="", max_length=128, verbose_name="request id"
            ),
        ),
        migrations.AlterField(
            model_name="organization",
            name="id",
            field=models.UUIDField(
                help_text="The organization id (X-Organization-Id).",
                primary_key=True,
                serialize=False,
                verbose_name="organization id",
            ),
        ),
        migrations.AlterField(
            model_name="organization",
            name="label",
            field=models.CharField(
                help_text="The name staff know it by.", max_length=100, verbose_name="label"
            ),
        ),
    ]
