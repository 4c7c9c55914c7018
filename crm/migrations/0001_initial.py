"""The kernel's tables: API tokens, the audit trail, idempotency records, organization labels
and the key check (its row is written by 0002_key_check_row). Squashed before the first
deployment: no database had the earlier migrations to upgrade from."""

import django.utils.timezone
from django.db import migrations, models

import crm.crypto.encryption
import crm.ids


class Migration(migrations.Migration):
    initial = True

    dependencies = []

    operations = [
        migrations.CreateModel(
            name="ApiToken",
            fields=[
                (
                    "id",
                    models.UUIDField(
                        default=crm.ids.uuid7, editable=False, primary_key=True, serialize=False
                    ),
                ),
                ("name", models.CharField(max_length=100, unique=True)),
                ("key_hash", models.CharField(editable=False, max_length=64, unique=True)),
                ("key_prefix", models.CharField(editable=False, max_length=12)),
                ("all_organizations", models.BooleanField(default=False)),
                (
                    "organizations",
                    models.JSONField(
                        blank=True,
                        default=list,
                        help_text="Organization UUIDs this token may access.",
                    ),
                ),
                (
                    "permissions",
                    models.JSONField(
                        blank=True,
                        default=list,
                        help_text=(
                            'Allowed "resource:action" pairs: each kind\'s plural with get, post, patch or delete.'
                        ),
                    ),
                ),
                ("is_active", models.BooleanField(default=True)),
                (
                    "expires_at",
                    models.DateTimeField(
                        blank=True,
                        help_text="After this moment the token is refused (401).",
                        null=True,
                    ),
                ),
                ("last_used_at", models.DateTimeField(blank=True, editable=False, null=True)),
                (
                    "created_at",
                    models.DateTimeField(default=django.utils.timezone.now, editable=False),
                ),
            ],
            options={
                "verbose_name": "API token",
                "verbose_name_plural": "API tokens",
                "ordering": ["name", "id"],
            },
        ),
        migrations.CreateModel(
            name="KeyCheck",
            fields=[
                (
                    "id",
                    models.PositiveSmallIntegerField(
                        default=1, editable=False, primary_key=True, serialize=False
                    ),
                ),
                ("value", crm.crypto.encryption.EncryptedTextField()),
                ("hash", models.CharField(max_length=64)),
                (
                    "created_at",
                    models.DateTimeField(default=django.utils.timezone.now, editable=False),
                ),
            ],
            options={
                "ordering": ["id"],
            },
        ),
        migrations.CreateModel(
            name="Organization",
            fields=[
                (
                    "id",
                    models.UUIDField(
                        help_text="The organization id (X-Organization-Id).",
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                ("label", models.CharField(help_text="The name staff know it by.", max_length=100)),
            ],
            options={
                "ordering": ["label", "id"],
            },
        ),
        migrations.CreateModel(
            name="AuditEntry",
            fields=[
                (
                    "id",
                    models.UUIDField(
                        default=crm.ids.uuid7, editable=False, primary_key=True, serialize=False
                    ),
                ),
                (
                    "created_at",
                    models.DateTimeField(
                        db_index=True, default=django.utils.timezone.now, verbose_name="when (UTC)"
                    ),
                ),
                (
                    "organization_id",
                    models.UUIDField(blank=True, null=True, verbose_name="organization"),
                ),
                ("actor_type", models.CharField(max_length=16, verbose_name="actor type")),
                ("actor", models.CharField(max_length=150, verbose_name="actor")),
                (
                    "action",
                    models.CharField(
                        choices=[
                            ("create", "Create"),
                            ("update", "Update"),
                            ("soft_delete", "Soft Delete"),
                            ("restore", "Restore"),
                            ("hard_delete", "Hard Delete"),
                            ("rotate_keys", "Rotate Keys"),
                            ("export", "Export"),
                            ("view_document", "View Document"),
                        ],
                        max_length=16,
                        verbose_name="action",
                    ),
                ),
                ("object_type", models.CharField(max_length=32, verbose_name="object type")),
                ("object_id", models.UUIDField(blank=True, null=True, verbose_name="object id")),
                ("changed_fields", models.JSONField(blank=True, default=list)),
                ("request_id", models.CharField(blank=True, default="", max_length=128)),
                ("details", models.JSONField(blank=True, default=dict)),
                ("reason", models.TextField(blank=True, default="")),
            ],
            options={
                "verbose_name": "audit entry",
                "verbose_name_plural": "audit entries",
                "ordering": ["-created_at", "-id"],
                "indexes": [
                    models.Index(fields=["object_type", "object_id"], name="audit_object_idx"),
                    models.Index(
                        fields=["organization_id", "created_at"], name="audit_org_time_idx"
                    ),
                    models.Index(fields=["action", "created_at"], name="audit_action_time_idx"),
                ],
            },
        ),
        migrations.CreateModel(
            name="IdempotencyRecord",
            fields=[
                (
                    "id",
                    models.UUIDField(
                        default=crm.ids.uuid7, editable=False, primary_key=True, serialize=False
                    ),
                ),
                ("organization_id", models.UUIDField()),
                ("key_hash", models.CharField(max_length=64)),
                ("fingerprint", models.CharField(max_length=64)),
                (
                    "state",
                    models.CharField(
                        choices=[("in_progress", "In Progress"), ("completed", "Completed")],
                        default="in_progress",
                        max_length=16,
                    ),
                ),
                ("status_code", models.PositiveSmallIntegerField(blank=True, null=True)),
                ("response_body", crm.crypto.encryption.EncryptedTextField(blank=True, null=True)),
                ("object_kind", models.CharField(blank=True, default="", max_length=32)),
                ("object_id", models.UUIDField(blank=True, null=True)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
            ],
            options={
                "ordering": ["created_at", "id"],
                "indexes": [
                    models.Index(fields=["created_at"], name="idempotency_created_idx"),
                    models.Index(fields=["object_id"], name="idempotency_object_idx"),
                ],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("organization_id", "key_hash"), name="idempotency_org_key_uniq"
                    )
                ],
            },
        ),
    ]
