from django.utils.translation import gettext_lazy as _

from crm.apps import RegistryAppConfig


class HoldersConfig(RegistryAppConfig):
    name = "holders"
    verbose_name = _("Holders")

    def lifecycle_kinds(self) -> list:
        from crm.lifecycle import Kind, Part
        from holders.models import Holder, HolderMetadataPair, HolderNameToken

        name_index = Part(HolderNameToken, fk="holder_id")
        metadata_index = Part(HolderMetadataPair, fk="holder_id")
        return [
            Kind(
                "holder",
                "holders",
                "Holder",
                Holder,
                details=("type",),
                parts=(name_index, metadata_index),
            )
        ]
