"""`manage.py rotate_encryption_keys`: move every stored value to the current keys."""

from django.core.management.base import CommandError

from crm.crypto import rotation
from crm.lifecycle.audit import Actor, acting_as
from crm.management.base import DocumentedCommand, positive_int

EPILOG = """\
How a rotation goes:
  1. Generate a new key and deploy with
       LCRYPTO_ENCRYPT_SECRET_KEY=<new>
       LCRYPTO_PREVIOUS_ENCRYPT_SECRET_KEYS=<old>[,<older>...]
     (and/or LCRYPTO_HASH_SECRET_KEY / LCRYPTO_PREVIOUS_HASH_SECRET_KEYS). The service reads
     values written under any listed key and writes with the new one; searches try every
     hash key.
  2. Run this command. It walks each table in primary-key batches (one transaction per batch),
     skipping rows already under the current key, so it can be interrupted and re-run.
  3. When it reports nothing left to rotate, remove the old keys from the environment.

Examples:
  manage.py rotate_encryption_keys --dry-run      # count rows not yet under the current keys
  manage.py rotate_encryption_keys                # re-encrypt values and recompute hashes
  manage.py rotate_encryption_keys --hashes --batch-size 5000

Exit status is non-zero when a row could not be rotated (no configured key decrypts it, or
its new search hash collides with another live row); those rows are listed by id and every
other row is rotated.
"""


class Command(DocumentedCommand):
    epilog = EPILOG
    help = (
        "Re-encrypt every encrypted column with LCRYPTO_ENCRYPT_SECRET_KEY and recompute\n"
        "every search hash with LCRYPTO_HASH_SECRET_KEY, so the previous keys can be dropped."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--encryption",
            action="store_true",
            help="Re-encrypt encrypted columns (default: both encryption and hashes).",
        )
        parser.add_argument(
            "--hashes",
            action="store_true",
            help="Recompute search hashes (default: both encryption and hashes).",
        )
        parser.add_argument(
            "--batch-size",
            type=positive_int,
            default=500,
            metavar="N",
            help="Rows per batch; each batch is one transaction (default: 500).",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Only count the rows that are not under the current key; change nothing.",
        )

    def handle(self, *args, **options) -> None:
        both = not options["encryption"] and not options["hashes"]
        dry_run = options["dry_run"]
        batch_size = options["batch_size"]
        self.verbosity = options["verbosity"]
        passes = []
        if both or options["encryption"]:
            passes += [(rotation.rotate_encryption, m) for m in rotation.encryption_models()]
        if both or options["hashes"]:
            passes += [(rotation.rotate_hashes, m) for m in rotation.hash_models()]

        results = []
        with acting_as(Actor("command", "rotate_encryption_keys")):
            for rotate, model in passes:
                result = rotate(
                    model, batch_size=batch_size, dry_run=dry_run, progress=self._progress
                )
                if not dry_run:
                    rotation.record_rotation(result)
                results.append(result)
                self._summary(result, dry_run)

        failed = [r for r in results if r.failed]
        stale = sum(r.stale for r in results)
        if failed:
            lines = []
            for r in failed:
                if r.undecryptable:
                    lines.append(
                        f"  {r.label} ({r.kind}): {len(r.undecryptable)} row(s) no configured "
                        f"key decrypts: {rotation.format_ids(r.undecryptable)}"
                    )
                if r.conflicts:
                    lines.append(
                        f"  {r.label} ({r.kind}): {len(r.conflicts)} row(s) whose new search "
                        f"hash collides with another live row: {rotation.format_ids(r.conflicts)}"
                    )
            total = sum(len(r.failed) for r in failed)
            raise CommandError(
                f"{total} row(s) could not be rotated; every other row was processed.\n"
                + "\n".join(lines)
                + "\nAdd the key those rows were written with to "
                "LCRYPTO_PREVIOUS_ENCRYPT_SECRET_KEYS (or resolve the duplicates) and run the "
                "command again. Do not drop the previous keys yet."
            )
        if dry_run:
            self.stdout.write(
                f"Dry run: {stale} row(s) not yet under the current keys. Nothing was changed."
            )
        else:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Done: {stale} row(s) rotated. Every row is now under the current keys; the "
                    "previous keys can be removed from the environment."
                )
            )

    def _progress(self, result: rotation.ModelRotation) -> None:
        if self.verbosity >= 1:
            self.stdout.write(
                f"  {result.label} {result.kind}: batch {result.batches}, "
                f"{result.checked}/{result.total} rows checked, "
                f"{result.stale} not under the current key"
            )

    def _summary(self, result: rotation.ModelRotation, dry_run: bool) -> None:
        action = "would be rotated" if dry_run else "rotated"
        columns = ", ".join(sorted(result.columns)) or "-"
        self.stdout.write(
            f"{result.label} {result.kind}: {result.checked} rows checked, {result.stale} "
            f"{action} (columns: {columns}), {len(result.failed)} failed"
        )
