"""System checks (`manage.py check`, `runserver`, `migrate`) for access control, and the one
start-up line that says which access-control mode is in force (never a secret)."""

import logging

from django.conf import settings
from django.core import checks

from crm.access import access_manager

logger = logging.getLogger("crm.access")


DEVELOPMENT = "development"


def is_development() -> bool:
    """A developer's machine: `ENV_NAME=development` (what `make run`'s generated `.env` sets)
    or DEBUG. Anything else, an unset `ENV_NAME` included, is production-like, so a deployment
    that forgets the variable keeps its warnings (docs/operations.md, "Configuration")."""
    return settings.DEBUG or settings.ENV_NAME == DEVELOPMENT


@checks.register(checks.Tags.security, deploy=False)
def access_control(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """Warn loudly when a production-like process serves `/v1` without access control, and
    when an Access Manager address is set but ignored."""
    found: list[checks.CheckMessage] = []
    if not is_development() and not settings.PLUGIN_AUTH_ENABLED:
        found.append(
            checks.Warning(
                "ACCESS CONTROL IS OFF: every /v1 call is allowed to anyone who can reach the "
                f"service, and this is a production-like deployment (ENV_NAME={settings.ENV_NAME}"
                ", DEBUG false).",
                hint="Set PLUGIN_AUTH_ENABLED=true (with PLUGIN_AUTH_ADDRESS for the Lerian "
                "Access Manager, or without it for the built-in API tokens). On a developer's "
                "machine, ENV_NAME=development.",
                id="crm.W001",
            )
        )
    if settings.PLUGIN_AUTH_ADDRESS and not settings.PLUGIN_AUTH_ENABLED:
        found.append(
            checks.Warning(
                "PLUGIN_AUTH_ADDRESS is set but PLUGIN_AUTH_ENABLED is false: the Access "
                "Manager is not asked and every /v1 call is allowed.",
                hint="Set PLUGIN_AUTH_ENABLED=true to delegate decisions to it.",
                id="crm.W002",
            )
        )
    return found


def log_mode() -> None:
    """One line at start-up (each process): the mode, and for the Access Manager its address
    without credentials. A warning when nothing guards `/v1` outside development."""
    described = access_manager.describe()
    line = " ".join(f"{name}={value}" for name, value in described.items())
    if described["mode"] == "off" and not is_development():
        logger.warning("access control: %s (every /v1 call is allowed)", line)
    else:
        logger.info("access control: %s", line)


def probe_access_manager() -> None:
    """At a server's start (config/wsgi.py), in Access Manager mode: `GET {address}/health`,
    logged as reachable or not. Nothing else depends on it: each request asks on its own."""
    if access_manager.mode() != "access_manager":
        return
    address = access_manager.public_address(settings.PLUGIN_AUTH_ADDRESS)
    try:
        response = access_manager.client().get(settings.PLUGIN_AUTH_ADDRESS.rstrip("/") + "/health")
    except Exception as exc:  # any failure is only reported
        logger.warning("access manager at %s unreachable: %s", address, type(exc).__name__)
        return
    if response.status_code == 200:
        logger.info("access manager at %s answers", address)
    else:
        logger.warning("access manager at %s answered %s", address, response.status_code)
