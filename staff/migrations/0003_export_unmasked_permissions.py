"""The data-protection officer may also export lists with full documents and account numbers
(`export_unmasked_<model>`: with a reason, recorded on the export's audit entry)."""

import importlib

from django.db import migrations

# The first migration's permission lookup (creates permissions `migrate` has not made yet).
_permissions = importlib.import_module("staff.migrations.0001_roles")._permissions

UNMASKED = ("holders.export_unmasked_holder", "aliases.export_unmasked_aliasaccount")
DATA_PROTECTION_OFFICER = "Data protection officer"


def grant(apps, schema_editor):
    permissions = _permissions(apps)
    Group = apps.get_model("auth", "Group")
    for group in Group.objects.filter(name=DATA_PROTECTION_OFFICER):
        group.permissions.add(*(permissions[code] for code in UNMASKED))


def revoke(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    for group in Group.objects.filter(name=DATA_PROTECTION_OFFICER):
        for code in UNMASKED:
            app_label, codename = code.split(".")
            group.permissions.remove(
                *Permission.objects.filter(content_type__app_label=app_label, codename=codename)
            )


class Migration(migrations.Migration):
    dependencies = [
        ("staff", "0002_legal_hold_permissions"),
        ("holders", "0002_export_unmasked_permission"),
        ("aliases", "0002_export_unmasked_permission"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
