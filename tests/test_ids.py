"""`crm.ids`: UUIDv7 keys from uuid-utils (docs/api.md §3.1: ids are time-ordered UUIDv7, and
lists order by them). The values are the standard library's `uuid.UUID`, strictly increasing
within a process (thousands per millisecond included), carry the current time, and forked
workers (the importer's) never repeat one another's ids."""

import itertools
import multiprocessing
import time
import uuid

from crm.ids import parse_uuid, uuid7


def test_uuid7_is_a_stdlib_uuid_of_version_7():
    value = uuid7()

    assert type(value) is uuid.UUID
    assert value.version == 7
    assert value.variant == uuid.RFC_4122
    assert uuid.UUID(str(value)) == value


def test_uuid7_is_strictly_increasing_within_a_millisecond():
    values = [uuid7() for _ in range(20_000)]

    assert all(earlier < later for earlier, later in itertools.pairwise(values))
    assert sorted(map(str, values)) == [str(value) for value in values]  # text order too
    milliseconds = [value.int >> 80 for value in values]
    assert len(set(milliseconds)) < len(values)  # several ids shared a millisecond


def test_uuid7_carries_the_clock_and_never_runs_ahead_of_it():
    before = time.time_ns() // 1_000_000
    values = [uuid7() for _ in range(20_000)]
    after = time.time_ns() // 1_000_000

    assert before <= values[0].int >> 80 <= values[-1].int >> 80 <= after


def _ids_in_child(queue) -> None:
    queue.put([uuid7() for _ in range(2_000)])


def test_forked_processes_never_repeat_an_id():
    parent = [uuid7() for _ in range(100)]  # the generator's state the children inherit
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    children = [context.Process(target=_ids_in_child, args=(queue,)) for _ in range(3)]
    for child in children:
        child.start()
    found = [queue.get(timeout=60) for _ in children]
    for child in children:
        child.join(timeout=60)

    every = parent + [value for values in found for value in values]
    assert len(every) == 100 + 3 * 2_000
    assert len(set(every)) == len(every)


def test_parse_uuid_takes_canonical_text_only():
    value = uuid7()

    assert parse_uuid(str(value)) == value
    assert parse_uuid(str(value).upper()) == value
    assert parse_uuid(value.hex) is None
    assert parse_uuid("not-a-uuid-but-thirty-six-characters") is None
    assert parse_uuid(None) is None
