"""`bench.tables.ratio_table`: the 10k-vs-1M flatness verdict is judged on the p50 alone
(service time) when both runs measured it, on the p50 under load otherwise."""

from bench.tables import ratio_table


def _run(holders: int, *rows: tuple[str, float, float | None]) -> dict:
    return {
        "holders": holders,
        "endpoints": [
            {"endpoint": name, "p50_ms": loaded, "p50_alone_ms": alone}
            for name, loaded, alone in rows
        ],
    }


def _verdicts(table: str) -> dict[str, str]:
    cells = [line.split("|") for line in table.splitlines()[2:]]
    return {row[1].strip(): row[4].strip() for row in cells}


def test_verdict_on_the_p50_alone_when_both_runs_have_it():
    small = _run(10_000, ("search by name", 100.0, 10.0), ("admin search", 100.0, 10.0))
    large = _run(1_000_000, ("search by name", 400.0, 12.0), ("admin search", 110.0, 20.0))
    verdicts = _verdicts(ratio_table(small, large))
    assert verdicts == {"search by name": "yes", "admin search": "**no**"}


def test_verdict_under_load_without_a_p50_alone():
    small = _run(10_000, ("list holders", 10.0, None), ("create holder", 10.0, None))
    large = _run(1_000_000, ("list holders", 16.0, None), ("create holder", 99.0, None))
    table = ratio_table(small, large)
    assert _verdicts(table) == {"list holders": "**no**"}  # create is neither list nor search
    assert "| – | – |" in table


def test_flatness_takes_each_ratio_within_a_round_then_the_median():
    from bench.flat import flatness

    rounds = [
        {10: {"list": 2.0}, 1000: {"list": 2.2}},  # 1.1
        {10: {"list": 4.0}, 1000: {"list": 8.0}},  # 2.0: a slow moment for the large size
        {10: {"list": 3.0}, 1000: {"list": 3.9}},  # 1.3
    ]
    [(name, pairs, ratio)] = flatness(rounds, 10, 1000)
    assert name == "list"
    assert pairs == [(2.0, 2.2), (4.0, 8.0), (3.0, 3.9)]
    assert ratio == 1.3
