"""Create the ready-made staff roles as groups (see `staff.roles`), with the permissions of the
holders, aliases and kernel apps they grant."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

CLERK = (
    "holders.view_holder",
    "holders.add_holder",
    "holders.change_holder",
    "aliases.view_aliasaccount",
    "aliases.add_aliasaccount",
    "aliases.change_aliasaccount",
)
SUPERVISOR = (
    *CLERK,
    "holders.soft_delete_holder",
    "holders.export_holder",
    "aliases.soft_delete_aliasaccount",
    "aliases.export_aliasaccount",
)
DATA_PROTECTION_OFFICER = (
    *SUPERVISOR,
    "holders.hard_delete_holder",
    "aliases.hard_delete_aliasaccount",
    "crm.view_auditentry",
)
ROLES = {
    "Clerk": CLERK,
    "Supervisor": SUPERVISOR,
    "Data protection officer": DATA_PROTECTION_OFFICER,
}


def _permissions(apps):
    """Every permission of the apps involved, created now if `migrate` has not yet (Django
    creates permissions after the whole migration plan)."""
    for label in ("holders", "aliases", "crm"):
        app_config = apps.get_app_config(label)
        # Historical app configs have no models module, which create_permissions requires.
        app_config.models_module = getattr(app_config, "models_module", None) or True
        create_permissions(app_config, apps=apps, verbosity=0)
    Permission = apps.get_model("auth", "Permission")
    return {
        f"{p.content_type.app_label}.{p.codename}": p
        for p in Permission.objects.select_related("content_type").filter(
            content_type__app_label__in=("holders", "aliases", "crm")
        )
    }


def create_roles(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    permissions = _permissions(apps)
    for name, codes in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.set([permissions[code] for code in codes])


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("holders", "0001_initial"),
        ("aliases", "0001_initial"),
        ("crm", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
