from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CrmConfig(AppConfig):
    default = True  # INSTALLED_APPS says "crm"; this module also holds RegistryAppConfig
    name = "crm"
    verbose_name = _("Registry kernel")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from crm import lifecycle
        from crm.access import checks  # registers the access-control system checks
        from crm.api import (
            idempotency,
            openapi,  # noqa: F401  (registers the OpenAPI auth extension)
        )
        from crm.crypto import keycheck
        from crm.db import rows  # noqa: F401  (registers the `any_of` lookup)

        checks.log_mode()

        lifecycle.on_erase(idempotency.erase_records)  # a hard delete erases its replays

        from django.db.models.signals import post_migrate

        from crm.db.statistics import analyze_after_migrate

        # Fresh planner statistics after every migrate (index-backed filters need them).
        post_migrate.connect(analyze_after_migrate, sender=self, dispatch_uid="crm-analyze")
        # The key check survives a flush (the migration that writes it does not run again).
        post_migrate.connect(keycheck.ensure_key_check, sender=self, dispatch_uid="crm-keycheck")


class RegistryAppConfig(AppConfig):
    """Base of a domain app: on start-up it hands its models to the lifecycle core
    (`crm.lifecycle.register`), which is how the kernel knows them without importing them.
    Name the subclass in INSTALLED_APPS ("holders.apps.HoldersConfig"): a module holding two
    AppConfig subclasses is not auto-detected."""

    default_auto_field = "django.db.models.BigAutoField"

    def lifecycle_kinds(self) -> list:
        """The app's `crm.lifecycle.Kind`s, parents first (models imported here: ready())."""
        raise NotImplementedError

    def ready(self) -> None:
        from crm import lifecycle

        for kind in self.lifecycle_kinds():
            lifecycle.register(kind)
