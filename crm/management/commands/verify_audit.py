"""`manage.py verify_audit`: check that no audit entry was modified, removed or reordered."""

import sys
import time

from django.utils import timezone

from crm.lifecycle import chain
from crm.management.base import DocumentedCommand, positive_int

EPILOG = """\
Seals the entries written since the last seal (see `seal_audit`), then walks the whole chain
in order, recomputing each entry's keyed hash from its content and the previous entry's hash
(crm/lifecycle/chain.py). It stops at the first entry that does not match and names it by id
and position. It also checks that the chain still reaches the end the previous successful run
saw (entries removed from the end). The result is kept and shown on the admin dashboard.

Entries an erasure cleared (their record was hard-deleted) keep their hashes and verify.
Entries sealed under a hash key that is no longer configured cannot be checked: keep retired
hash keys in LCRYPTO_PREVIOUS_HASH_SECRET_KEYS (or AUDIT_CHAIN_RETIRED_KEYS) for this command.

Examples:
  manage.py verify_audit
  manage.py verify_audit --batch-size 20000

Exit status: 0 when the chain verifies, 1 when it does not (the problem is printed).
"""


class Command(DocumentedCommand):
    epilog = EPILOG
    help = "Verify the audit trail's hash chain (tamper evidence)."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--batch-size",
            type=positive_int,
            default=chain.BATCH_SIZE,
            metavar="N",
            help=f"Entries read per query (default: {chain.BATCH_SIZE}).",
        )

    def handle(self, *args, **options) -> None:
        batch_size = options["batch_size"]
        started_at, began = timezone.now(), time.monotonic()
        sealed = chain.seal(batch_size=batch_size)
        if sealed:
            self.stdout.write(f"Sealed {sealed} new entries.")
        total, _ = chain.head()
        self.stdout.write(f"Verifying {total} entries …")

        def progress(result: chain.Verification) -> None:
            rate = result.entries / max(time.monotonic() - began, 1e-6)
            self.stdout.write(f"  {result.entries}/{total} verified ({rate:,.0f}/s)")

        result = chain.verify(batch_size=batch_size, progress=progress)
        chain.record_verification(result, started_at)
        seconds = time.monotonic() - began
        if result.ok:
            self.stdout.write(
                self.style.SUCCESS(
                    f"The audit trail verifies: {result.entries} entries, "
                    f"head at position {result.head_seq} ({seconds:.1f} s)."
                )
            )
            return
        self.stderr.write(
            self.style.ERROR(
                f"The audit trail does NOT verify: {result.problem}. "
                f"{result.entries} entries before it verified."
            )
        )
        sys.exit(1)
