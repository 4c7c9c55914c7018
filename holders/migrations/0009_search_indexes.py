"""Name-token indexes for the bounded admin search (`crm.admin.searching`).

* The token index covers the holder id, in holder order within a token: the search reads the
  newest holders of a word from the index alone and stops after a bounded number, instead of
  joining every holder with that word back to the holders. It is built before the old one goes,
  so searches stay index-backed throughout.
* The foreign key's own index on `holder_id` goes: the unique (holder, token_hash) index serves
  every lookup by holder (erasure, renames), and the extra index cost every holder ~16 index
  entries on write (and offered the planner a walk of all tokens in holder order).
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("holders", "0008_contact_hashes_name_prefixes"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="holdernametoken",
            index=models.Index(
                fields=["organization_id", "token_hash", "holder"],
                name="holder_name_token_holder_idx",
            ),
        ),
        migrations.RemoveIndex(
            model_name="holdernametoken",
            name="holder_name_token_idx",
        ),
        migrations.AlterField(
            model_name="holdernametoken",
            name="holder",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="name_tokens",
                to="holders.holder",
            ),
        ),
    ]
