"""Index-backed, flat list filters at a million aliases (issue 10, docs/api.md §11).

* Equality filters get (organization, value, id) indexes: a filtered page is read in id order
  from the index, whatever the number of matches, and a keyset cursor is an index bound. They
  replace the (organization, value) indexes (built first, dropped after).
* Related parties: (organization, document hash | role, alias) so the party filters read the
  alias ids from the index alone.
* PostgreSQL: the metadata GIN index is on the organization-scoped metadata, with statistics on
  the expression (see holders 0005, which explains it and also creates the function).

On a large table run the migration with DB_STATEMENT_TIMEOUT_MS=0 DB_CLIENT_TIMEOUT_MS=0.
"""

from django.db import migrations, models

TABLE = "aliases_aliasaccount"
SCOPED_GIN = "alias_scoped_metadata_gin"
OLD_GIN = "alias_metadata_gin"


def scoped_metadata_gin(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {SCOPED_GIN} ON {TABLE} "
        "USING gin (crm_scoped_metadata(metadata, organization_id) jsonb_path_ops)"
    )
    schema_editor.execute(f"ALTER INDEX {SCOPED_GIN} ALTER COLUMN 1 SET STATISTICS 1000")
    schema_editor.execute(f"DROP INDEX IF EXISTS {OLD_GIN}")


def metadata_only_gin(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {OLD_GIN} ON {TABLE} USING gin (metadata jsonb_path_ops)"
    )
    schema_editor.execute(f"DROP INDEX IF EXISTS {SCOPED_GIN}")


def _index(fields: list[str], name: str) -> migrations.AddIndex:
    return migrations.AddIndex(
        model_name="aliasaccount", index=models.Index(fields=fields, name=name)
    )


class Migration(migrations.Migration):
    dependencies = [
        ("aliases", "0003_deleted_at_index"),
        ("holders", "0005_filter_indexes"),
    ]

    operations = [
        _index(["organization_id", "account_id", "id"], "alias_account_id_idx"),
        _index(["organization_id", "ledger_id", "id"], "alias_ledger_id_idx"),
        _index(["organization_id", "document_hash", "id"], "alias_document_id_idx"),
        _index(["organization_id", "banking_branch", "id"], "alias_branch_id_idx"),
        _index(["organization_id", "banking_account_hash", "id"], "alias_bank_account_id_idx"),
        _index(["organization_id", "banking_iban_hash", "id"], "alias_iban_id_idx"),
        _index(["organization_id", "participant_document_hash", "id"], "alias_participant_id_idx"),
        migrations.AddIndex(
            model_name="relatedparty",
            index=models.Index(
                fields=["organization_id", "document_hash", "alias"],
                name="related_party_doc_alias_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="relatedparty",
            index=models.Index(
                fields=["organization_id", "role", "alias"], name="related_party_role_alias_idx"
            ),
        ),
        migrations.RemoveIndex(model_name="aliasaccount", name="alias_account_idx"),
        migrations.RemoveIndex(model_name="aliasaccount", name="alias_ledger_idx"),
        migrations.RemoveIndex(model_name="aliasaccount", name="alias_document_idx"),
        migrations.RemoveIndex(model_name="aliasaccount", name="alias_branch_idx"),
        migrations.RemoveIndex(model_name="aliasaccount", name="alias_bank_account_idx"),
        migrations.RemoveIndex(model_name="aliasaccount", name="alias_iban_idx"),
        migrations.RemoveIndex(model_name="aliasaccount", name="alias_participant_idx"),
        migrations.RemoveIndex(model_name="relatedparty", name="related_party_document_idx"),
        migrations.RemoveIndex(model_name="relatedparty", name="related_party_role_idx"),
        migrations.RunPython(scoped_metadata_gin, metadata_only_gin),
    ]
