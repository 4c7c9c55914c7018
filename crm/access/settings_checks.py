"""Fail at start-up, with a message an operator can act on, when a required secret is missing
or the Access Manager, read-replica, trusted-proxy, log, metrics or phone-region settings
cannot work."""

from binascii import Error as BinasciiError
from binascii import unhexlify
from typing import Any
from urllib.parse import urlsplit

import environ
import phonenumbers
from django.core.exceptions import ImproperlyConfigured

from crm.access.client_address import parse_networks

VALID_AES_KEY_BYTES = (16, 24, 32)


def _check_hex_key(name: str, value: str) -> None:
    try:
        raw = unhexlify(value)
    except (BinasciiError, ValueError) as exc:
        raise ImproperlyConfigured(
            f"{name} must be a hex string (e.g. `openssl rand -hex 32`)."
        ) from exc
    if len(raw) not in VALID_AES_KEY_BYTES:
        raise ImproperlyConfigured(
            f"{name} must decode to 16, 24 or 32 bytes (32, 48 or 64 hex characters)."
        )


def check_required_secrets(settings: dict[str, Any]) -> None:
    """Raise ImproperlyConfigured when a secret is missing or malformed.

    There are no defaults for secrets: `make run` writes development values into `.env` once,
    tests set their own, production must provide them.
    """
    missing = [
        name
        for name in ("SECRET_KEY", "LCRYPTO_ENCRYPT_SECRET_KEY", "LCRYPTO_HASH_SECRET_KEY")
        if not settings.get(name)
    ]
    if missing:
        raise ImproperlyConfigured(
            "Missing required setting(s): "
            + ", ".join(missing)
            + ". Set them in the environment or in .env (see .env.example); `make run` "
            "generates development values."
        )
    _check_hex_key("LCRYPTO_ENCRYPT_SECRET_KEY", settings["LCRYPTO_ENCRYPT_SECRET_KEY"])
    for index, key in enumerate(settings.get("LCRYPTO_PREVIOUS_ENCRYPT_SECRET_KEYS") or []):
        _check_hex_key(f"LCRYPTO_PREVIOUS_ENCRYPT_SECRET_KEYS[{index}]", key)
    if len(settings["LCRYPTO_HASH_SECRET_KEY"]) < 32:
        raise ImproperlyConfigured("LCRYPTO_HASH_SECRET_KEY must be at least 32 characters.")
    _check_access_manager(settings)
    _check_replicas(settings)
    _check_trusted_proxies(settings)
    _check_log_format(settings)
    _check_metrics(settings)
    _check_phone_region(settings)


def _check_access_manager(settings: dict[str, Any]) -> None:
    """Access Manager mode needs an address it can call and a timeout that bounds the call."""
    address = settings.get("PLUGIN_AUTH_ADDRESS") or ""
    if address:
        parts = urlsplit(address)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ImproperlyConfigured(
                "PLUGIN_AUTH_ADDRESS must be an http(s) URL such as http://plugin-auth:4000."
            )
    if settings.get("PLUGIN_AUTH_TIMEOUT_SECONDS", 2.0) <= 0:
        raise ImproperlyConfigured("PLUGIN_AUTH_TIMEOUT_SECONDS must be greater than 0.")


def _check_replicas(settings: dict[str, Any]) -> None:
    """Read replicas (crm/db/replicas.py) are PostgreSQL hot standbys of a PostgreSQL primary:
    their lag is measured with PostgreSQL's recovery functions, so nothing else can be one.
    The URLs are never echoed (they may carry a password)."""
    urls = settings.get("DATABASE_REPLICA_URLS") or []
    if not urls:
        return
    if settings["DATABASES"]["default"]["ENGINE"] != "crm.db.postgresql":
        raise ImproperlyConfigured(
            "DATABASE_REPLICA_URLS needs a PostgreSQL DATABASE_URL: read replicas are hot "
            "standbys of a PostgreSQL primary."
        )
    for position, url in enumerate(urls, start=1):
        if environ.Env.db_url_config(url)["ENGINE"] != "django.db.backends.postgresql":
            raise ImproperlyConfigured(
                f"DATABASE_REPLICA_URLS entry {position} is not a PostgreSQL URL "
                "(postgres://...): read replicas are PostgreSQL hot standbys."
            )


def _check_trusted_proxies(settings: dict[str, Any]) -> None:
    """`TRUSTED_PROXIES` decides whose `X-Forwarded-For` is believed (crm/access/client_address.py):
    an entry that is not a network would silently trust nobody, or the wrong hosts."""
    try:
        parse_networks(settings.get("TRUSTED_PROXIES") or [])
    except ValueError as exc:
        raise ImproperlyConfigured(
            f"TRUSTED_PROXIES: {exc}. List the proxies' networks, comma-separated, e.g. "
            "TRUSTED_PROXIES=10.0.0.0/8,127.0.0.1/32."
        ) from None


LOG_FORMATS = ("text", "json")


def _check_log_format(settings: dict[str, Any]) -> None:
    if settings.get("LOG_FORMAT", "text") not in LOG_FORMATS:
        raise ImproperlyConfigured("LOG_FORMAT must be `text` or `json`.")


METRICS_TOKEN_MIN_LENGTH = 32


def _check_metrics(settings: dict[str, Any]) -> None:
    """`/metrics` (and the relay's listener) answer only with the bearer token METRICS_TOKEN
    (crm/observability/exposition.py): required when metrics are on, except with DEBUG (a
    laptop, where no token means no check); a token that is set is always long enough."""
    token = settings.get("METRICS_TOKEN") or ""
    needed = settings.get("METRICS_ENABLED") and not settings.get("DEBUG")
    if (needed or token) and len(token) < METRICS_TOKEN_MIN_LENGTH:
        raise ImproperlyConfigured(
            f"METRICS_TOKEN must be at least {METRICS_TOKEN_MIN_LENGTH} characters "
            "(`openssl rand -hex 32`): the bearer token Prometheus sends to /metrics. It is "
            "required with METRICS_ENABLED=true unless DEBUG=true."
        )


def _check_phone_region(settings: dict[str, Any]) -> None:
    """Phone search hashes read a number without "+" as one of this country
    (`crm.crypto.search.canonical_phone`): it must be a region `phonenumbers` knows."""
    region = settings.get("PHONE_DEFAULT_REGION", "BR")
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ImproperlyConfigured(
            f"PHONE_DEFAULT_REGION must be a country code such as BR or PT (ISO 3166-1 "
            f"alpha-2) that phone numbers are read in; got {region[:10]!r}."
        )
