"""`manage.py hard_delete`: erase holders, aliases, expired soft-deleted data or a whole
organization for good. Parses arguments and prints; the work is the lifecycle core's
(`crm.lifecycle`: the same plan and erasure as the API and the admin)."""

import argparse
import datetime as dt
import re
import uuid

from django.core.management.base import CommandError
from django.utils import timezone

from crm import lifecycle
from crm.lifecycle.audit import Actor, acting_as, giving_reason
from crm.management.base import DocumentedCommand, HelpFormatter, positive_int
from events import outbox

DESCRIPTION = """\
Erase customer data for good (right to erasure, retention purges). Soft-deleted and live
records alike; nothing can be restored afterwards. Every erased record keeps exactly one audit
entry saying that it was erased (who, when, which id) and nothing else.

Dry run by default: prints a table of what would be erased (ids and counts, never personal
data). Add --yes to erase.
"""

EPILOG = """\
what to erase:
  holders ID [ID ...]      holders by id, each with all its alias accounts (live or deleted)
  aliases ID [ID ...]      alias accounts by id (their holders stay)
  purge --before DATE      everything soft-deleted before DATE (retention purge)
  purge --older-than 30d   everything soft-deleted more than 30 days ago
  organization ORG_ID      every holder and alias of one organization

transactions:
  holders / aliases        one transaction: all of the ids are erased, or none. Every id is
                           checked first; an unknown id is an error and nothing is erased.
  purge / organization     batches of --batch-size holders, one transaction per batch: each
                           holder is erased together with its aliases, so a batch never leaves
                           a half-erased customer. Progress is printed per batch. If it stops
                           half way, run it again: it continues with what is left.

examples:
  manage.py hard_delete holders 0196a3f4-1c2b-7cde-8f00-000000000001
  manage.py hard_delete holders 0196a3f4-... 0196a3f4-... --organization 0196a3f4-... --yes \
      --reason "LGPD Art. 18 VI: erasure requested by the customer, ticket 4711"
  manage.py hard_delete aliases 0196a3f4-... --yes --reason "duplicate account, ticket 4712"
  manage.py hard_delete purge --older-than 30d
  manage.py hard_delete purge --before 2025-01-01 --organization 0196a3f4-... --yes
  manage.py hard_delete organization 0196a3f4-... --yes --batch-size 5000 --reason "contract ended"

Run "manage.py hard_delete <selector> --help" for the options of each selector.
Exit status: 0 on success (also when there is nothing left to erase); non-zero with a message
on any bad argument (2 from the command line) or error such as an unknown id (1).
"""


def uuid_argument(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a UUID: {value!r}") from None


def cutoff_date(value: str) -> dt.datetime:
    """`YYYY-MM-DD` (midnight UTC) or an ISO 8601 date-time (UTC when no offset)."""
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            moment = dt.datetime.combine(dt.date.fromisoformat(value), dt.time())
        else:
            moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a date: {value!r} (expected YYYY-MM-DD or an ISO 8601 date-time)"
        ) from None
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=dt.UTC)
    if moment > timezone.now():
        raise argparse.ArgumentTypeError(f"{value!r} is in the future")
    return moment


def age(value: str) -> dt.timedelta:
    """`30d` (days)."""
    match = re.fullmatch(r"(\d+)d", value.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"not an age: {value!r} (expected days, e.g. 30d)")
    return dt.timedelta(days=int(match.group(1)))


class Command(DocumentedCommand):
    epilog = EPILOG
    help = DESCRIPTION
    missing_args_message = (
        "no selector given: say what to erase (holders ID..., aliases ID..., "
        "purge --before DATE | --older-than Nd, organization ORG_ID). See --help."
    )

    def add_arguments(self, parser) -> None:
        common = argparse.ArgumentParser(add_help=False)
        common.add_argument(
            "--yes",
            action="store_true",
            help="Erase for real. Without it nothing is changed (dry run).",
        )
        common.add_argument(
            "--reason",
            default="",
            metavar="TEXT",
            help="Why (legal basis), kept on the audit entries of the erasure (a purge "
            "records its selection when none is given).",
        )
        scoped = argparse.ArgumentParser(add_help=False)
        scoped.add_argument(
            "--organization",
            type=uuid_argument,
            metavar="ORG_ID",
            help="Only records of this organization.",
        )
        batched = argparse.ArgumentParser(add_help=False)
        batched.add_argument(
            "--batch-size",
            type=positive_int,
            default=1000,
            metavar="N",
            help="Holders (or aliases) erased per transaction (default: 1000).",
        )
        selectors = parser.add_subparsers(
            dest="selector",
            title="selectors",
            metavar="{holders,aliases,purge,organization}",
            required=True,
        )
        options = {"formatter_class": HelpFormatter}

        holders = selectors.add_parser(
            "holders",
            parents=[common, scoped],
            **options,
            help="Holders by id, each with all its alias accounts.",
            description="Erase holders (live or soft-deleted) with all their alias accounts\n"
            "(live or soft-deleted), in one transaction: all of them or none. With\n"
            "--organization, an id of another organization counts as unknown.",
        )
        holders.add_argument(
            "ids", nargs="+", type=uuid_argument, metavar="HOLDER_ID", help="Holder ids (UUIDs)."
        )

        aliases = selectors.add_parser(
            "aliases",
            parents=[common, scoped],
            **options,
            help="Alias accounts by id.",
            description="Erase alias accounts (live or soft-deleted) with their related\n"
            "parties, in one transaction: all of them or none. Their holders stay.",
        )
        aliases.add_argument(
            "ids", nargs="+", type=uuid_argument, metavar="ALIAS_ID", help="Alias ids (UUIDs)."
        )

        purge = selectors.add_parser(
            "purge",
            parents=[common, scoped, batched],
            **options,
            help="Everything soft-deleted before a date (retention purge).",
            description="Erase every holder soft-deleted before a cut-off (with all its\n"
            "aliases) and every alias soft-deleted before it, in batches of --batch-size\n"
            "holders, one transaction per batch. Safe to run again.",
        )
        when = purge.add_mutually_exclusive_group(required=True)
        when.add_argument(
            "--before",
            type=cutoff_date,
            metavar="DATE",
            help="Cut-off: YYYY-MM-DD (midnight UTC) or an ISO 8601 date-time.",
        )
        when.add_argument(
            "--older-than",
            type=age,
            metavar="AGE",
            help="Cut-off as an age in days, e.g. 30d.",
        )

        organization = selectors.add_parser(
            "organization",
            parents=[common, batched],
            **options,
            help="Every holder and alias of one organization.",
            description="Erase every holder and alias account (live or soft-deleted) of one\n"
            "organization, in batches of --batch-size holders (each with its aliases), one\n"
            "transaction per batch. Safe to run again.",
        )
        organization.add_argument(
            "organization", type=uuid_argument, metavar="ORG_ID", help="Organization id (UUID)."
        )

    def handle(self, *args, **options) -> None:
        self.verbosity = options["verbosity"]
        selector = options["selector"]
        reason = options["reason"].strip()
        if options["yes"] and not reason and selector != "purge":
            # docs/api.md §9 lets operators erase with --yes alone (scripts rely on it): the
            # erasure goes ahead, and the missing legal basis is said out loud.
            self.stderr.write(
                self.style.WARNING(
                    "No --reason given: the audit record will not say why. Give one, e.g. "
                    '--reason "LGPD Art. 18 VI, ticket 4711".'
                )
            )
        with acting_as(Actor("command", "hard_delete")), giving_reason(reason):
            try:
                if selector in ("holders", "aliases"):
                    self._by_id(lifecycle.kind_by_plural(selector), options)
                else:
                    self._purge(selector, options)
            except lifecycle.ErasureError as exc:
                raise CommandError(str(exc)) from exc

    # --- selections by id ---

    def _by_id(self, kind: lifecycle.Kind, options: dict) -> None:
        plan = lifecycle.plan_erasure(
            kind.name, options["ids"], organization_id=options.get("organization")
        )
        self._plan_table(plan)
        if not options["yes"]:
            self._dry_run_footer(plan.counts())
            return
        erased = lifecycle.erase(plan, announce=outbox.erasure_events)
        self.stdout.write(self.style.SUCCESS(f"Erased {self._totals(erased)} in one transaction."))

    def _plan_table(self, plan: lifecycle.ErasurePlan) -> None:
        """One line per record of a registered kind (ids and states only), with its parent and,
        for a kind that has child kinds, how many child records go with it."""
        counts = plan.counts()
        records = [record for record in plan.records if record.kind in counts]
        rows = [("KIND", "ID", "ORGANIZATION", "STATE", "HOLDER", "ALIASES")]
        for record in records:
            has_children = bool(lifecycle.children(lifecycle.kind(record.kind)))
            child_count = sum(1 for other in records if other.parent_id == record.id)
            rows.append(
                (
                    record.kind,
                    str(record.id),
                    str(record.organization_id),
                    record.state,
                    str(record.parent_id) if record.parent_id else "-",
                    str(child_count) if has_children else "-",
                )
            )
        self._table(rows)
        self.stdout.write(f"Total: {self._totals(counts, joiner=', ')}.")

    # --- purges ---

    def _purge(self, selector: str, options: dict) -> None:
        if selector == "organization":
            purge = lifecycle.organization_purge(options["organization"])
        else:
            cutoff = options["before"] or timezone.now() - options["older_than"]
            purge = lifecycle.retention_purge(cutoff, organization_id=options.get("organization"))
        self.stdout.write(f"Selection: {purge.description}.")
        kinds = lifecycle.kinds()
        counts = lifecycle.count_purge(purge)
        rows = [("ORGANIZATION", *(kind.plural.upper() for kind in kinds))]
        rows += [
            (str(c.organization_id), *(str(c.counts.get(kind.name, 0)) for kind in kinds))
            for c in counts
        ]
        totals = {kind.name: sum(c.counts.get(kind.name, 0) for c in counts) for kind in kinds}
        rows.append(("TOTAL", *(str(totals[kind.name]) for kind in kinds)))
        self._table(rows)
        held = {kind.name: purge.held(kind).count() for kind in kinds}
        if any(held.values()):
            self.stdout.write(
                self.style.WARNING(
                    f"Kept: {self._totals(held)} under a legal hold (selected, not counted above, "
                    "never erased while held)."
                )
            )
        if not any(totals.values()):
            self.stdout.write("Nothing to erase.")
            return
        if not options["yes"]:
            self._dry_run_footer(totals)
            return
        with giving_reason(options["reason"].strip() or f"Retention purge: {purge.description}"):
            result = lifecycle.run_purge(
                purge,
                batch_size=options["batch_size"],
                progress=self._progress,
                announce=outbox.erasure_events,
            )
        self.stdout.write(
            self.style.SUCCESS(f"Erased {self._totals(result.erased)} in {result.batch} batch(es).")
        )

    def _progress(self, state: lifecycle.PurgeProgress) -> None:
        if self.verbosity >= 1:
            done = ", ".join(
                f"{state.erased[kind.name]}/{state.totals[kind.name]} {kind.plural}"
                for kind in lifecycle.kinds()
            )
            self.stdout.write(
                f"  batch {state.batch} ({lifecycle.kind(state.phase).plural}): {done} erased"
            )

    # --- output helpers ---

    def _totals(self, counts: dict[str, int], joiner: str = " and ") -> str:
        """`1 holder(s) and 2 alias account(s)`: every registered kind, named."""
        return joiner.join(
            f"{counts.get(kind.name, 0)} {kind.label.lower()}(s)" for kind in lifecycle.kinds()
        )

    def _dry_run_footer(self, counts: dict[str, int]) -> None:
        self.stdout.write(
            self.style.WARNING(
                f"Dry run: nothing was erased. Re-run with --yes to erase {self._totals(counts)}."
            )
        )

    def _table(self, rows: list[tuple[str, ...]]) -> None:
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        for row in rows:
            self.stdout.write(
                "  ".join(
                    cell.ljust(width) for cell, width in zip(row, widths, strict=True)
                ).rstrip()
            )
