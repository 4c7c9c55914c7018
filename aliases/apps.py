from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AliasesConfig(AppConfig):
    name = "aliases"
    verbose_name = _("Alias accounts")
    default_auto_field = "django.db.models.BigAutoField"
