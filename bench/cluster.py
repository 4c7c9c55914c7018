"""A PostgreSQL server of our own on this machine: `initdb` (as the `postgres` user when run
as root, since initdb refuses root), start on a loopback port with given settings, stop.

Two users: the benchmark (`bench.run`), which loads and measures on a server configured the way
a production server on this machine would be (`production_settings`) rather than on the
distribution's defaults (128 MB of shared buffers, 1 GB of WAL between checkpoints), and the
tests that need a server to freeze or replicate (`tests/servers.py` extends `Cluster`).
"""

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def postgres_bin() -> Path | None:
    """The directory of the newest installed server's programs (initdb, pg_ctl, ...)."""
    found = shutil.which("initdb")
    if found:  # /usr/local/bin/initdb may be a link into the server's bin directory
        return Path(found).resolve().parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version_key)
    return Path(candidates[-1]).parent if candidates else None


def _version_key(path: str) -> int:
    version = Path(path).parent.parent.name
    return int(version) if version.isdigit() else 0


def production_settings(memory_bytes: int | None = None, *, lz4: bool = False) -> dict[str, str]:
    """Server settings sized for this machine as a dedicated database server's would be (the
    usual guidance: a quarter of the memory as shared buffers, three quarters as the planner's
    cache estimate; WAL room for a bulk load between checkpoints, compressed full-page images).
    Durability stays the default (fsync, synchronous commit).

    Full-page images are compressed with LZ4 where the server was built with it (`lz4`,
    `built_with_lz4`), else with the default pglz: at 1M holders a create writes ~3 full-page
    images after a checkpoint (its index entries land on pages nothing else touched since),
    and the server's CPU per create was 0.95-1.0 ms with pglz, 0.65-0.73 ms with LZ4, on the
    same database after a `CHECKPOINT` (docs/performance.md)."""
    memory = memory_bytes or os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    mib = memory // 2**20
    return {
        "shared_buffers": f"{min(mib // 4, 8192)}MB",
        "effective_cache_size": f"{mib * 3 // 4}MB",
        "maintenance_work_mem": f"{min(mib // 16, 2048)}MB",
        "work_mem": "16MB",
        "max_wal_size": "16GB",
        "checkpoint_timeout": "15min",
        "checkpoint_completion_target": "0.9",
        "wal_compression": "lz4" if lz4 else "on",
        "max_connections": "100",
    }


def built_with_lz4(bindir: Path) -> bool:
    """True when the server in `bindir` was built with LZ4 (`pg_config --configure`)."""
    try:
        configure = subprocess.run(
            [str(bindir / "pg_config"), "--configure"], capture_output=True, text=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return False
    return "--with-lz4" in configure


class Cluster:
    """One server: `data` under `directory` (a new temporary directory unless given: a given
    one is kept, so a loaded database outlives the run), `settings` as `-c` options."""

    def __init__(
        self,
        bindir: Path,
        *,
        prefix: str = "crm-pg-",
        directory: Path | None = None,
        port: int | None = None,
        settings: dict[str, str] | None = None,
    ) -> None:
        self.bindir = bindir
        self.port = port or free_port()
        self.settings = {"listen_addresses": "127.0.0.1", **(settings or {})}
        self.as_user: list[str] = []
        owner = None
        if os.geteuid() == 0:  # initdb refuses root
            try:
                owner = pwd.getpwnam("postgres")
            except KeyError as exc:
                raise RuntimeError(
                    "running as root and there is no `postgres` user to run initdb as"
                ) from exc
            self.as_user = ["runuser", "-u", "postgres", "--"]
        if directory is None:
            directory = Path(tempfile.mkdtemp(prefix=prefix))
        directory.mkdir(parents=True, exist_ok=True)
        if owner is not None:
            os.chown(directory, owner.pw_uid, owner.pw_gid)
        self.dir = directory
        self.data = directory / "data"
        self.postmaster: int | None = None

    def run(self, *command: str, timeout: float = 60) -> None:
        subprocess.run(
            [*self.as_user, *command],
            check=True,
            capture_output=True,
            timeout=timeout,
            cwd=self.dir,
        )

    @property
    def initialised(self) -> bool:
        return (self.data / "PG_VERSION").exists()

    def initdb(self) -> None:
        self.run(str(self.bindir / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres")

    def launch(self) -> None:
        """Start the server on `port` (its socket in `dir`), waiting until it accepts."""
        options = " ".join(f"-c {name}={value}" for name, value in self.settings.items())
        self.run(
            str(self.bindir / "pg_ctl"),
            *("-D", str(self.data), "-o", f"-p {self.port} -k {self.dir} {options}"),
            *("-l", str(self.dir / "server.log"), "-w", "-t", "60", "start"),
            timeout=90,
        )
        self.postmaster = int((self.data / "postmaster.pid").read_text().split()[0])

    def createdb(self, name: str) -> None:
        self.run(str(self.bindir / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), name)

    def database_url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def halt(self, mode: str = "immediate") -> None:
        """Stop the server (`mode` as pg_ctl takes it), keep its files."""
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(subprocess.SubprocessError, OSError):
                self.run(
                    str(self.bindir / "pg_ctl"),
                    *("-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop"),
                    timeout=90,
                )
