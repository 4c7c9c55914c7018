"""Production hardening (docs/api.md §10): `check --deploy` is clean with the README's production
settings; a loud warning when production runs with auth off; admin login lockout; CORS closed
by default; security headers on every response, API errors included."""

import os
import re
import subprocess
import sys

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from crm.access import checks
from tests.servers import ROOT, development_environment


def readme_production_settings() -> dict[str, str]:
    """The `KEY=value` lines of the README's "Production settings" block."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index("### Production settings") :]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
    return dict(line.split("=", 1) for line in block.splitlines() if "=" in line)


def test_check_deploy_has_no_issues_with_the_readme_production_settings(tmp_path):
    variables = readme_production_settings()
    assert variables["DEBUG"] == "false"
    assert variables["PLUGIN_AUTH_ENABLED"] == "true"
    environment = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "config.settings.base",
        "CRM_IGNORE_DOTENV": "true",
        "SECRET_KEY": "pX3v9-" + "Qz7kL2mN8rT4wY6bH1jF5dS0aG" * 2,
        "LCRYPTO_ENCRYPT_SECRET_KEY": "ab" * 32,
        "LCRYPTO_HASH_SECRET_KEY": "production-like-hash-key-" + "h" * 20,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'deploy.sqlite3'}",
        **variables,
    }

    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout, result.stderr
    assert "WARNINGS" not in result.stderr


# --- Auth off in production: warned loudly -----------------------------------------------------


def test_auth_off_without_debug_is_a_system_check_warning(settings):
    settings.ENV_NAME = "production"
    settings.DEBUG = False
    settings.PLUGIN_AUTH_ENABLED = False
    settings.PLUGIN_AUTH_ADDRESS = ""

    found = checks.access_control()

    assert [message.id for message in found] == ["crm.W001"]
    assert "ACCESS CONTROL IS OFF" in found[0].msg


def test_manage_py_check_prints_the_warning(settings, capsys):
    settings.ENV_NAME = "production"
    settings.DEBUG = False
    settings.PLUGIN_AUTH_ENABLED = False

    call_command("check")

    assert "crm.W001" in capsys.readouterr().err


def manage_py_check(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_make_runs_development_environment_prints_no_production_warning(tmp_path):
    """The `.env` that `make run` generates says ENV_NAME=development: auth is off there, as it
    should be on a laptop, and nothing warns about production."""
    env = development_environment(f"sqlite:///{tmp_path / 'dev.sqlite3'}")
    assert (env["ENV_NAME"], env["DEBUG"]) == ("development", "false")
    env.pop("PLUGIN_AUTH_ENABLED", None)

    result = manage_py_check(env)

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout, result.stderr
    assert "WARNING" not in result.stdout + result.stderr
    assert "ACCESS CONTROL IS OFF" not in result.stdout + result.stderr
    assert "INFO crm.access request_id=- access control: mode=off" in result.stdout


def test_a_deployment_that_names_no_environment_still_gets_the_production_warning(tmp_path):
    """The same variables without ENV_NAME (a deployment that never set it): production-like."""
    env = development_environment(f"sqlite:///{tmp_path / 'prod.sqlite3'}")
    del env["ENV_NAME"]
    env.pop("PLUGIN_AUTH_ENABLED", None)

    result = manage_py_check(env)

    assert result.returncode == 0, result.stderr
    assert "(crm.W001) ACCESS CONTROL IS OFF" in result.stderr
    assert "production-like deployment (ENV_NAME=production, DEBUG false)" in result.stderr
    assert "WARNING crm.access request_id=- access control: mode=off" in result.stdout


@pytest.mark.parametrize(
    ("env_name", "debug", "enabled", "address", "ids"),
    [
        ("production", True, False, "", []),
        ("production", False, True, "", []),
        ("production", False, True, "http://plugin-auth:4000", []),
        ("production", True, False, "http://plugin-auth:4000", ["crm.W002"]),
        ("development", False, False, "", []),
        ("development", False, False, "http://plugin-auth:4000", ["crm.W002"]),
        ("staging", False, False, "", ["crm.W001"]),
    ],
)
def test_no_warning_when_guarded_debugging_or_developing(
    settings, env_name, debug, enabled, address, ids
):
    settings.ENV_NAME = env_name
    settings.DEBUG = debug
    settings.PLUGIN_AUTH_ENABLED = enabled
    settings.PLUGIN_AUTH_ADDRESS = address

    assert [message.id for message in checks.access_control()] == ids


def test_the_start_up_line_names_the_mode_and_warns_when_off(settings, caplog):
    settings.ENV_NAME = "production"
    settings.DEBUG = False
    settings.PLUGIN_AUTH_ENABLED = False
    with caplog.at_level("INFO", logger="crm.access"):
        checks.log_mode()
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("WARNING", "access control: mode=off (every /v1 call is allowed)")
    ]

    caplog.clear()
    settings.ENV_NAME = "development"
    with caplog.at_level("INFO", logger="crm.access"):
        checks.log_mode()
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("INFO", "access control: mode=off")
    ]

    caplog.clear()
    settings.PLUGIN_AUTH_ENABLED = True
    settings.PLUGIN_AUTH_ADDRESS = "http://svc:secret@plugin-auth:4000/?token=x"
    with caplog.at_level("INFO", logger="crm.access"):
        checks.log_mode()
    assert caplog.records[0].levelname == "INFO"
    assert caplog.records[0].getMessage() == (
        "access control: mode=access_manager address=http://plugin-auth:4000/ "
        "product=plugin-crm signatureVerification=off"
    )


# --- Admin login lockout (django-axes) ----------------------------------------------------------


@pytest.fixture
def staff(db):
    return get_user_model().objects.create_user(
        "clerk", password="right-pass-123", is_staff=True, is_superuser=True
    )


def _log_in(client, username, password):
    return client.post("/admin/login/?next=/admin/", {"username": username, "password": password})


def test_admin_login_is_locked_after_repeated_failures(client, staff, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _log_in(client, "clerk", "wrong").status_code == 200  # the form again
    assert _log_in(client, "clerk", "wrong").status_code == 429  # the limit: locked

    locked = _log_in(client, "clerk", "right-pass-123")

    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session


def test_a_lockout_is_per_username_and_address(client, staff, settings, db):
    get_user_model().objects.create_user("other", password="other-pass-123", is_staff=True)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _log_in(client, "clerk", "wrong")

    assert _log_in(client, "other", "other-pass-123").status_code == 302
    from_elsewhere = client.post(
        "/admin/login/?next=/admin/",
        {"username": "clerk", "password": "right-pass-123"},
        REMOTE_ADDR="10.9.8.7",
    )
    assert from_elsewhere.status_code == 302


def test_a_success_before_the_limit_resets_the_count(client, staff, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _log_in(client, "clerk", "wrong")
    assert _log_in(client, "clerk", "right-pass-123").status_code == 302
    client.logout()

    assert _log_in(client, "clerk", "wrong").status_code == 200  # counting from zero again


# --- CORS -----------------------------------------------------------------------------------------


def _preflight(client, origin):
    return client.options(
        "/v1/holders",
        HTTP_ORIGIN=origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization,x-organization-id",
    )


def test_cors_is_closed_by_default(client, db):
    response = _preflight(client, "https://evil.example")

    assert "Access-Control-Allow-Origin" not in response


def test_cors_allows_the_configured_origins_only(client, settings, db):
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example.com"]

    allowed = _preflight(client, "https://app.example.com")
    other = _preflight(client, "https://evil.example")

    assert allowed["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert "x-organization-id" in allowed["Access-Control-Allow-Headers"]
    assert "Access-Control-Allow-Credentials" not in allowed
    assert "Access-Control-Allow-Origin" not in other


# --- Security headers on every response ----------------------------------------------------------

BASELINE = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        (
            "get",
            "/v1/holders",
            {"HTTP_X_ORGANIZATION_ID": "0196a3f4-1c2b-7cde-8f00-00000000000a"},
            200,
        ),
        ("get", "/v1/holders", {}, 400),
        ("get", "/v1/nowhere", {}, 404),
        ("post", "/health", {}, 405),
        ("post", "/v1/holders", {"CONTENT_LENGTH": str(2 * 1024 * 1024)}, 413),
        ("get", "/health", {}, 200),
        ("get", "/readyz", {}, 200),
    ],
)
def test_api_responses_carry_the_security_headers(client, db, method, path, kwargs, status):
    response = getattr(client, method)(path, **kwargs)

    assert response.status_code == status
    for name, value in BASELINE.items():
        assert response[name] == value, name
    assert response["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"
    assert response["Cache-Control"] == "no-store"


def test_a_401_carries_them_too(client, settings, db):
    settings.PLUGIN_AUTH_ENABLED = True

    response = client.get(
        "/v1/holders", HTTP_X_ORGANIZATION_ID="0196a3f4-1c2b-7cde-8f00-00000000000a"
    )

    assert response.status_code == 401
    assert response["X-Frame-Options"] == "DENY"
    assert response["Cache-Control"] == "no-store"


@pytest.mark.parametrize("path", ["/admin/login/", "/swagger/index.html"])
def test_html_pages_carry_the_baseline_headers(client, db, path):
    response = client.get(path)

    assert response.status_code == 200
    for name, value in BASELINE.items():
        if name == "Cross-Origin-Opener-Policy" and path.startswith("/swagger"):
            continue  # drf-spectacular's UI sets its own (for its OAuth2 pop-up); it is kept
        assert response[name] == value, name


def test_hsts_once_configured(client, settings, db):
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True

    response = client.get("/health", secure=True)

    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
