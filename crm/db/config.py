"""Database settings from URLs (`DATABASE_URL`, `DATABASE_REPLICA_URLS`), libpq's multi-host form
included: `postgres://user@h1:5432,h2:5433/crm?target_session_attrs=read-write` lists the
servers of a highly available cluster, and libpq connects to the first that answers and is
what `target_session_attrs` asks for (docs/high-availability.md).

django-environ parses the URL (engine, name, user, password, query options), but it splits a
host list on its own: `h1,h2:5433` became host `h1,h2` and port `5433` for both, and
`[::1]:5432,[::1]:5433` kept its brackets, which libpq refuses. So a URL naming several hosts
has its hosts and ports read by libpq's own parser (`psycopg.conninfo.conninfo_to_dict`) and
passed on as libpq's lists (`HOST` `h1,h2`, `PORT` `,5433`: an empty item is the default
port), which Django hands to psycopg as they are.
"""

import re
from urllib.parse import urlsplit

import environ
from psycopg.conninfo import conninfo_to_dict

_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)
_POSTGRES_ENGINES = {"django.db.backends.postgresql", "django.contrib.gis.db.backends.postgis"}


def database_url_config(url: str) -> dict:
    """`environ.Env.db_url_config(url)`, with a PostgreSQL URL's host list as libpq reads it."""
    config = environ.Env.db_url_config(url)
    netloc = urlsplit(url).netloc.rpartition("@")[2]
    if config.get("ENGINE") in _POSTGRES_ENGINES and "," in netloc:
        params = conninfo_to_dict("postgresql://" + url.split("://", 1)[1])
        config["HOST"] = params.get("host", "")
        config["PORT"] = params.get("port", "")
    return config


def split_database_urls(value: str) -> list[str]:
    """A comma-separated list of database URLs, where the commas of a multi-host URL do not
    separate: a piece that does not start with `scheme://` continues the URL before it."""
    urls: list[str] = []
    for piece in value.split(","):
        piece = piece.strip()
        if not piece:
            continue
        if urls and not _SCHEME.match(piece):
            urls[-1] = f"{urls[-1]},{piece}"
        else:
            urls.append(piece)
    return urls
