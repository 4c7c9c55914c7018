"""The client's address (crm/access/client_address.py): the connection's, unless the connection
comes from a `TRUSTED_PROXIES` network, then the one that proxy reports in `X-Forwarded-For`.

Both ways, for each user of the address: behind a trusted proxy two forwarded clients do not lock
each other out of the admin and have their own addresses in the access log; a sender that is
not a trusted proxy cannot choose its address with `X-Forwarded-For` (the lockout keys on, and
the log shows, the connection's address). A bad `TRUSTED_PROXIES` stops the start-up.
"""

import logging

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.test import RequestFactory
from rest_framework.throttling import BaseThrottle

from crm.access.client_address import resolve
from crm.access.settings_checks import check_required_secrets
from crm.api.throttling import OrganizationRateThrottle
from tests.test_settings_checks import GOOD, start

PROXY = "10.20.0.2"  # inside TRUSTED
TRUSTED = ["10.0.0.0/8", "fd00::/8"]
ALICE, BOB = "198.51.100.7", "198.51.100.8"  # clients behind the proxy
MALLORY = "203.0.113.9"  # connects directly, not a proxy


# --- The rule ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("remote", "forwarded", "trusted", "expected"),
    [
        # nobody trusted (the default): the connection, whatever the header says
        (PROXY, ALICE, [], PROXY),
        (MALLORY, ALICE, [], MALLORY),
        # a direct client's own header is ignored
        (MALLORY, ALICE, TRUSTED, MALLORY),
        # from a trusted proxy: what it appended
        (PROXY, ALICE, TRUSTED, ALICE),
        (PROXY, f" {ALICE} ", TRUSTED, ALICE),
        (PROXY, None, TRUSTED, PROXY),
        (PROXY, "", TRUSTED, PROXY),
        # a chain: our proxies skipped from the right, a client's forged entries on the left
        (PROXY, f"192.0.2.66, {ALICE}, 10.0.0.1", TRUSTED, ALICE),
        # every hop trusted: the leftmost
        (PROXY, "10.9.9.9, 10.0.0.1", TRUSTED, "10.9.9.9"),
        # an entry that is not an address: the header is not believed
        (PROXY, f"{ALICE}:5555", TRUSTED, PROXY),
        (PROXY, f"{ALICE}, unknown", TRUSTED, PROXY),
        (PROXY, f"{ALICE},", TRUSTED, PROXY),
        (PROXY, "x' OR 1=1 --", TRUSTED, PROXY),
        # IPv6, and IPv4-mapped IPv6 (a dual-stack listener) as IPv4
        ("fd00::2", "2001:db8::7", TRUSTED, "2001:db8::7"),
        ("::ffff:10.20.0.2", ALICE, TRUSTED, ALICE),
        ("::ffff:203.0.113.9", ALICE, TRUSTED, MALLORY),
        # no IP connection (a Unix socket): no address, and nothing believed
        ("", ALICE, TRUSTED, None),
    ],
)
def test_the_client_address_rule(remote, forwarded, trusted, expected):
    meta = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded

    assert resolve(meta, trusted) == expected


@pytest.mark.parametrize("entry", ["10.0.0.5/8", "10.0.0.0/33", "proxy.internal", "10.0.0.0/8;"])
def test_a_bad_trusted_proxies_entry_is_a_configuration_error(entry):
    with pytest.raises(ImproperlyConfigured) as excinfo:
        check_required_secrets({**GOOD, "TRUSTED_PROXIES": ["127.0.0.1/32", entry]})

    assert f"TRUSTED_PROXIES: {entry!r} is not a network in CIDR notation" in str(excinfo.value)


def test_the_start_up_checks_trusted_proxies_and_log_format():
    assert start(TRUSTED_PROXIES="10.0.0.0/8, 127.0.0.1,fd00::/8").returncode == 0

    refused = start(TRUSTED_PROXIES="10.0.0.0/8,10.0.0.5/8")
    assert refused.returncode != 0
    assert "TRUSTED_PROXIES: '10.0.0.5/8' is not a network" in refused.stderr
    refused = start(LOG_FORMAT="xml")
    assert refused.returncode != 0
    assert "LOG_FORMAT must be `text` or `json`." in refused.stderr


# --- The admin login lockout (django-axes) -----------------------------------------------------


@pytest.fixture
def staff(db):
    return get_user_model().objects.create_user(
        "clerk", password="right-pass-123", is_staff=True, is_superuser=True
    )


def _log_in(client, password, remote, forwarded=None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return client.post(
        "/admin/login/?next=/admin/", {"username": "clerk", "password": password}, **extra
    )


def test_behind_a_trusted_proxy_forwarded_clients_do_not_lock_each_other_out(
    client, staff, settings
):
    settings.TRUSTED_PROXIES = TRUSTED
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _log_in(client, "wrong", PROXY, ALICE)

    assert _log_in(client, "right-pass-123", PROXY, ALICE).status_code == 429
    assert _log_in(client, "right-pass-123", PROXY, BOB).status_code == 302
    assert list(AccessAttempt.objects.values_list("ip_address", flat=True)) == [ALICE]


def test_an_untrusted_senders_forwarded_for_is_ignored_by_the_lockout(client, staff, settings):
    settings.TRUSTED_PROXIES = TRUSTED
    for number in range(settings.AXES_FAILURE_LIMIT):
        _log_in(client, "wrong", MALLORY, f"192.0.2.{number + 1}")

    # a new forged address each time did not help: the failures count against the connection
    assert _log_in(client, "right-pass-123", MALLORY, "192.0.2.200").status_code == 429
    assert list(AccessAttempt.objects.values_list("ip_address", flat=True)) == [MALLORY]
    # and it locked out nobody else: the same user from elsewhere, even claiming MALLORY's name
    assert _log_in(client, "right-pass-123", "203.0.113.10", MALLORY).status_code == 302


def test_without_trusted_proxies_the_proxys_header_is_not_believed(client, staff, settings):
    """The default: every login through a proxy comes from the proxy (set TRUSTED_PROXIES)."""
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _log_in(client, "wrong", PROXY, ALICE)

    assert _log_in(client, "right-pass-123", PROXY, BOB).status_code == 429
    assert list(AccessAttempt.objects.values_list("ip_address", flat=True)) == [PROXY]


# --- The access log and the rate limit's address -----------------------------------------------


def _request_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "crm.request"]


def test_the_access_log_names_each_forwarded_client(api, settings, caplog):
    settings.TRUSTED_PROXIES = TRUSTED
    caplog.set_level(logging.INFO, logger="crm.request")

    api.get("/v1/holders", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=ALICE)
    api.get("/v1/holders", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=f"192.0.2.1, {BOB}")
    api.get("/v1/holders", REMOTE_ADDR=MALLORY, HTTP_X_FORWARDED_FOR=ALICE)

    lines = _request_lines(caplog)
    assert [line.rsplit(" ", 1)[-1] for line in lines] == [
        f"client={ALICE}",
        f"client={BOB}",
        f"client={MALLORY}",
    ]
    assert [r.client_address for r in caplog.records if r.name == "crm.request"] == [
        ALICE,
        BOB,
        MALLORY,
    ]


def test_the_rate_limits_address_is_ours_not_drfs_reading_of_the_header(settings):
    settings.TRUSTED_PROXIES = TRUSTED
    forged = RequestFactory().get("/v1/holders", REMOTE_ADDR=MALLORY, HTTP_X_FORWARDED_FOR=ALICE)
    proxied = RequestFactory().get("/v1/holders", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=ALICE)

    assert BaseThrottle().get_ident(forged) == ALICE  # DRF's own believes any sender
    assert OrganizationRateThrottle().get_ident(forged) == MALLORY
    assert OrganizationRateThrottle().get_ident(proxied) == ALICE
