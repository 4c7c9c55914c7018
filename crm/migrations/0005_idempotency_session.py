"""The database session that reserved an idempotency key (`crm.db.sessions`): a retry takes the
key over at once when that session is gone (a failover, a crashed server or worker), instead of
after the in-progress timeout. Existing rows get "" (unknown: the timeout still applies)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0004_versions"),
    ]

    operations = [
        migrations.AddField(
            model_name="idempotencyrecord",
            name="session",
            field=models.CharField(blank=True, default="", max_length=64),
        ),
    ]
