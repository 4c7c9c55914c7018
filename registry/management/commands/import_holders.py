"""`python manage.py import_holders --organization ORG FILE`: bulk-load holders and their alias
accounts (onboarding a bank's existing customers). The logic lives in `registry.importing`."""

import json
import os
import sys
import uuid
from pathlib import Path
from textwrap import fill

from django.core.management.base import BaseCommand, CommandError

from crm.db import statistics
from crm.lifecycle.audit import Actor, acting_as, current_actor
from registry import importing

ALIAS_COLUMNS = [*importing.ALIAS_COLUMNS, "aliasMetadata.<key>"]
HELP = f"""\
Import holders (and their alias accounts) into one organization, in batches, with the API's
validation, encryption and search hashes. FILE ('-' for standard input) is JSON Lines: one
`POST /v1/holders` body per line, optionally with "aliases": [<POST .../aliases body>, ...].
Or CSV (--format csv, or a .csv file) with a header row; columns (empty cell = absent):
{fill("holder: " + ", ".join([*importing.HOLDER_COLUMNS, "metadata.<key>"]) + ";", 92)}
{fill("alias (at most one per row): " + ", ".join(ALIAS_COLUMNS) + ".", 92)}
email is contact.primaryEmail, line1..country the primary address, accountType
bankingDetails.type, participantDocument regulatoryFields.participantDocument.

A line is all or nothing. Refused lines are reported with their line number, CRM code and
field names (never values) on standard error, or as JSON Lines in --report FILE. A document
or account id repeated in the file: the later line is refused (CRM-0010 / CRM-0013).
Resumable: a holder whose document already belongs to a live holder of the organization is
skipped (its new aliases are added to it), as is an alias whose account id exists under it;
after a crash, run the same command again. Exit status: 0 when every line was imported or
skipped, 1 when lines were refused (the others were imported), 2 on a bad argument, an
unreadable input or a write that conflicts with a concurrent one (batches written before
stay; run again to resume). Ends with ANALYZE so the planner has statistics.
"""


class Command(BaseCommand):
    help = HELP

    def create_parser(self, prog_name, subcommand, **kwargs):
        from argparse import RawDescriptionHelpFormatter

        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.formatter_class = RawDescriptionHelpFormatter
        return parser

    def add_arguments(self, parser):
        parser.add_argument("file", help="Input file (JSON Lines or CSV); '-' reads stdin.")
        parser.add_argument(
            "--organization", required=True, type=_uuid, help="Organization id (UUID)."
        )
        parser.add_argument(
            "--format",
            choices=importing.FORMATS,
            help="Input format (default: csv for a .csv file, else jsonl).",
        )
        parser.add_argument(
            "--report", help="Write refused lines to this file (JSON Lines) instead of stderr."
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Validate and check only; write nothing."
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=os.cpu_count() or 1,
            help="Worker processes for validation and encryption (default: one per core; "
            "0 runs in this process).",
        )
        parser.add_argument(
            "--batch-size", type=int, default=2000, help="Lines per batch and transaction."
        )
        parser.add_argument("--quiet", action="store_true", help="No progress lines.")

    def handle(
        self,
        *args,
        file,
        organization,
        format,
        report,
        dry_run,
        workers,
        batch_size,
        quiet,
        **options,
    ):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.", returncode=2)
        fmt = format or ("csv" if file.lower().endswith(".csv") else "jsonl")
        try:
            stream = importing.stdin_bytes() if file == "-" else Path(file).open("rb")  # noqa: SIM115
        except OSError as exc:
            raise CommandError(f"cannot read {file}: {exc.strerror}", returncode=2) from None
        report_file = Path(report).open("w", encoding="utf-8") if report else None  # noqa: SIM115
        try:
            counts = self._import(
                stream, organization, fmt, report_file, dry_run, workers, batch_size, quiet
            )
        except importing.InputError as exc:
            raise CommandError(str(exc), returncode=2) from None
        finally:
            if stream is not sys.stdin.buffer:
                stream.close()
            if report_file:
                report_file.close()
        verb = "would create" if dry_run else "created"
        self.stdout.write(
            f"{counts.lines:,} lines: {verb} {counts.holders_created:,} holders and "
            f"{counts.aliases_created:,} aliases; skipped (already present) "
            f"{counts.holders_skipped:,} holders and {counts.aliases_skipped:,} aliases; "
            f"refused {counts.rejected:,} lines."
        )
        if counts.rejected:
            # Name a report only when one was written; otherwise the lines went to stderr.
            where = f"see the report {report}" if report else "listed above on standard error"
            raise CommandError(f"{counts.rejected:,} line(s) refused ({where}).")

    def _import(self, stream, organization, fmt, report_file, dry_run, workers, batch_size, quiet):
        source = importing.CountingLines(stream)
        progress = importing.Progress(self.stderr, importing.input_size(stream))

        def report(rejection: importing.Rejection) -> None:
            if report_file:
                report_file.write(json.dumps(rejection.as_dict()) + "\n")
            else:
                fields = f" ({', '.join(rejection.fields)})" if rejection.fields else ""
                self.stderr.write(
                    f"line {rejection.line}: {rejection.code} {rejection.title}{fields}"
                )

        with acting_as(Actor("command", "import_holders")):
            actor = current_actor()
            importer = importing.Importer(
                organization_id=organization,
                fmt=fmt,
                dry_run=dry_run,
                workers=workers,
                batch_size=batch_size,
                actor=(actor.kind, actor.name),
                report=report,
                progress=(lambda counts: None) if quiet else progress,
            )
            counts = importer.run(source)
            if not quiet:
                progress(counts, final=True)
            if not dry_run and counts.holders_created + counts.aliases_created:
                statistics.refresh_statistics()  # fresh planner statistics
        return counts


def _uuid(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        from argparse import ArgumentTypeError

        raise ArgumentTypeError("not a UUID") from None
