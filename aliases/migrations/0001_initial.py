"""Alias accounts, their related parties and their metadata pair index, as the models declare
them (squashed before the first deployment: no database had the earlier migrations to upgrade
from; `version`, the number of an alias's latest version and its API `ETag` (docs/api.md §12),
was added here for the same reason: see holders 0001).

* `AliasMetadataPair` is keyed by (alias, pair hash), a `CompositePrimaryKey` with no surrogate
  `id` (as the holders' index tables, holders 0001); the key's index serves every lookup by
  alias, so the foreign key has no index of its own.
* Equality filters have (organization, value, id) indexes: a filtered page is read in id order
  from the index (docs/api.md §11).
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

    dependencies = [
        ("holders", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="AliasAccount",
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
                ("ledger_id", models.CharField(max_length=256, verbose_name="ledger id")),
                ("account_id", models.CharField(max_length=256, verbose_name="account id")),
                ("type", models.CharField(max_length=16, verbose_name="type")),
                ("document", crm.crypto.encryption.EncryptedTextField()),
                ("document_hash", models.CharField(max_length=64)),
                ("banking_details", models.JSONField(blank=True, null=True)),
                (
                    "banking_details_private",
                    crm.crypto.encryption.EncryptedJSONField(blank=True, null=True),
                ),
                ("banking_branch", models.CharField(blank=True, max_length=256, null=True)),
                ("banking_account_hash", models.CharField(blank=True, max_length=64, null=True)),
                ("banking_iban_hash", models.CharField(blank=True, max_length=64, null=True)),
                (
                    "participant_document",
                    crm.crypto.encryption.EncryptedTextField(blank=True, null=True),
                ),
                (
                    "participant_document_hash",
                    models.CharField(blank=True, max_length=64, null=True),
                ),
                ("metadata", models.JSONField(blank=True, default=dict)),
                (
                    "holder",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="aliases",
                        to="holders.holder",
                    ),
                ),
            ],
            options={
                "verbose_name": "alias account",
                "verbose_name_plural": "alias accounts",
                "ordering": ["id"],
                "permissions": [
                    ("soft_delete_aliasaccount", "Can soft-delete and restore an alias"),
                    ("export_aliasaccount", "Can export alias accounts to CSV"),
                    ("hard_delete_aliasaccount", "Can erase an alias for good (hard delete)"),
                ],
                # Created at the end of the migration, after the operations below.
                "indexes": [
                    models.Index(
                        condition=DELETED, fields=["deleted_at"], name="alias_deleted_at_idx"
                    ),
                    models.Index(
                        fields=["organization_id", "account_id", "id"],
                        name="alias_account_id_idx",
                    ),
                    models.Index(
                        fields=["organization_id", "ledger_id", "id"], name="alias_ledger_id_idx"
                    ),
                    models.Index(
                        fields=["organization_id", "document_hash", "id"],
                        name="alias_document_id_idx",
                    ),
                    models.Index(
                        fields=["organization_id", "banking_branch", "id"],
                        name="alias_branch_id_idx",
                    ),
                    models.Index(
                        fields=["organization_id", "banking_account_hash", "id"],
                        name="alias_bank_account_id_idx",
                    ),
                    models.Index(
                        fields=["organization_id", "banking_iban_hash", "id"],
                        name="alias_iban_id_idx",
                    ),
                    models.Index(
                        fields=["organization_id", "participant_document_hash", "id"],
                        name="alias_participant_id_idx",
                    ),
                ],
            },
        ),
        # Built at once, so before the foreign key's index and the indexes above: the order the
        # pre-squash migrations built them in. SQLite's planner chooses between plans of equal
        # estimated cost by the order of the table's indexes; in another order it sorted a
        # holder's aliases instead of reading them in id order (tests/test_query_plans.py).
        migrations.AddIndex(
            model_name="aliasaccount",
            index=models.Index(
                condition=LIVE, fields=["organization_id", "id"], name="alias_org_live_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="aliasaccount",
            index=models.Index(fields=["organization_id", "id"], name="alias_org_all_idx"),
        ),
        migrations.AddIndex(
            model_name="aliasaccount",
            index=models.Index(fields=["organization_id", "holder", "id"], name="alias_holder_idx"),
        ),
        migrations.AddConstraint(
            model_name="aliasaccount",
            constraint=models.UniqueConstraint(
                condition=LIVE,
                fields=("organization_id", "account_id"),
                name="alias_account_unique_live",
                violation_error_message="A live alias already uses this account id.",
            ),
        ),
        migrations.CreateModel(
            name="RelatedParty",
            fields=[
                (
                    "id",
                    models.UUIDField(
                        default=crm.ids.uuid7, editable=False, primary_key=True, serialize=False
                    ),
                ),
                ("organization_id", models.UUIDField(editable=False)),
                ("document", crm.crypto.encryption.EncryptedTextField()),
                ("document_hash", models.CharField(max_length=64)),
                ("name", models.CharField(max_length=256)),
                (
                    "role",
                    models.CharField(
                        choices=[
                            ("PRIMARY_HOLDER", "Primary holder"),
                            ("LEGAL_REPRESENTATIVE", "Legal representative"),
                            ("RESPONSIBLE_PARTY", "Responsible party"),
                        ],
                        max_length=32,
                    ),
                ),
                ("start_date", models.DateField()),
                ("end_date", models.DateField(blank=True, null=True)),
                (
                    "alias",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="related_parties",
                        to="aliases.aliasaccount",
                    ),
                ),
            ],
            options={
                "verbose_name": "related party",
                "verbose_name_plural": "related parties",
                "ordering": ["id"],
                "indexes": [
                    models.Index(
                        fields=["organization_id", "document_hash", "alias"],
                        name="related_party_doc_alias_idx",
                    ),
                    models.Index(
                        fields=["organization_id", "role", "alias"],
                        name="related_party_role_alias_idx",
                    ),
                ],
            },
        ),
        migrations.CreateModel(
            name="AliasMetadataPair",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "alias",
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
                    "alias",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="metadata_pairs",
                        to="aliases.aliasaccount",
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(
                        fields=["organization_id", "pair_hash", "alias"],
                        name="alias_metadata_pair_idx",
                    ),
                ],
            },
        ),
    ]
