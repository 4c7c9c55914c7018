"""The metadata-pair table keyed by (alias, pair) instead of a surrogate `id`
(`crm.db.migration_ops.composite_primary_key`, as holders' 0011)."""

from django.db import migrations

from crm.db.migration_ops import composite_primary_key


class Migration(migrations.Migration):
    dependencies = [
        ("aliases", "0006_staff_permissions"),
    ]

    operations = composite_primary_key(
        "aliases", "aliasmetadatapair", ("alias", "pair_hash"), "alias_metadata_pair_unique"
    )
