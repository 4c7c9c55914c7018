from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CrmConfig(AppConfig):
    """The kernel. On start-up: the access-control checks and mode line, the `any_of` lookup,
    the OpenAPI auth extension, and two `post_migrate` steps (planner statistics of the registry
    tables, the key check row)."""

    name = "crm"
    verbose_name = _("Registry kernel")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from crm.access import checks  # registers the access-control system checks
        from crm.api import openapi  # noqa: F401  (registers the OpenAPI auth extension)
        from crm.crypto import keycheck
        from crm.db import rows  # noqa: F401  (registers the `any_of` lookup)
        from crm.db.statistics import analyze_after_migrate

        checks.log_mode()
        # Fresh planner statistics after every migrate (index-backed filters need them).
        post_migrate.connect(analyze_after_migrate, sender=self, dispatch_uid="crm-analyze")
        # The key check survives a flush (the migration that writes it does not run again).
        post_migrate.connect(keycheck.ensure_key_check, sender=self, dispatch_uid="crm-keycheck")
