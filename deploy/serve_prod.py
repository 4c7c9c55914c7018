"""`make serve-prod PORT=N`: the production stack on one machine, as the current user.

nginx with the reference configuration (deploy/nginx/) on 127.0.0.1:PORT, in front of gunicorn
(config/gunicorn.conf.py) on 127.0.0.1 and a free private port, plus the change-event relay
(`manage.py relay_events`) when EVENTS_ENABLED is true. Settings come from the environment (and
`.env`) exactly as the application reads them: DATABASE_URL, the keys, WEB_CONCURRENCY, ...
MAX_REQUEST_BODY_BYTES also becomes nginx's client_max_body_size.

The nginx configuration is rendered into RUN_DIR (default artifacts/serve-prod/): the reference
files with the local ports and paths put in, plus a main nginx.conf whose pid file, logs and
temporary files all live there, run with `nginx -p RUN_DIR -c RUN_DIR/nginx.conf` (no Debian
default path, no root). Each replacement must match the reference exactly once, so a change to
deploy/nginx/ that the launcher does not know about stops it instead of being run unnoticed.

Ctrl-C (or SIGTERM) stops all of it: nginx first, then gunicorn (graceful), then the relay
(which finishes its batch). `Stack` is the same thing for tests: start, wait ready, stop.

Run `python deploy/serve_prod.py --help` for the options. Migrations are not run here (the
Makefile target runs `migrate` and `collectstatic` first, as a deployment does before a roll-out).
"""

import argparse
import contextlib
import getpass
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NGINX_DIR = ROOT / "deploy" / "nginx"
DEFAULT_RUN_DIR = ROOT / "artifacts" / "serve-prod"
READY_SECONDS = 60
STOP_SECONDS = 30

MAIN_CONF = """\
# Rendered by deploy/serve_prod.py (`make serve-prod`): nginx in the foreground as the current
# user, every path in this directory. The site itself is the reference in deploy/nginx/.
daemon off;
{user}worker_processes 1;
pid {run}/nginx.pid;
error_log {run}/logs/error.log warn;

events {{
    worker_connections 1024;
}}

http {{
    client_body_temp_path {run}/temp/client_body;
    proxy_temp_path {run}/temp/proxy;
    fastcgi_temp_path {run}/temp/fastcgi;
    uwsgi_temp_path {run}/temp/uwsgi;
    scgi_temp_path {run}/temp/scgi;
    access_log off;

{includes}
}}
"""


class StackError(RuntimeError):
    """The stack cannot start: a process did not start, or nginx refuses its configuration."""


class RenderError(StackError):
    """The reference configuration no longer has a line the launcher replaces."""


@dataclass(frozen=True)
class TLS:
    """The HTTPS server of deploy/nginx/crm-tls.conf on 127.0.0.1:`port`."""

    port: int
    certificate: Path
    key: Path


def free_port() -> int:
    """A TCP port nothing listens on now, on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def find_nginx() -> str:
    """Debian installs nginx in /usr/sbin, often not on a user's PATH."""
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    if found is None:
        raise StackError("nginx not found: install Debian's nginx (.ci/system-packages)")
    return found


def replace_once(text: str, old: str, new: str, where: str) -> str:
    if text.count(old) != 1:
        raise RenderError(f"{where}: expected {old!r} exactly once (deploy/serve_prod.py)")
    return text.replace(old, new)


def render(
    run_dir: Path, *, port: int, upstream_port: int, max_body_bytes: int, tls: TLS | None = None
) -> Path:
    """Write the nginx configuration for this machine into `run_dir`; the main file's path."""
    run_dir = run_dir.resolve()
    for sub in ("logs", "temp", "sites", "snippets"):
        (run_dir / sub).mkdir(parents=True, exist_ok=True)
    access_log, error_log = run_dir / "logs" / "access.log", run_dir / "logs" / "site-error.log"

    def local_logs(text: str, where: str) -> str:
        text = replace_once(text, "/var/log/nginx/crm-access.log", str(access_log), where)
        return replace_once(text, "/var/log/nginx/crm-error.log", str(error_log), where)

    site = (NGINX_DIR / "crm.conf").read_text()
    site = replace_once(
        site, "server 127.0.0.1:4003;", f"server 127.0.0.1:{upstream_port};", "crm.conf"
    )
    site = replace_once(site, "listen 80;", f"listen 127.0.0.1:{port};", "crm.conf")
    (run_dir / "sites" / "crm.conf").write_text(local_logs(site, "crm.conf"))
    includes = ["    include sites/crm.conf;"]

    proxy = (NGINX_DIR / "crm-proxy.conf").read_text()
    proxy = replace_once(
        proxy,
        "client_max_body_size 1m;",
        f"client_max_body_size {max_body_bytes};",
        "crm-proxy.conf",
    )
    (run_dir / "snippets" / "crm-proxy.conf").write_text(proxy)
    shutil.copyfile(NGINX_DIR / "crm-json-error.conf", run_dir / "snippets" / "crm-json-error.conf")

    if tls is not None:
        where = "crm-tls.conf"
        site = (NGINX_DIR / where).read_text()
        site = replace_once(
            site, "listen 443 ssl http2;", f"listen 127.0.0.1:{tls.port} ssl http2;", where
        )
        site = replace_once(
            site,
            "# ssl_certificate     /etc/ssl/certs/crm.example.com.fullchain.pem;",
            f"ssl_certificate {tls.certificate.resolve()};",
            where,
        )
        site = replace_once(
            site,
            "# ssl_certificate_key /etc/ssl/private/crm.example.com.key;",
            f"ssl_certificate_key {tls.key.resolve()};",
            where,
        )
        (run_dir / "sites" / where).write_text(local_logs(site, where))
        includes.append(f"    include sites/{where};")

    main = run_dir / "nginx.conf"
    # Started by root, nginx's workers would switch to `nobody`, who cannot write here.
    user = f"user {getpass.getuser()};\n" if os.geteuid() == 0 else ""
    main.write_text(MAIN_CONF.format(run=run_dir, user=user, includes="\n".join(includes)))
    return main


def application_settings(env: dict[str, str]) -> dict:
    """MAX_REQUEST_BODY_BYTES and EVENTS_ENABLED as the application reads them from `env`
    (and `.env`): asked of Django's settings in a process of their own."""
    code = (
        "import json; from django.conf import settings; print(json.dumps("
        "{'MAX_REQUEST_BODY_BYTES': settings.MAX_REQUEST_BODY_BYTES,"
        " 'EVENTS_ENABLED': settings.EVENTS_ENABLED}))"
    )
    env = {"DJANGO_SETTINGS_MODULE": "config.settings.base", **env}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    if done.returncode != 0:
        raise StackError(f"the settings cannot be read:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def answers(port: int, path: str = "/health", timeout: float = 2.0) -> bool:
    """`GET path` on 127.0.0.1:`port` answers 200."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path)
        return connection.getresponse().status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        connection.close()


class Stack:
    """nginx + gunicorn (+ the relay) for one machine; `with Stack(...) as stack:` starts it,
    waits until nginx answers `/health`, and stops it all on exit.

    `env` is the environment of every process (default: this one's). `relay`: None starts it
    when EVENTS_ENABLED is true. `log_dir`: gunicorn's and the relay's output go to files there
    (default: this process's terminal); nginx's logs are always in `run_dir/logs/`.
    """

    def __init__(
        self,
        *,
        port: int,
        run_dir: Path = DEFAULT_RUN_DIR,
        env: dict[str, str] | None = None,
        upstream_port: int | None = None,
        tls: TLS | None = None,
        relay: bool | None = None,
        nginx: str | None = None,
        log_dir: Path | None = None,
    ) -> None:
        self.port = port
        self.run_dir = Path(run_dir).resolve()
        self.upstream_port = upstream_port or free_port()
        self.env = {
            **(os.environ if env is None else env),
            "SERVER_HOST": "127.0.0.1",
            "SERVER_PORT": str(self.upstream_port),
        }
        self.tls = tls
        self.relay = relay
        self.nginx = nginx or find_nginx()
        self.log_dir = log_dir
        self.processes: dict[str, subprocess.Popen] = {}
        self._outputs: list = []

    # --- start ------------------------------------------------------------------------------

    def __enter__(self) -> "Stack":
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        settings = application_settings(self.env)
        conf = render(
            self.run_dir,
            port=self.port,
            upstream_port=self.upstream_port,
            max_body_bytes=settings["MAX_REQUEST_BODY_BYTES"],
            tls=self.tls,
        )
        self.nginx_command = [
            self.nginx,
            *(
                "-p",
                str(self.run_dir),
                "-c",
                str(conf),
                "-e",
                str(self.run_dir / "logs" / "error.log"),
            ),
        ]
        check = subprocess.run(
            [*self.nginx_command, "-t", "-q"], capture_output=True, text=True, timeout=30
        )
        if check.returncode != 0:
            raise StackError(f"nginx refuses the configuration in {self.run_dir}:\n{check.stderr}")

        gunicorn = [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.conf.py"]
        self._spawn("gunicorn", [*gunicorn, "--no-control-socket", "config.wsgi"])
        self._wait_ready("gunicorn", self.upstream_port)
        self._spawn("nginx", self.nginx_command)
        self._wait_ready("nginx", self.port)
        if self.relay if self.relay is not None else settings["EVENTS_ENABLED"]:
            self._spawn("relay", [sys.executable, "manage.py", "relay_events"])

    def _spawn(self, name: str, command: list[str]) -> None:
        output = None
        if self.log_dir is not None:
            output = (self.log_dir / f"{name}.log").open("ab")
            self._outputs.append(output)
        # A session of its own: Ctrl-C reaches this launcher only, which stops the processes
        # in order (nginx first) instead of all of them at once.
        self.processes[name] = subprocess.Popen(
            command,
            cwd=ROOT,
            env=self.env,
            stdout=output,
            stderr=subprocess.STDOUT if output else None,
            start_new_session=True,
        )

    def _wait_ready(self, name: str, port: int) -> None:
        deadline = time.monotonic() + READY_SECONDS
        while not answers(port):
            if self.processes[name].poll() is not None:
                raise StackError(f"{name} exited during start-up ({self.where_logs()})")
            if time.monotonic() > deadline:
                raise StackError(f"{name} did not answer /health within {READY_SECONDS} s")
            time.sleep(0.2)

    def where_logs(self) -> str:
        logs = [str(self.run_dir / "logs")]
        if self.log_dir is not None:
            logs.append(str(self.log_dir))
        return "logs in " + ", ".join(logs)

    # --- running and stopping -----------------------------------------------------------------

    def exited(self) -> str | None:
        """The name of a process that stopped on its own, if any."""
        for name, process in self.processes.items():
            if process.poll() is not None:
                return name
        return None

    def stop(self) -> None:
        """nginx (fast shutdown), then gunicorn (graceful: requests in flight finish), then the
        relay (finishes its batch); each killed if still there after STOP_SECONDS."""
        for name in ("nginx", "gunicorn", "relay"):
            process = self.processes.pop(name, None)
            if process is None:
                continue
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        for output in self._outputs:
            output.close()
        self._outputs.clear()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="deploy/serve_prod.py",
        description=(
            "Run nginx (deploy/nginx/) on 127.0.0.1:PORT in front of gunicorn "
            "(config/gunicorn.conf.py, 127.0.0.1 on a free private port), plus the relay "
            "(manage.py relay_events) when EVENTS_ENABLED=true. Settings from the environment "
            "and .env, as the application reads them. Ctrl-C stops everything."
        ),
    )
    parser.add_argument("--port", type=int, required=True, help="nginx's port on 127.0.0.1")
    parser.add_argument(
        "--run-dir",
        type=Path,
        default=DEFAULT_RUN_DIR,
        help="where the rendered nginx configuration, its pid file, logs and temporary files "
        "go (default: artifacts/serve-prod/)",
    )
    parser.add_argument(
        "--upstream-port", type=int, help="gunicorn's private port (default: a free one)"
    )
    parser.add_argument("--nginx", help="the nginx binary (default: nginx on PATH or /usr/sbin)")
    parser.add_argument(
        "--relay",
        choices=("auto", "on", "off"),
        default="auto",
        help="run manage.py relay_events: auto = when EVENTS_ENABLED is true (default)",
    )
    parser.add_argument("--tls-port", type=int, help="also serve HTTPS (crm-tls.conf) here")
    parser.add_argument("--tls-certificate", type=Path, help="PEM certificate chain for HTTPS")
    parser.add_argument("--tls-key", type=Path, help="PEM private key for HTTPS")
    options = parser.parse_args(argv)

    tls = None
    if options.tls_port is not None:
        if options.tls_certificate is None or options.tls_key is None:
            parser.error("--tls-port needs --tls-certificate and --tls-key")
        tls = TLS(options.tls_port, options.tls_certificate, options.tls_key)

    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())

    stack = Stack(
        port=options.port,
        run_dir=options.run_dir,
        upstream_port=options.upstream_port,
        tls=tls,
        relay={"auto": None, "on": True, "off": False}[options.relay],
        nginx=options.nginx,
    )
    try:
        stack.start()
        print(
            f"serve-prod: nginx on http://127.0.0.1:{stack.port}"
            + (f" and https://127.0.0.1:{tls.port}" if tls else "")
            + f", gunicorn on 127.0.0.1:{stack.upstream_port}"
            + (", relay running" if "relay" in stack.processes else "")
            + f"; {stack.where_logs()}. Ctrl-C stops all.",
            flush=True,
        )
        while not stopping.wait(0.5):
            gone = stack.exited()
            if gone is not None:
                print(f"serve-prod: {gone} stopped on its own; stopping", file=sys.stderr)
                return 1
        return 0
    except StackError as error:
        print(f"serve-prod: {error}", file=sys.stderr)
        return 1
    finally:
        with contextlib.suppress(KeyboardInterrupt):
            stack.stop()


if __name__ == "__main__":
    sys.exit(main())
