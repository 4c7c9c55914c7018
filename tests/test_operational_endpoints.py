"""Public operational endpoints: /health, /version, /readyz, Swagger UI and its OpenAPI doc."""

import datetime as dt
import json

import environ


def test_health_is_plain_text_healthy(client):
    response = client.get("/health")

    assert response.status_code == 200
    assert response.content == b"healthy"
    assert response["Content-Type"].startswith("text/plain")


def test_version_reports_version_and_request_date(client, settings):
    settings.VERSION = "9.9.9"

    body = client.get("/version").json()

    assert body["version"] == "9.9.9"
    assert dt.datetime.fromisoformat(body["requestDate"].replace("Z", "+00:00"))


def test_readyz_is_200_when_the_database_answers(client, db):
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json()["status"] == "healthy"
    assert response.json()["checks"]["database"]["status"] == "up"


def _unreachable_database():
    """A real connection (the production backend, `crm.db.postgresql`) to a PostgreSQL that is
    not there: a loopback port nothing listens on, so connecting is refused at once. It has
    everything `readyz` reads (`settings_dict`, `vendor`, `alias`); only the server is missing."""
    from django.db import connections

    from crm.db.postgresql.base import DatabaseWrapper
    from tests.servers import free_port

    database = environ.Env.db_url_config(f"postgres://crm@127.0.0.1:{free_port()}/crm")
    database.update(ENGINE="crm.db.postgresql", OPTIONS={"connect_timeout": 2})
    settings_dict = connections.configure_settings({"default": database})["default"]
    return DatabaseWrapper(settings_dict, "default")


def test_readyz_is_503_when_the_database_fails(client, monkeypatch, caplog, django_db_blocker):
    down = _unreachable_database()
    monkeypatch.setattr("crm.api.views.connection", down)

    # Not the suite's database: a server of its own (absent), so pytest-django's block is lifted.
    with django_db_blocker.unblock(), caplog.at_level("WARNING", logger="crm.api.views"):
        response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["status"] == "unhealthy"
    assert response.json()["checks"] == {"database": {"status": "down"}}
    # The probe failed on the database itself (connection refused), nothing else.
    assert [r.getMessage() for r in caplog.records if r.name == "crm.api.views"] == [
        "readiness check failed: OperationalError"
    ]
    assert down.connection is None  # the probe used a connection of its own


def test_readyz_lets_a_bug_in_the_probe_be_a_500(client, monkeypatch):
    """Only database errors mean "not ready"; anything else is a bug, not an outage."""

    class Broken:  # lacks what `readyz` reads
        vendor = "postgresql"

    monkeypatch.setattr("crm.api.views.connection", Broken())
    client.raise_request_exception = False

    response = client.get("/readyz")

    assert response.status_code == 500
    assert response.json()["code"] == "CRM-0014"


def test_public_endpoints_need_no_organization_header(client, db):
    for path in ("/health", "/version", "/readyz", "/swagger/index.html", "/swagger/doc.json"):
        assert client.get(path).status_code == 200, path


def test_swagger_redirects_to_index(client):
    response = client.get("/swagger")

    assert response.status_code == 301
    assert response["Location"] == "/swagger/index.html"


def test_swagger_ui_renders(client):
    response = client.get("/swagger/index.html")

    assert b"swagger-ui" in response.content


def test_openapi_document_lists_every_endpoint(client):
    schema = json.loads(client.get("/swagger/doc.json").content)

    paths = schema["paths"]
    assert {"get", "post"} <= set(paths["/v1/holders"])
    assert {"get", "patch", "delete"} <= set(paths["/v1/holders/{id}"])
    parameters = {p["name"] for p in paths["/v1/holders"]["get"]["parameters"]}
    assert {
        "X-Organization-Id",
        "page",
        "limit",
        "sort_order",
        "document",
        "external_id",
    } <= parameters
