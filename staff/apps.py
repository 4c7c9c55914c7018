from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class StaffConfig(AppConfig):
    """Back-office staff: ready-made roles (groups created by a data migration) and the
    permission picker of the user and group pages, which offers only permissions the admin
    honours."""

    name = "staff"
    verbose_name = _("Staff")
    default_auto_field = "django.db.models.BigAutoField"
