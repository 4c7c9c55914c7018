from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class HoldersConfig(AppConfig):
    name = "holders"
    verbose_name = _("Holders")
    default_auto_field = "django.db.models.BigAutoField"
