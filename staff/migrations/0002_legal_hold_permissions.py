"""The data-protection officer also places and lifts legal holds (`crm.LegalHold`)."""

import importlib

from django.db import migrations

# The first migration's permission lookup (creates permissions `migrate` has not made yet).
_permissions = importlib.import_module("staff.migrations.0001_roles")._permissions

HOLDS = ("crm.view_legalhold", "crm.add_legalhold", "crm.delete_legalhold")
DATA_PROTECTION_OFFICER = "Data protection officer"


def grant(apps, schema_editor):
    permissions = _permissions(apps)
    Group = apps.get_model("auth", "Group")
    for group in Group.objects.filter(name=DATA_PROTECTION_OFFICER):
        group.permissions.add(*(permissions[code] for code in HOLDS))


def revoke(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    codenames = [code.split(".")[1] for code in HOLDS]
    for group in Group.objects.filter(name=DATA_PROTECTION_OFFICER):
        group.permissions.remove(
            *Permission.objects.filter(content_type__app_label="crm", codename__in=codenames)
        )


class Migration(migrations.Migration):
    dependencies = [("staff", "0001_roles"), ("crm", "0003_audit_chain_and_legal_holds")]

    operations = [migrations.RunPython(grant, revoke)]
