"""List parameters (docs/api.md §3.2): page, limit, sort_order, and their error codes."""

import pytest


@pytest.mark.parametrize("page", ["0", "-1", "abc", "1.5", " ", "99999999999999"])
def test_bad_page_is_crm_0016(api, page):
    response = api.get("/v1/holders", {"page": page})

    assert response.status_code == 400
    assert response.json()["code"] == "CRM-0016"
    assert "page" in response.json()["message"]


def test_empty_page_means_the_default(api):
    assert api.get("/v1/holders?page=").json()["page"] == 1


@pytest.mark.parametrize("limit", ["0", "-5", "ten", "2.0"])
def test_bad_limit_is_crm_0016(api, limit):
    response = api.get("/v1/holders", {"limit": limit})

    assert response.status_code == 400
    assert response.json()["code"] == "CRM-0016"
    assert "limit" in response.json()["message"]


def test_limit_over_max_is_crm_0009_naming_the_max(api):
    response = api.get("/v1/holders?limit=101")

    assert response.status_code == 400
    assert response.json()["code"] == "CRM-0009"
    assert "100" in response.json()["message"]


def test_limit_max_is_configurable(api, settings):
    settings.MAX_PAGINATION_LIMIT = 5

    assert api.get("/v1/holders?limit=5").status_code == 200
    assert api.get("/v1/holders?limit=6").json()["code"] == "CRM-0009"


def test_limit_100_is_accepted(api):
    assert api.get("/v1/holders?limit=100").json()["limit"] == 100


@pytest.mark.parametrize("sort_order", ["up", "ascending", "1"])
def test_bad_sort_order_is_crm_0011(api, sort_order):
    response = api.get("/v1/holders", {"sort_order": sort_order})

    assert response.status_code == 400
    assert response.json()["code"] == "CRM-0011"


@pytest.mark.parametrize("sort_order", ["asc", "ASC", "desc", "Desc"])
def test_sort_order_is_case_insensitive(api, sort_order):
    assert api.get("/v1/holders", {"sort_order": sort_order}).status_code == 200
