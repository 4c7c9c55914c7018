"""The persistent connection's health check (`SELECT 1` before a request reuses it) is skipped
while the server answered on the connection less than `health_check_idle_seconds` ago, and runs
for a connection idle longer (crm.db.postgresql). Runs against the local PostgreSQL server in both
legs of the suite: the backend is built here, whatever the suite's own database is."""

import pytest
from django.db import connections

from crm.db.postgresql.base import DatabaseWrapper


@pytest.fixture
def wrapper(django_db_blocker):
    settings_dict = connections.configure_settings(
        {
            "default": {"ENGINE": "django.db.backends.dummy"},
            "pg": {
                "ENGINE": "crm.db.postgresql",
                "NAME": "postgres",
                "USER": "root",
                "HOST": "127.0.0.1",
                "PORT": "5432",
                "CONN_MAX_AGE": 60,
                "CONN_HEALTH_CHECKS": True,
                "OPTIONS": {"health_check_timeout": 1.0, "health_check_idle_seconds": 1.0},
            },
        }
    )["pg"]
    connection = DatabaseWrapper(settings_dict, alias="pg")
    with django_db_blocker.unblock():
        yield connection
        connection.close()


def _checks(connection, monkeypatch) -> list[bool]:
    calls: list[bool] = []
    real = DatabaseWrapper.is_usable

    def counting(self):
        calls.append(True)
        return real(self)

    monkeypatch.setattr(DatabaseWrapper, "is_usable", counting)
    return calls


def _next_request(connection) -> None:
    connection.close_if_unusable_or_obsolete()  # what Django runs when a request starts
    with connection.cursor() as cursor:
        cursor.execute("SELECT 2")


def test_a_connection_that_just_answered_is_not_checked_again(wrapper, monkeypatch):
    calls = _checks(wrapper, monkeypatch)
    _next_request(wrapper)  # opens the connection
    for _ in range(5):
        _next_request(wrapper)
    assert calls == []


def test_an_idle_connection_is_checked_before_reuse(wrapper, monkeypatch):
    calls = _checks(wrapper, monkeypatch)
    _next_request(wrapper)
    wrapper.connection.answered_at -= 5.0  # as if idle for five seconds
    _next_request(wrapper)
    assert calls == [True]
    _next_request(wrapper)  # it has answered again: no second check
    assert calls == [True]
