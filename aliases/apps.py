from django.utils.translation import gettext_lazy as _

from crm.apps import RegistryAppConfig


class AliasesConfig(RegistryAppConfig):
    name = "aliases"
    verbose_name = _("Alias accounts")

    def lifecycle_kinds(self) -> list:
        from aliases.models import AliasAccount, AliasMetadataPair, RelatedParty
        from crm.lifecycle import Kind, Part

        parties = Part(RelatedParty, fk="alias_id", label="Related party", columns=("role",))
        return [
            Kind(
                "alias",
                "aliases",
                "Alias account",
                AliasAccount,
                parent="holder",
                parent_fk="holder_id",
                details=("account_id", "ledger_id"),
                parts=(parties, Part(AliasMetadataPair, fk="alias_id")),
            )
        ]
