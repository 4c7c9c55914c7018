"""prometheus_client's multiprocess mode for gunicorn's workers (config/gunicorn.conf.py).

Each worker writes its values to files in `PROMETHEUS_MULTIPROC_DIR`; a scrape, whichever worker
answers it, sums them all (`crm.observability.exposition`). prometheus_client reads the variable
when it is first imported, so the gunicorn configuration calls `choose()` before anything
imports it, in the master, and the forked workers inherit it.

* The directory is the variable's value when it is set, else a new directory under the system's
  temporary directory (`/tmp`, or `TMPDIR`): a container with a read-only root writes only there.
  `choose()` names it when the configuration is read; `start()` creates it when gunicorn starts
  (so `gunicorn --check-config` leaves nothing behind) and empties it: files a previous run left
  would be summed into the new counters.
* `process_exited()` when a worker exits: prometheus_client's `mark_process_dead` (drops the
  exited process's live gauges; its counters stay, as Prometheus expects of a counter).
* A directory `choose()` named is removed when gunicorn exits; a configured one is kept.

Nothing here imports prometheus_client at module level: this runs before the variable is set.
"""

import os
import secrets
import shutil
import tempfile
from pathlib import Path

VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


def choose() -> tuple[Path, bool]:
    """The directory, and whether it is ours (named here, to remove at exit); sets the variable
    for this process and the workers it forks."""
    configured = os.environ.get(VARIABLE)
    if configured:
        return Path(configured), False
    path = Path(tempfile.gettempdir()) / f"crm-metrics-{secrets.token_hex(8)}"
    os.environ[VARIABLE] = str(path)
    return path, True


def start(path: Path) -> None:
    """Create the directory (private to this user when new) and remove what an earlier run left
    (prometheus_client's `*.db` files)."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink(missing_ok=True)


def process_exited(pid: int, path: Path) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(pid, str(path))


def remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
