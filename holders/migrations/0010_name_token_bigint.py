"""Name tokens stored as the first 64 bits of their search hash (`holders.models.name_token`)
instead of 64 hex characters: the two indexes of the name-token table hold ~12-19 entries per
holder, most of the registry's index volume; 8 bytes per token keeps them a third of the size.

Stored tokens are converted, not recomputed (no key is needed): the first 16 hex characters
read as a signed 64-bit integer, the rule `name_token` applies. PostgreSQL does it in one
`ALTER COLUMN ... TYPE bigint USING` (the indexes are rebuilt with it); SQLite rebuilds the
table, then updates each row with its converted token. Not reversible: the rest of each hash
is gone (`manage.py rotate_encryption_keys --hashes` would recompute them under a reversed
schema).
"""

from django.db import migrations, models

TABLE = "holders_holdernametoken"
# A hex digest's first 64 bits as a signed bigint, in SQL (PostgreSQL).
TOKEN_SQL = "('x' || substr({}, 1, 16))::bit(64)::bigint"


def token(digest: str) -> int:
    """`holders.models.name_token` as of this migration (migrations do not import models)."""
    return int.from_bytes(bytes.fromhex(digest[:16]), "big", signed=True)


def to_bigint(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"ALTER TABLE {TABLE} ALTER COLUMN token_hash TYPE bigint"
            f" USING {TOKEN_SQL.format('token_hash')}"
        )
        return
    model = apps.get_model("holders", "HolderNameToken")
    stored = list(model.objects.values_list("id", "token_hash"))
    new = models.BigIntegerField()
    new.set_attributes_from_name("token_hash")
    schema_editor.alter_field(model, model._meta.get_field("token_hash"), new)
    with schema_editor.connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {TABLE} SET token_hash = %s WHERE id = %s",  # noqa: S608 (constant)
            [(token(digest), pk) for pk, digest in stored],
        )


class Migration(migrations.Migration):
    dependencies = [
        ("holders", "0009_search_indexes"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="holdernametoken",
                    name="token_hash",
                    field=models.BigIntegerField(),
                ),
            ],
            database_operations=[migrations.RunPython(to_bigint, elidable=False)],
        ),
    ]
