from django.apps import AppConfig


class AliasesConfig(AppConfig):
    name = "aliases"
    verbose_name = "Alias accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from aliases.models import AliasAccount, RelatedParty
        from crm import lifecycle

        lifecycle.register(
            lifecycle.Kind(
                name="alias",
                plural="aliases",
                label="Alias account",
                model=AliasAccount,
                parent="holder",
                parent_fk="holder_id",
                details=("account_id", "ledger_id"),
                parts=(
                    lifecycle.Part(
                        RelatedParty, fk="alias_id", label="Related party", columns=("role",)
                    ),
                ),
            )
        )
