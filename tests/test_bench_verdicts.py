"""`bench.tables`: each endpoint against its own floor, the targets' verdict lines (issues 27
and 29), the versions' storage and the import rate. Pure functions on `bench.run --json`
figures; no timing is asserted."""

import pytest

from bench import run, tables
from bench.tables import TARGETS, floor_of, verdicts


def _endpoint_names(holders: int = 10_000) -> list[str]:
    measured = run.endpoints(
        holders,
        ids=["01a25072-3d14-759f-9798-2f3ab0a60f06"],
        cookie="sessionid=x",
        boundary="01a25072-3d14-759f-9798-2f3ab0a60f06",
        aliases=[("01a25072-3d14-759f-9798-2f3ab0a60f06", "01a25072-3d29-71f6-a9f3-7a5c14e402d9")],
        as_of="2026-12-07T12:00:00Z",
    )
    return [name for name, _, _ in measured]


def test_every_write_and_page_of_issue_29_has_its_own_floor():
    assert floor_of("patch holder") == tables.UPDATE
    assert floor_of("create alias") == tables.ALIAS_INSERT
    assert floor_of("create holder") == tables.INSERT
    assert floor_of("list holders page 1") == tables.PAGE_10
    assert floor_of("list holders page 1, limit 100") == tables.PAGE_100
    assert floor_of("list holders page 1000 (offset)") == tables.PAGE_DEEP_OFFSET
    assert floor_of("list holders page 30 (cursor)") == tables.PAGE_DEEP_CURSOR
    assert floor_of("aliases by holder") == tables.ALIASES_BY_HOLDER
    assert floor_of("aliases by account") == tables.ALIASES_BY_ACCOUNT
    assert floor_of("get holder") == tables.SELECT
    assert floor_of(tables.PAGE_100) is None  # a floor has none


def test_reads_of_the_past_are_held_against_the_get_of_their_record():
    assert floor_of(tables.HOLDER_VERSION) == "get holder"
    assert floor_of(tables.HOLDER_AS_OF) == "get holder"
    assert floor_of(tables.HOLDER_VERSIONS) == "get holder"
    assert floor_of(tables.ALIAS_VERSION) == "get alias"
    assert floor_of(tables.ALIAS_AS_OF) == "get alias"


@pytest.mark.parametrize("holders", [300, 10_000, 1_000_000])
def test_the_benchmark_measures_every_floor_and_every_targets_pair(holders):
    names = _endpoint_names(holders)
    assert len(names) == len(set(names))
    for name in names:
        floor = floor_of(name)
        assert floor is None or floor in names, name
    for target in TARGETS:
        assert target.endpoint in names and target.reference in names, target
    assert set(tables.PAIRS) == {(t.endpoint, t.reference) for t in TARGETS}


def _data(rps: dict[str, float], paired: dict | None = None, events: dict | None = None):
    data = {"endpoints": [{"endpoint": name, "rps": value} for name, value in rps.items()]}
    if paired is not None:
        data["paired"] = paired
    if events is not None:
        data["events"] = events
    return data


def _line(lines: list[str], start: str) -> list[str]:
    return [line for line in lines if line.startswith(start)]


def test_a_target_is_judged_on_the_median_of_its_rounds_over_the_single_pass():
    data = _data(
        {"patch holder": 100.0, tables.UPDATE: 1000.0},  # 10% in the single pass
        paired={
            "patch holder": {
                "floor": tables.UPDATE,
                "round_ratios": [0.3, 0.45, 0.5],
                "median": 0.45,
            }
        },
    )
    [line] = _line(verdicts(data), "patch holder")
    assert "median of 3 interleaved rounds 45.0%" in line
    assert line.endswith(": meets")


def test_without_rounds_a_target_is_judged_on_the_single_pass():
    data = _data({"list holders page 1": 49.0, tables.PAGE_10: 100.0})
    [line] = _line(verdicts(data), "list holders page 1 ÷")
    assert "single pass 49.0%" in line
    assert line.endswith(": BELOW")


def test_each_target_of_one_pair_gets_its_own_verdict():
    pair = {"floor": tables.INSERT, "round_ratios": [0.5], "median": 0.5}
    lines = _line(verdicts(_data({}, paired={"create holder": pair})), "create holder ÷")
    assert [line.rsplit(": ", 1)[1] for line in lines] == ["meets", "BELOW"]  # ≥ 45%, ≥ 65%
    assert "(issue 27)" in lines[0] and "(issue 29)" in lines[1]


def test_a_version_read_within_one_and_a_half_gets_meets():
    # 1 / 1.5 of a GET's throughput: the bound itself meets, just under it does not.
    at_bound = _data({tables.HOLDER_VERSION: 200.0, "get holder": 300.0})
    under = _data({tables.HOLDER_VERSION: 199.0, "get holder": 300.0})
    assert _line(verdicts(at_bound), tables.HOLDER_VERSION)[0].endswith("meets")
    assert _line(verdicts(under), tables.HOLDER_VERSION)[0].endswith("BELOW")


def test_a_target_whose_figures_are_missing_says_so():
    lines = verdicts(_data({"get holder": 100.0}))
    assert _line(lines, "get holder ÷")[0].endswith(": not measured")
    assert len(lines) == len(TARGETS)  # no events measured: no events line


def test_the_events_verdict_is_the_median_of_its_rounds():
    events = {"rounds": 9, "ratio": 0.899}
    [line] = _line(verdicts(_data({}, events=events)), "create holder, events on")
    assert "median of 9 rounds 89.9%" in line and line.endswith("BELOW")


def test_version_storage_per_version_and_per_holder():
    storage = tables.version_storage(
        holders=10_000,
        rows=20_000,
        total_bytes=20_000 * 900,
        kinds={"holder": (10_000, 8_880_000), "alias": (10_000, 7_650_000)},
    )
    assert storage["bytes_per_version"] == 900
    assert storage["bytes_per_holder"] == 1800
    assert storage["row_bytes"] == {"holder": 888, "alias": 765}
    line = tables.storage_line(storage)
    assert "900 bytes per version" in line and "1,800 bytes per holder" in line


def test_import_line_gives_the_rate_and_the_version_ones_written():
    storage = tables.version_storage(
        holders=10_000,
        rows=20_000,
        total_bytes=1,
        kinds={"holder": (10_000, 1), "alias": (10_000, 1)},
    )
    line = tables.import_line({"holders": 10_000, "load_seconds": 8.0, "version_storage": storage})
    assert "1,250 lines/s" in line
    assert "Version 1 written for 10,000 holders and 10,000 aliases" in line


def test_run_table_names_each_floor_and_reads_an_older_run():
    row = {
        "endpoint": "patch holder",
        "rps": 300.0,
        "p50_ms": 1.0,
        "p99_ms": 2.0,
        "errors": 0,
        "queries": 8,
        "of_bare": 0.1,
        "of_floor": 0.4,
    }
    older = {
        "holders": 10_000,
        "concurrency": 16,
        "endpoints": [row],
        "soak": {"seconds": 60, "rps": 1.0, "errors": 0, "worker_memory_mib": [1, 1]},
    }
    assert "| patch holder | 300 | 1.0 | 2.0 | 0 | 8 | 10.0% | 40.0% | – |" in tables.run_table(
        older
    )
    newer = {
        **older,
        "endpoints": [{**row, "floor": tables.UPDATE}],
        "verdicts": [
            "patch holder ÷ floor: raw UPDATE ≥ 40.0% (issue 29): single pass 40.0%: meets"
        ],
    }
    table = tables.run_table(newer)
    assert f"| 40.0% | {tables.UPDATE} |" in table
    assert (
        "- patch holder ÷ floor: raw UPDATE ≥ 40.0% (issue 29): single pass 40.0%: meets" in table
    )
