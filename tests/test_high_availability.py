"""What lets the service follow a failover by itself (docs/high-availability.md), checked
in-process against the machine's PostgreSQL (`CRM_TEST_POSTGRES_URL`), in both CI legs:

* multi-host database URLs (`crm/db/config.py`) reach psycopg as libpq reads the URL itself,
  in `DATABASE_URL` and in `DATABASE_REPLICA_URLS`, whose commas inside a URL do not separate;
* a connection to the primary asks for a writable server (`target_session_attrs=read-write`)
  and skips a host that is down;
* a write refused because the server has become read-only is a 503 CRM-0907, and the
  connection is dropped so the next one finds the writable server.

The failover itself (pg_auto_failover, gunicorn, the relay) is tests/test_failover.py.
"""

import json
import os
import subprocess
import sys

import environ
import psycopg
import pytest
from django.db import InternalError, connections
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from crm.api.errors import to_crm_error, unavailable_reason
from crm.db.config import database_url_config, split_database_urls
from crm.db.postgresql.base import DatabaseWrapper
from tests.servers import ROOT, app_environment, free_port

MACHINE_URL = os.environ.get("CRM_TEST_POSTGRES_URL", "postgres://root@127.0.0.1:5432/postgres")


def libpq_view(url: str) -> dict:
    """What libpq itself reads from `url` (its scheme made libpq's)."""
    return conninfo_to_dict("postgresql://" + url.split("://", 1)[1])


def wrapper_for(url: str, alias: str, **options) -> DatabaseWrapper:
    database = {**database_url_config(url), "ENGINE": "crm.db.postgresql"}
    database["OPTIONS"] = {**database.get("OPTIONS", {}), "connect_timeout": 2, **options}
    settings_dict = connections.configure_settings({"default": {}, alias: database})[alias]
    return DatabaseWrapper(settings_dict, alias)


@pytest.mark.parametrize(
    "url",
    [
        "postgres://app@h1:5432,h2:5433/crm?target_session_attrs=read-write",
        "postgres://app@h1,h2:5433/crm",  # h1 on the default port, h2 on 5433
        "postgres://app@h1:5433,h2/crm",  # the other way round
        "postgresql://app:p%40ss@[::1]:5432,[::1]:5433/crm",  # IPv6 literals, a quoted password
        "postgres://app@h1:6001,h2:6002,h3:6003/crm?target_session_attrs=prefer-standby",
    ],
)
def test_a_multi_host_url_reaches_psycopg_as_libpq_reads_it(url):
    """The hosts, ports and options psycopg is given are the ones libpq reads from the URL."""
    given = wrapper_for(url, "multi").get_connection_params()
    given.pop("cursor_factory", None)
    given.pop("context", None)
    expected = libpq_view(url)
    seen = conninfo_to_dict(make_conninfo(**given))

    assert (seen["host"], seen.get("port", "")) == (expected["host"], expected.get("port", ""))
    assert seen["dbname"] == expected["dbname"] and seen["user"] == expected["user"]
    assert seen.get("password") == expected.get("password")
    assert seen.get("target_session_attrs") == expected.get("target_session_attrs")


def test_environs_own_parsing_of_a_host_list_was_wrong():
    """Why crm.db.config exists: django-environ gives every host the last port, and keeps the
    brackets of IPv6 literals, which libpq refuses as host names."""
    ports = environ.Env.db_url_config("postgres://app@h1,h2:5433/crm")
    brackets = environ.Env.db_url_config("postgres://app@[::1]:5432,[::1]:5433/crm")

    assert (ports["HOST"], ports["PORT"]) == ("h1,h2", 5433)  # libpq: h1:5432, h2:5433
    assert brackets["HOST"] == "[::1],[::1]"
    assert database_url_config("postgres://app@h1,h2:5433/crm")["PORT"] == ",5433"
    assert database_url_config("postgres://app@[::1]:5432,[::1]:5433/crm")["HOST"] == "::1,::1"


@pytest.mark.parametrize(
    ("value", "urls"),
    [
        ("", []),
        ("postgres://r@r1/crm", ["postgres://r@r1/crm"]),
        (
            "postgres://r@r1:5432/crm,postgres://r@r2:5433/crm",
            ["postgres://r@r1:5432/crm", "postgres://r@r2:5433/crm"],
        ),
        (
            "postgres://r@n1:5432,n2:5433/crm?target_session_attrs=prefer-standby,"
            "postgres://r@r3/crm",
            [
                "postgres://r@n1:5432,n2:5433/crm?target_session_attrs=prefer-standby",
                "postgres://r@r3/crm",
            ],
        ),
        (
            "postgres://r@a,b,c/crm , postgres://r@d/crm",
            ["postgres://r@a,b,c/crm", "postgres://r@d/crm"],
        ),
    ],
)
def test_replica_urls_are_split_between_urls_not_inside_a_host_list(value, urls):
    assert split_database_urls(value) == urls


def test_the_settings_keep_multi_host_urls_whole():
    """Production settings in a fresh process: the primary's hosts and its read-write request;
    a multi-host replica with its own target_session_attrs, not the primary's."""
    env = app_environment("postgres://app@db1:5432,db2:5433/crm", free_port())
    env["DATABASE_REPLICA_URLS"] = (
        "postgres://ro@db1:5432,db2:5433/crm?target_session_attrs=prefer-standby,"
        "postgres://ro@db3/crm"
    )
    script = (
        "import json; from django.conf import settings as s; print(json.dumps({a: [d['HOST'], "
        "d['PORT'], d['OPTIONS'].get('target_session_attrs')] for a, d in s.DATABASES.items()}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout

    assert json.loads(out.strip().splitlines()[-1]) == {
        "default": ["db1,db2", "5432,5433", "read-write"],
        "replica1": ["db1,db2", "5432,5433", "prefer-standby"],
        "replica2": ["db3", "", None],
    }


def test_a_connection_skips_a_host_that_is_down(django_db_blocker):
    """The first host of the list refuses connections: libpq goes on to the next one."""
    params = libpq_view(MACHINE_URL)
    url = (
        f"postgres://{params.get('user', 'root')}@127.0.0.1:{free_port()},"
        f"{params.get('host', '127.0.0.1')}:{params.get('port', '5432')}/{params['dbname']}"
        "?target_session_attrs=read-write"
    )
    wrapper = wrapper_for(url, "skips")
    with django_db_blocker.unblock():  # the machine's server, not the suite's database
        try:
            with wrapper.cursor() as cursor:
                cursor.execute("SELECT pg_is_in_recovery()")
                assert cursor.fetchone() == (False,)
            assert wrapper.connection.info.port == int(params.get("port", "5432"))
        finally:
            wrapper.close()


def test_a_write_on_a_server_that_became_read_only_is_503_and_the_connection_dropped(
    django_db_blocker,
):
    """As on a primary being demoted: the server refuses writes on a connection opened while it
    accepted them. The refusal is a 503 CRM-0907 (not a 500), and the connection is unusable,
    so Django closes it after the request and the next connection goes to the writable server.
    (Here the session itself is made read-only; the server reports the change to the client as
    it does after a reload of `default_transaction_read_only`.)"""
    wrapper = wrapper_for(MACHINE_URL, "demoted", target_session_attrs="read-write")
    with django_db_blocker.unblock():
        try:
            with wrapper.cursor() as cursor:
                cursor.execute("SELECT 1")
            assert wrapper.is_usable()
            with wrapper.cursor() as cursor:
                cursor.execute("SET default_transaction_read_only = on")
            with (
                pytest.raises(InternalError, match="read-only transaction") as raised,
                wrapper.cursor() as cursor,
            ):
                cursor.execute("CREATE TABLE crm_read_only_probe (x int)")
            assert isinstance(raised.value.__cause__, psycopg.errors.ReadOnlySqlTransaction)
            error = to_crm_error(raised.value)
            assert (error.status, error.code) == (503, "CRM-0907")
            assert error.headers.get("Retry-After")
            assert "read-only now" in unavailable_reason(raised.value)

            assert not wrapper.is_usable()
            wrapper.close_if_unusable_or_obsolete()  # what Django runs after each request
            assert wrapper.connection is None
        finally:
            wrapper.close()


def test_a_replica_connection_may_be_read_only(django_db_blocker):
    """Without read-write in its options (a replica's), a read-only server is what it wants."""
    wrapper = wrapper_for(MACHINE_URL, "reader")
    with django_db_blocker.unblock():
        try:
            with wrapper.cursor() as cursor:
                cursor.execute("SET default_transaction_read_only = on")
            assert wrapper.is_usable()
        finally:
            wrapper.close()


def test_a_connection_the_client_deadline_closed_is_unusable_not_an_error(django_db_blocker):
    """The read-only check runs on every connection Django checks after an error, including
    one `crm.db.postgresql` closed after a deadline (test_frozen_database.py: a 500 page when
    the check raised on it)."""
    wrapper = wrapper_for(MACHINE_URL, "deadline", target_session_attrs="read-write")
    with django_db_blocker.unblock():
        try:
            wrapper.ensure_connection()
            wrapper.connection.close()  # as DeadlineConnection.wait() does past its bound

            assert not wrapper.is_usable()
        finally:
            wrapper.close()
