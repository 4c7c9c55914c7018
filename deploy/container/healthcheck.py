"""The image's HEALTHCHECK (`entrypoint healthcheck`): is this container doing its job?

In a web container (gunicorn runs), GET /health on the port gunicorn listens on: healthy on a
200 "healthy" within TIMEOUT_SECONDS. /health never touches the database (crm/api/views.py),
so a database outage does not make the container unhealthy and get it restarted for nothing;
/readyz is the readiness probe. The request names the first host of ALLOWED_HOSTS, so a
deployment that narrows ALLOWED_HOSTS to its public name still passes its own probe.

In any other container (relay, migrate, a command) there is no HTTP server: the container runs
as long as its process does, so there is nothing more to probe and the check passes.

Standard library only: it runs every 30 s, without Django, and must not start one.
"""

import http.client
import os
import sys
from pathlib import Path

TIMEOUT_SECONDS = 3


def web_server_runs() -> bool:
    """Whether gunicorn is among this container's processes (the web role)."""
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            arguments = cmdline.read_bytes().split(b"\0")
        except OSError:  # the process ended while we looked
            continue
        if any(argument.endswith(b"/gunicorn") for argument in arguments[:2]):
            return True
    return False


def probe_address() -> tuple[str, int]:
    """Where gunicorn listens (config/gunicorn.conf.py reads the same variables), as an
    address to connect to: the loopback address when it listens on every interface."""
    host = os.environ.get("SERVER_HOST", "0.0.0.0")  # noqa: S104 (the value gunicorn reads)
    if host in ("", "0.0.0.0"):  # noqa: S104
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return host, int(os.environ.get("SERVER_PORT", "4003"))


def host_header(fallback: str) -> str:
    """A Host the service accepts: the first ALLOWED_HOSTS entry (".example.com" stands for
    example.com and its subdomains; "*" for any host)."""
    allowed = [name.strip() for name in os.environ.get("ALLOWED_HOSTS", "").split(",")]
    first = next((name for name in allowed if name), "localhost")
    if first == "*":
        return f"[{fallback}]" if ":" in fallback else fallback
    return first.lstrip(".")


def probe_web() -> int:
    host, port = probe_address()
    connection = http.client.HTTPConnection(host, port, timeout=TIMEOUT_SECONDS)
    try:
        connection.request("GET", "/health", headers={"Host": host_header(host)})
        response = connection.getresponse()
        body = response.read(64)
    except OSError as exc:
        print(f"unhealthy: GET http://{host}:{port}/health failed: {exc}")
        return 1
    finally:
        connection.close()
    if response.status != 200 or body != b"healthy":
        print(f"unhealthy: GET /health answered {response.status}")
        return 1
    print("healthy")
    return 0


def main() -> int:
    if web_server_runs():
        return probe_web()
    print("healthy: no web server in this container (relay, migrate or a command)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
