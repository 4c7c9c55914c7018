"""Fail at start-up, with a message an operator can act on, when a required secret is missing."""

from binascii import Error as BinasciiError
from binascii import unhexlify
from typing import Any

from django.core.exceptions import ImproperlyConfigured

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
    if settings.get("PLUGIN_AUTH_ADDRESS"):
        # Never ignore it silently: a deployment that asks for the Access Manager and gets
        # no access control at all is worse than one that does not start.
        raise ImproperlyConfigured(
            "PLUGIN_AUTH_ADDRESS is set, but delegating decisions to a Lerian Access Manager "
            "is not available in this version. Unset it and use the built-in API tokens "
            "(PLUGIN_AUTH_ENABLED=true)."
        )
