from django.apps import AppConfig


class CrmConfig(AppConfig):
    name = "crm"
    verbose_name = "Registry kernel"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from crm import openapi  # noqa: F401  (registers the OpenAPI auth extension)
