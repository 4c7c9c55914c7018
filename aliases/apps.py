from django.apps import AppConfig


class AliasesConfig(AppConfig):
    name = "aliases"
    verbose_name = "Alias accounts"
    default_auto_field = "django.db.models.BigAutoField"
