"""`manage.py export_subject`: a data subject's copy (LGPD art. 18), as one JSON document."""

import argparse
import json

from django.core.management.base import CommandError
from django.db import transaction

from crm.ids import parse_uuid
from crm.lifecycle.audit import Actor, acting_as
from crm.management.base import DocumentedCommand
from registry.subject import NoSuchSubject, record_copy, subject_copy

EPILOG = """\
Writes everything the registry holds about one person in one organization, found by their
document (any formatting): their holder records, the alias accounts of those holders, the
related-party entries naming them on any alias, every version of those records and the audit
trail about them (registry/subject.py). Other people's data on the same accounts (their
related parties) is left out. The copy is audited with --reason (required) and counts, never
the document.

Examples:
  manage.py export_subject --organization 0196a3f4-... --document 529.982.247-25 \\
      --reason "LGPD art. 18 II, request 2026/77" --output subject.json
  manage.py export_subject --organization ORG --document 52998224725 --reason "..."   # stdout

Exit status: 0 with the copy written; 1 when nothing is held about that document (nothing is
written or audited); 2 on a bad argument.
"""


def organization_id(value: str):
    parsed = parse_uuid(value)
    if parsed is None:
        raise argparse.ArgumentTypeError(f"not a UUID: {value!r}")
    return parsed


class Command(DocumentedCommand):
    epilog = EPILOG
    help = "Write a data subject's copy: everything held about one person (JSON)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--organization", required=True, type=organization_id, metavar="ORG_ID")
        parser.add_argument(
            "--document", required=True, help="The person's CPF/CNPJ, any formatting."
        )
        parser.add_argument(
            "--reason",
            required=True,
            help="Why (the request and its legal basis); kept on the audit entry.",
        )
        parser.add_argument(
            "--output", metavar="FILE", help="Write the JSON here (default: standard output)."
        )

    def handle(self, *args, **options) -> None:
        reason = options["reason"].strip()
        if not reason:
            raise CommandError("--reason must say why (e.g. the request number and legal basis).")
        try:
            copy = subject_copy(
                organization_id=options["organization"], document=options["document"]
            )
        except NoSuchSubject:
            raise CommandError(
                "Nothing is held about that document in that organization; nothing was written."
            ) from None
        text = json.dumps(copy, ensure_ascii=False, indent=2, sort_keys=False) + "\n"
        # Audited and written together: a copy that could not be written is not recorded.
        with acting_as(Actor("command", "export_subject")), transaction.atomic():
            record_copy(copy, reason=reason)
            if options["output"]:
                with open(options["output"], "w", encoding="utf-8") as out:
                    out.write(text)
            else:
                self.stdout.write(text, ending="")
        counts = ", ".join(
            f"{len(copy[key])} {key}"
            for key in (
                "holders",
                "aliasAccounts",
                "relatedPartyEntries",
                "versions",
                "auditEntries",
            )
        )
        self.stderr.write(f"Subject copy written ({counts}); audited.")
