"""Constant query counts whatever the page size (docs/api.md §11): no N+1 on list or detail."""

import pytest

from tests.factories import AliasFactory, HolderFactory


@pytest.mark.parametrize("size", [5, 50, 100])
def test_holder_list_runs_a_constant_number_of_queries(api, django_assert_num_queries, size):
    for _ in range(size):
        HolderFactory(metadata={"k": "v"})

    with django_assert_num_queries(1):
        response = api.get(f"/v1/holders?limit={size}&metadata.k=v")

    assert len(response.json()["items"]) == size


@pytest.mark.parametrize("size", [5, 50])
def test_alias_list_runs_two_queries_whatever_its_size(api, django_assert_num_queries, size):
    party = {"document": "11144477735", "name": "Rep", "role": "LEGAL_REPRESENTATIVE"}
    for _ in range(size):
        AliasFactory(relatedParties=[{**party, "startDate": "2024-01-01"}])

    with django_assert_num_queries(2):  # the page, and its related parties
        response = api.get(f"/v1/aliases?limit={size}")

    assert len(response.json()["items"]) == size
    assert all(len(item["relatedParties"]) == 1 for item in response.json()["items"])


def test_an_empty_alias_page_runs_one_query(api, django_assert_num_queries):
    with django_assert_num_queries(1):
        assert api.get("/v1/aliases").json()["items"] == []


def test_holder_detail_runs_one_query(api, django_assert_max_num_queries):
    holder = HolderFactory()

    with django_assert_max_num_queries(1):
        assert api.get(f"/v1/holders/{holder.id}").status_code == 200
