"""The `ETag` an idempotent write answered, so that its replay carries the same header as the
first answer (docs/api.md §6, §12). Existing rows get "" (replayed without an `ETag`)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0005_idempotency_session"),
    ]

    operations = [
        migrations.AddField(
            model_name="idempotencyrecord",
            name="etag",
            field=models.CharField(blank=True, default="", max_length=16),
        ),
    ]
