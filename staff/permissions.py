"""The permissions the user and group pages offer: only those the admin honours.

Django lists every permission of every model: content types, sessions, admin log entries,
idempotency records, the key check, name-index rows, and "Can delete holder" although the
admin refuses Django's delete (erasure has its own permission). Granting any of them does
nothing, or nothing a person should do, so the picker offers the permissions of the models
registered in the admin site, minus add/change/delete where that model's admin refuses them
whatever the user's rights (asked with a user who has every permission).
"""

from django.apps import apps
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db.models import Q, QuerySet

STOCK_ACTIONS = ("add", "change", "delete")


class _EveryPermission:
    """A stand-in user that has every permission: what remains refused is refused by the
    admin itself."""

    is_active = is_staff = is_superuser = is_authenticated = True

    def has_perm(self, perm, obj=None) -> bool:
        return True

    def has_perms(self, perms, obj=None) -> bool:
        return True

    def has_module_perms(self, app_label) -> bool:
        return True


class _Request:
    user = _EveryPermission()
    method = "GET"
    GET: dict = {}
    POST: dict = {}


def _refused(model_admin) -> list[str]:
    request = _Request()
    checks = {
        "add": lambda: model_admin.has_add_permission(request),
        "change": lambda: model_admin.has_change_permission(request),
        "delete": lambda: model_admin.has_delete_permission(request),
    }
    return [action for action, allowed in checks.items() if not allowed()]


def offered_permissions(site) -> QuerySet[Permission]:
    """Permissions of the models registered in `site` that its admins honour."""
    condition = Q(pk__in=[])
    for model in apps.get_models():
        if not site.is_registered(model):
            continue
        model_admin = site.get_model_admin(model)
        content_type = ContentType.objects.get_for_model(model, for_concrete_model=False)
        refused = [f"{action}_{model._meta.model_name}" for action in _refused(model_admin)]
        condition |= Q(content_type=content_type) & ~Q(codename__in=refused)
    return Permission.objects.filter(condition).select_related("content_type")
