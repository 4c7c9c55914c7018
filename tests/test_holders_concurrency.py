"""Concurrent duplicate POSTs: the database constraint decides — one 201, the rest 409
CRM-0010, never a 500 and never two live rows (docs/api.md §5)."""

import threading

import pytest
from django.db import connection

from holders.models import Holder
from tests.conftest import ORG_A, OrgClient

THREADS = 6


@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicate_documents_give_one_201_and_409s():
    barrier = threading.Barrier(THREADS)
    statuses: list[int] = []
    lock = threading.Lock()

    def post() -> None:
        client = OrgClient(ORG_A)
        barrier.wait()
        try:
            response = client.post(
                "/v1/holders",
                {"type": "NATURAL_PERSON", "name": "Race", "document": "123.456.789-00"},
            )
            with lock:
                statuses.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == [201] + [409] * (THREADS - 1)
    assert Holder.objects.count() == 1
