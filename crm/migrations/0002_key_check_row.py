"""The key check row (`crm.crypto.keycheck`): a known plaintext encrypted with the encryption
key and a search hash of a known value, under the keys configured when the database is created,
which are the keys its data will be written with. (`crm.crypto.keycheck.ensure_key_check` writes
it again after `migrate` if the table was emptied, e.g. by `manage.py flush`.)"""

from django.db import migrations


def write_key_check(apps, schema_editor):
    from crm.crypto.keycheck import PLAINTEXT, check_hash

    KeyCheck = apps.get_model("crm", "KeyCheck")
    KeyCheck.objects.using(schema_editor.connection.alias).update_or_create(
        pk=1, defaults={"value": PLAINTEXT, "hash": check_hash()}
    )


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(write_key_check, migrations.RunPython.noop),
    ]
