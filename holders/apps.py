from django.apps import AppConfig


class HoldersConfig(AppConfig):
    name = "holders"
    verbose_name = "Holders"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from crm import lifecycle
        from holders.models import Holder, HolderNameToken

        lifecycle.register(
            lifecycle.Kind(
                name="holder",
                plural="holders",
                label="Holder",
                model=Holder,
                details=("type",),
                parts=(lifecycle.Part(HolderNameToken, fk="holder_id"),),
            )
        )
