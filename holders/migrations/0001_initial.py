"""Holders and their search index tables, as the models declare them (squashed before the first
deployment: no database had the earlier migrations to upgrade from; `version`, the number of a
holder's latest version and its API `ETag` (docs/api.md §12), was added here for the same
reason: an `AddField` of a NOT NULL column rebuilds the table on SQLite, and the rebuilt
table's indexes come back in another order, which changes SQLite's plans).

* `HolderNameToken` and `HolderMetadataPair` are keyed by (holder, hash), a `CompositePrimaryKey`
  with no surrogate `id`: a create writes ~8-20 such rows, and an `id` index would be one more
  entry per row that nothing reads. The key's index also serves every lookup by holder, so the
  foreign keys have no index of their own (`db_index=False`).
* `HolderNameToken.token_hash` is the search hash's first 64 bits (`holders.models.name_token`).
* Metadata filters use the pair index (`crm.crypto.metadata_index`): no GIN index on `metadata`.
"""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models

import crm.crypto.encryption
import crm.ids

LIVE = models.Q(("deleted_at__isnull", True))
DELETED = models.Q(("deleted_at__isnull", False))


class Migration(migrations.Migration):
    initial = True

    dependencies = []

    operations = [
        migrations.CreateModel(
            name="Holder",
            fields=[
                (
                    "id",
                    models.UUIDField(
                        default=crm.ids.uuid7, editable=False, primary_key=True, serialize=False
                    ),
                ),
                (
                    "organization_id",
                    models.UUIDField(editable=False, verbose_name="organization id"),
                ),
                (
                    "created_at",
                    models.DateTimeField(
                        default=django.utils.timezone.now,
                        editable=False,
                        verbose_name="created at",
                    ),
                ),
                (
                    "updated_at",
                    models.DateTimeField(
                        default=django.utils.timezone.now,
                        editable=False,
                        verbose_name="updated at",
                    ),
                ),
                (
                    "deleted_at",
                    models.DateTimeField(
                        blank=True, editable=False, null=True, verbose_name="deleted at"
                    ),
                ),
                (
                    "version",
                    models.PositiveIntegerField(
                        db_default=1, default=1, editable=False, verbose_name="version"
                    ),
                ),
                (
                    "external_id",
                    models.CharField(
                        blank=True, max_length=256, null=True, verbose_name="external id"
                    ),
                ),
                (
                    "type",
                    models.CharField(
                        choices=[
                            ("NATURAL_PERSON", "Natural person"),
                            ("LEGAL_PERSON", "Legal person"),
                        ],
                        max_length=16,
                        verbose_name="type",
                    ),
                ),
                ("name", crm.crypto.encryption.EncryptedTextField()),
                ("document", crm.crypto.encryption.EncryptedTextField()),
                ("document_hash", models.CharField(max_length=64)),
                ("email_hash", models.CharField(blank=True, max_length=64, null=True)),
                ("phone_hash", models.CharField(blank=True, max_length=64, null=True)),
                ("addresses", models.JSONField(blank=True, null=True)),
                ("contact", crm.crypto.encryption.EncryptedJSONField(blank=True, null=True)),
                ("natural_person", models.JSONField(blank=True, null=True)),
                (
                    "natural_person_private",
                    crm.crypto.encryption.EncryptedJSONField(blank=True, null=True),
                ),
                ("legal_person", models.JSONField(blank=True, null=True)),
                (
                    "legal_person_private",
                    crm.crypto.encryption.EncryptedJSONField(blank=True, null=True),
                ),
                ("metadata", models.JSONField(blank=True, default=dict)),
            ],
            options={
                "verbose_name": "holder",
                "verbose_name_plural": "holders",
                "ordering": ["id"],
                "permissions": [
                    ("soft_delete_holder", "Can soft-delete and restore a holder"),
                    ("export_holder", "Can export holders to CSV"),
                    ("hard_delete_holder", "Can erase a holder for good (hard delete)"),
                ],
                # In the order the pre-squash migrations built them (see aliases 0001).
                "indexes": [
                    models.Index(
                        condition=LIVE, fields=["organization_id", "id"], name="holder_org_live_idx"
                    ),
                    models.Index(fields=["organization_id", "id"], name="holder_org_all_idx"),
                    models.Index(
                        condition=DELETED, fields=["deleted_at"], name="holder_deleted_at_idx"
                    ),
                    models.Index(
                        fields=["organization_id", "document_hash", "id"],
                        name="holder_document_id_idx",
                    ),
                    models.Index(
                        fields=["organization_id", "external_id", "id"],
                        name="holder_external_id_id_idx",
                    ),
                    models.Index(
                        fields=["organization_id", "email_hash", "id"], name="holder_email_id_idx"
                    ),
                    models.Index(
                        fields=["organization_id", "phone_hash", "id"], name="holder_phone_id_idx"
                    ),
                ],
                "constraints": [
                    models.UniqueConstraint(
                        condition=LIVE,
                        fields=("organization_id", "document_hash"),
                        name="holder_document_unique_live",
                        violation_error_message="A live holder with this document already exists.",
                    ),
                ],
            },
        ),
        migrations.CreateModel(
            name="HolderNameToken",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "holder",
                        "token_hash",
                        blank=True,
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                ("organization_id", models.UUIDField()),
                ("token_hash", models.BigIntegerField()),
                (
                    "holder",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="name_tokens",
                        to="holders.holder",
                    ),
                ),
            ],
            options={
                "ordering": ["holder", "token_hash"],
                "indexes": [
                    models.Index(
                        fields=["organization_id", "token_hash", "holder"],
                        name="holder_name_token_holder_idx",
                    ),
                ],
            },
        ),
        migrations.CreateModel(
            name="HolderMetadataPair",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "holder",
                        "pair_hash",
                        blank=True,
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                ("organization_id", models.UUIDField()),
                ("pair_hash", models.CharField(max_length=64)),
                (
                    "holder",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="metadata_pairs",
                        to="holders.holder",
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(
                        fields=["organization_id", "pair_hash", "holder"],
                        name="holder_metadata_pair_idx",
                    ),
                ],
            },
        ),
    ]
