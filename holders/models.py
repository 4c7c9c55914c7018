"""Holder: the natural or legal person behind ledger accounts, keyed by a tax document.

Storage choices (CONTRACT §4, §7):
* `name`, `document` and the whole `contact` object are personal data: encrypted columns.
* `addresses` is plaintext (ref §9.1) and stored as one JSON column in the wire shape.
* `naturalPerson` and `legalPerson` mix plaintext and personal fields, so each is two columns:
  the plaintext JSON, and an encrypted JSON with only `motherName`/`fatherName`, resp.
  `representative.name/document/email` (see `crm.nested`). Nested objects are JSON rather
  than tables because they are always read and written whole with their holder, never queried.
* `document_hash` is the document's search hash: the only way to look a document up, and the
  column of the "one live holder per document per organization" constraint.
"""

from django.db import models
from django.db.models import Q

from crm.encryption import EncryptedJSONField, EncryptedTextField
from crm.models import RegistryModel
from crm.nested import Path

NATURAL_PERSON_PRIVATE: list[Path] = [("motherName",), ("fatherName",)]
LEGAL_PERSON_PRIVATE: list[Path] = [
    ("representative", "name"),
    ("representative", "document"),
    ("representative", "email"),
]


class HolderType(models.TextChoices):
    NATURAL_PERSON = "NATURAL_PERSON", "Natural person"
    LEGAL_PERSON = "LEGAL_PERSON", "Legal person"


class Holder(RegistryModel):
    """A person or company of one organization. Soft-deleted holders keep their row (and may be
    restored) until hard-deleted; the document becomes reusable as soon as the holder is
    soft-deleted."""

    external_id = models.CharField(max_length=256, null=True, blank=True)
    type = models.CharField(max_length=16, choices=HolderType.choices)
    name = EncryptedTextField()
    document = EncryptedTextField()
    document_hash = models.CharField(max_length=64)
    addresses = models.JSONField(null=True, blank=True)
    contact = EncryptedJSONField(null=True, blank=True)
    natural_person = models.JSONField(null=True, blank=True)
    natural_person_private = EncryptedJSONField(null=True, blank=True)
    legal_person = models.JSONField(null=True, blank=True)
    legal_person_private = EncryptedJSONField(null=True, blank=True)
    metadata = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization_id", "document_hash"],
                condition=Q(deleted_at__isnull=True),
                name="holder_document_unique_live",
                violation_error_message="A live holder with this document already exists.",
            ),
        ]
        indexes = [
            models.Index(
                fields=["organization_id", "id"],
                condition=Q(deleted_at__isnull=True),
                name="holder_org_live_idx",
            ),
            models.Index(fields=["organization_id", "id"], name="holder_org_all_idx"),
            models.Index(fields=["organization_id", "document_hash"], name="holder_document_idx"),
            models.Index(fields=["organization_id", "external_id"], name="holder_external_id_idx"),
        ]
        permissions = [("hard_delete_holder", "Can erase a holder for good (hard delete)")]

    def __str__(self) -> str:
        # Never personal data: admin log messages and audit views print this.
        return f"Holder {self.id}"

    def recompute_search_hashes(self) -> list[str]:
        """Recompute every search hash with the current hash key (key rotation); returns the
        names of the hash columns that changed."""
        from crm.search import search_hash

        new = search_hash(self.organization_id, "holder.document", self.document)
        if new == self.document_hash:
            return []
        self.document_hash = new
        return ["document_hash"]
