"""Create the ready-made staff roles as groups (see `staff.roles`), and keep what staff could
do before soft delete had its own permission: whoever could change a holder or an alias (a
user or a group) may now also soft-delete and restore it."""

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
# change permission -> the soft-delete permission granted alongside it.
SOFT_DELETE_OF_CHANGE = {
    "holders.change_holder": "holders.soft_delete_holder",
    "aliases.change_aliasaccount": "aliases.soft_delete_aliasaccount",
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
    User = apps.get_model("auth", "User")
    permissions = _permissions(apps)
    # First the existing users and groups (before the Clerk group, which may not soft-delete).
    for change, soft_delete in SOFT_DELETE_OF_CHANGE.items():
        for group in Group.objects.filter(permissions=permissions[change]):
            group.permissions.add(permissions[soft_delete])
        for user in User.objects.filter(user_permissions=permissions[change]):
            user.user_permissions.add(permissions[soft_delete])
    for name, codes in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.set([permissions[code] for code in codes])


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("holders", "0007_staff_permissions"),
        ("aliases", "0006_staff_permissions"),
        ("crm", "0005_audit_export_details"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
