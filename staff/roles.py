"""The ready-made staff roles (docs/api.md §8, issue 11 item 6), as groups.

Each role adds to the one before it:

* **Clerk** — finds, views, adds and edits holders and alias accounts.
* **Supervisor** — also soft-deletes and restores them, and exports lists to CSV.
* **Data protection officer** — also erases for good (hard delete), reads the audit trail,
  places and lifts legal holds, and exports lists with full documents and account numbers
  (with a reason, recorded on the export's audit entry).

`staff/migrations/0001_roles.py` creates the groups with these permissions (`0002` adds the
legal-hold ones, `0003` the unmasked exports; a migration keeps its own frozen copy, as
migrations must); a test checks that the groups match this module.
`ensure_roles()` puts them back as defined here (a database flushed by a test, or roles an
administrator edited and wants reset).
"""

from django.contrib.auth.models import Group, Permission

CLERK = "Clerk"
SUPERVISOR = "Supervisor"
DATA_PROTECTION_OFFICER = "Data protection officer"

_CLERK = (
    "holders.view_holder",
    "holders.add_holder",
    "holders.change_holder",
    "aliases.view_aliasaccount",
    "aliases.add_aliasaccount",
    "aliases.change_aliasaccount",
)
_SUPERVISOR = (
    *_CLERK,
    "holders.soft_delete_holder",
    "holders.export_holder",
    "aliases.soft_delete_aliasaccount",
    "aliases.export_aliasaccount",
)
_DATA_PROTECTION_OFFICER = (
    *_SUPERVISOR,
    "holders.hard_delete_holder",
    "aliases.hard_delete_aliasaccount",
    "crm.view_auditentry",
    "crm.view_legalhold",
    "crm.add_legalhold",
    "crm.delete_legalhold",
    "holders.export_unmasked_holder",
    "aliases.export_unmasked_aliasaccount",
)

ROLES: dict[str, tuple[str, ...]] = {
    CLERK: _CLERK,
    SUPERVISOR: _SUPERVISOR,
    DATA_PROTECTION_OFFICER: _DATA_PROTECTION_OFFICER,
}


def ensure_roles() -> list[Group]:
    """Create the role groups that are missing and set each group's permissions to its role's
    (idempotent)."""
    groups = []
    for name, codes in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        wanted = [
            Permission.objects.get(
                content_type__app_label=code.split(".")[0], codename=code.split(".")[1]
            )
            for code in codes
        ]
        group.permissions.set(wanted)
        groups.append(group)
    return groups
