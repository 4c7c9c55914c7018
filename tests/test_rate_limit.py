"""Optional per-organization rate limit: off by default; over the limit -> 429 CRM-0906."""

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _fresh_counters():
    cache.clear()
    yield
    cache.clear()


def test_no_limit_by_default(api):
    for _ in range(20):
        assert api.get("/v1/holders").status_code == 200


def test_over_the_limit_is_429_crm_0906_with_retry_after(api, settings):
    settings.API_RATE_LIMIT = "3/min"

    statuses = [api.get("/v1/holders").status_code for _ in range(4)]

    assert statuses == [200, 200, 200, 429]
    response = api.get("/v1/holders")
    assert response.json()["code"] == "CRM-0906"
    assert int(response["Retry-After"]) > 0


def test_the_limit_is_counted_per_organization(api, api_b, settings):
    settings.API_RATE_LIMIT = "2/min"
    api.get("/v1/holders")
    api.get("/v1/holders")

    assert api.get("/v1/holders").status_code == 429
    assert api_b.get("/v1/holders").status_code == 200
