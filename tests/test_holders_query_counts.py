"""Constant query counts whatever the page size (docs/api.md §11): no N+1 on list or detail."""

import pytest

from tests.factories import HolderFactory


@pytest.mark.parametrize("size", [5, 50])
def test_holder_list_runs_a_constant_number_of_queries(api, django_assert_max_num_queries, size):
    for _ in range(size):
        HolderFactory(metadata={"k": "v"})

    with django_assert_max_num_queries(1):
        response = api.get(f"/v1/holders?limit={size}&metadata.k=v")

    assert len(response.json()["items"]) == size


def test_holder_detail_runs_one_query(api, django_assert_max_num_queries):
    holder = HolderFactory()

    with django_assert_max_num_queries(1):
        assert api.get(f"/v1/holders/{holder.id}").status_code == 200
