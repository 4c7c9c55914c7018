"""`manage.py seal_audit`: link the audit entries written since the last run into the chain."""

import time

from crm.lifecycle import chain
from crm.management.base import DocumentedCommand, positive_int

EPILOG = """\
Writes append audit entries unchained (no writer waits on the chain's head); this command
links them, oldest first, in batches (crm/lifecycle/chain.py). Until an entry is sealed, a
change to it cannot be detected: run it with --follow beside the web servers (the window is
then --interval seconds), or from cron; `verify_audit` seals before it verifies.

Examples:
  manage.py seal_audit                      # seal everything written so far, then exit
  manage.py seal_audit --follow             # keep sealing every 5 s until stopped
  manage.py seal_audit --follow --interval 1
"""


class Command(DocumentedCommand):
    epilog = EPILOG
    help = "Seal new audit entries into the audit trail's hash chain."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--follow", action="store_true", help="Keep running, sealing every --interval seconds."
        )
        parser.add_argument(
            "--interval",
            type=positive_int,
            default=5,
            metavar="SECONDS",
            help="Seconds between two passes with --follow (default: 5).",
        )
        parser.add_argument(
            "--batch-size",
            type=positive_int,
            default=chain.BATCH_SIZE,
            metavar="N",
            help=f"Entries per transaction (default: {chain.BATCH_SIZE}).",
        )

    def handle(self, *args, **options) -> None:
        self.verbosity = options["verbosity"]
        while True:
            sealed = chain.seal(batch_size=options["batch_size"], progress=self.progress)
            if sealed or not options["follow"]:
                seq, _ = chain.head()
                self.stdout.write(f"Sealed {sealed} entries; the chain holds {seq}.")
            if not options["follow"]:
                return
            time.sleep(options["interval"])

    def progress(self, total: int) -> None:
        if self.verbosity > 1:
            self.stdout.write(f"  sealed {total} …")
