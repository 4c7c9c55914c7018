"""Races with other sessions: a request made while another transaction holds a row lock
(PostgreSQL), and requests made at once from several threads (tests/test_aliases_rules.py,
tests/test_patch_races.py)."""

import threading
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from django.db import connection


def answer_after_another_session_commits(
    statements: Sequence[tuple[str, list]], request: Callable[[], Any]
) -> Any:
    """Run `request` in a thread while another session has run `statements` (uncommitted,
    holding the row locks they took): the request must wait for a lock (seen in
    `pg_stat_activity`, within 10 s) and must not have answered; the session then commits,
    and the request's answer is returned."""
    other = connection.copy()  # a second session, as another request's would be
    other.set_autocommit(False)
    answers = []

    def make() -> None:
        try:
            answers.append(request())
        finally:
            connection.close()

    try:
        with other.cursor() as cursor:
            for sql, params in statements:
                cursor.execute(sql, params)
        thread = threading.Thread(target=make)
        thread.start()
        with connection.cursor() as cursor:  # bounded: 10 s
            for _ in range(200):
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                    " AND datname = current_database() AND pid <> pg_backend_pid()"
                )
                if cursor.fetchone()[0]:
                    break
                thread.join(0.05)
            else:
                pytest.fail("the request did not wait for the other session's lock")
        assert not answers  # still waiting
        other.commit()
        thread.join(10)
    finally:
        other.close()
    assert len(answers) == 1
    return answers[0]


def concurrently(count: int, request: Callable[[int], Any]) -> list[Any]:
    """`request(i)` for i in 0..count-1, each in a thread of its own (its own connection),
    released together by a barrier; their answers in order. Joined within 30 s each."""
    barrier = threading.Barrier(count)
    answers: list[Any] = [None] * count

    def make(index: int) -> None:
        barrier.wait()
        try:
            answers[index] = request(index)
        finally:
            connection.close()

    threads = [threading.Thread(target=make, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return answers
