"""The name-token and metadata-pair tables keyed by (holder, token) and (holder, pair) instead
of a surrogate `id` (`crm.db.migration_ops.composite_primary_key`): a create writes ~8-20 such
rows, and each row's `id` index entry was written and never read."""

from django.db import migrations

from crm.db.migration_ops import composite_primary_key


class Migration(migrations.Migration):
    dependencies = [
        ("holders", "0010_name_token_bigint"),
    ]

    operations = [
        *composite_primary_key(
            "holders", "holdernametoken", ("holder", "token_hash"), "holder_name_token_unique"
        ),
        *composite_primary_key(
            "holders", "holdermetadatapair", ("holder", "pair_hash"), "holder_metadata_pair_unique"
        ),
    ]
