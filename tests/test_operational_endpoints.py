"""Public operational endpoints: /health, /version, /readyz, Swagger UI and its OpenAPI doc."""

import datetime as dt
import json

from django.db import OperationalError


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


class _DownConnection:
    def cursor(self):
        raise OperationalError("down")


def test_readyz_is_503_when_the_database_fails(client, monkeypatch):
    monkeypatch.setattr("crm.api.views.connection", _DownConnection())

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["status"] == "unhealthy"


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
