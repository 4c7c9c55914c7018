"""`python -m bench.tables SMALL.json LARGE.json`: the figures of two `bench.run --json` results
as Markdown tables for docs/performance.md (each run's table, then p50 at the large size over
p50 at the small size per list and search endpoint, the docs/api.md §11 flatness target, alone
and under load)."""

import json
import sys
from dataclasses import dataclass
from pathlib import Path

FLAT_TARGET = 1.5
VERSION_READ_BOUND = 1.5  # issue 27: a read of the past within 1.5x of a GET of the record
EVENTS_TARGET = 0.90  # issue 13 / 29: create with events on (relay running) over events off

# The floors (bench/floors.py) as the benchmark names them.
BARE = "floor: bare JSON view"
SELECT = "floor: raw SELECT by pk"
INSERT = "floor: raw INSERT"
UPDATE = "floor: raw UPDATE"
ALIAS_INSERT = "floor: raw alias INSERT"
PAGE_10 = "floor: raw page of 10"
PAGE_100 = "floor: raw page of 100"
PAGE_DEEP_OFFSET = "floor: raw page of 10, deep offset"
PAGE_DEEP_CURSOR = "floor: raw page of 10, deep cursor"
ALIASES_BY_HOLDER = "floor: raw aliases by holder"
ALIASES_BY_ACCOUNT = "floor: raw aliases by account"

# The reads of the past (issue 27) and the GETs they are held against.
HOLDER_VERSION = "get holder version 1"
HOLDER_AS_OF = "get holder as_of"
HOLDER_VERSIONS = "list holder versions"
ALIAS_VERSION = "get alias version 1"
ALIAS_AS_OF = "get alias as_of"

_FLOOR_OF = {
    "get holder": SELECT,
    "create holder": INSERT,
    "patch holder": UPDATE,
    "list holders page 1": PAGE_10,
    "list holders page 1, limit 100": PAGE_100,
    "aliases by holder": ALIASES_BY_HOLDER,
    "aliases by account": ALIASES_BY_ACCOUNT,
    "create alias": ALIAS_INSERT,
    HOLDER_VERSION: "get holder",
    HOLDER_AS_OF: "get holder",
    HOLDER_VERSIONS: "get holder",
    ALIAS_VERSION: "get alias",
    ALIAS_AS_OF: "get alias",
}


def floor_of(endpoint: str) -> str | None:
    """What `endpoint`'s throughput is divided by in the tables' `÷ floor` column: its own
    floor (the thinnest view doing its database work), the GET of the record for a read of
    the past, the raw SELECT by pk for the searches and pages without a floor of their own
    (searches, banking account, admin pages, get alias); None for a floor."""
    if endpoint.startswith("floor"):
        return None
    if endpoint in _FLOOR_OF:
        return _FLOOR_OF[endpoint]
    if endpoint.startswith("list holders page") and endpoint.endswith("(offset)"):
        return PAGE_DEEP_OFFSET
    if endpoint.startswith("list holders page") and endpoint.endswith("(cursor)"):
        return PAGE_DEEP_CURSOR
    return SELECT


@dataclass(frozen=True)
class Target:
    """`endpoint`'s throughput at least `ratio` of `reference`'s (a floor or a GET)."""

    endpoint: str
    reference: str
    ratio: float
    source: str


TARGETS = (
    Target("get holder", SELECT, 0.60, "issue 27: GET holder unchanged"),
    Target("create holder", INSERT, 0.45, "issue 27"),
    Target("create holder", INSERT, 0.65, "issue 29"),
    Target("patch holder", UPDATE, 0.40, "issue 29"),
    Target("list holders page 1, limit 100", PAGE_100, 0.25, "issue 29"),
    Target("list holders page 1", PAGE_10, 0.50, "issue 29"),
    Target("create alias", ALIAS_INSERT, 0.50, "issue 29"),
    *(
        Target(read, get, 1 / VERSION_READ_BOUND, "issue 27, judged at 1M: within 1.5x")
        for read, get in (
            (HOLDER_VERSION, "get holder"),
            (HOLDER_AS_OF, "get holder"),
            (ALIAS_VERSION, "get alias"),
            (ALIAS_AS_OF, "get alias"),
        )
    ),
    Target(
        HOLDER_VERSIONS,
        "get holder",
        1 / VERSION_READ_BOUND,
        "issue 27 names version reads; the list held to the same bound",
    ),
)

# The (endpoint, reference) pairs measured in interleaved rounds, in the targets' order.
PAIRS = tuple(dict.fromkeys((target.endpoint, target.reference) for target in TARGETS))


def load(path: str) -> dict:
    return json.loads(Path(path).read_text())


def run_table(data: dict) -> str:
    lines = [
        f"**{data['holders']:,} holders** (import: {data.get('load_seconds', 0):,.0f} s; "
        f"concurrency {data['concurrency']})",
        "",
        "| endpoint | req/s | p50 ms | p99 ms | errors | queries | ÷ bare | ÷ floor | floor |",
        "|---|--:|--:|--:|--:|--:|--:|--:|---|",
    ]
    for row in data["endpoints"]:
        queries = "–" if row["queries"] is None else row["queries"]
        of_floor = "–" if row["of_floor"] is None else f"{row['of_floor']:.1%}"
        lines.append(
            f"| {row['endpoint']} | {row['rps']:,.0f} | {row['p50_ms']:.1f} | "
            f"{row['p99_ms']:.1f} | {row['errors']} | {queries} | {row['of_bare']:.1%} | "
            f"{of_floor} | {row.get('floor') or '–'} |"
        )
    if "load_seconds" in data:
        lines += ["", import_line(data)]
    if data.get("version_storage"):
        lines += ["", storage_line(data["version_storage"])]
    paired = [
        f"{endpoint} ÷ {pair['floor']}: "
        + ", ".join(f"{ratio:.1%}" for ratio in pair["round_ratios"])
        + f" (median **{pair['median']:.1%}**)"
        for endpoint, pair in data.get("paired", {}).items()
    ]
    if paired:
        lines += ["", "Against their floors in interleaved rounds: " + "; ".join(paired) + "."]
    if "events" in data:
        ev = data["events"]
        relay = "relay running" if ev["relay"] else "no broker"
        outbox = ""
        if "outbox_only_rps" in ev:
            outbox = (
                f"on without a relay: {ev['outbox_only_rps']:,.0f} req/s "
                f"(median of the rounds' ratios {ev['outbox_ratio']:.1%}); "
            )
        rounds = ", ".join(f"{ratio:.1%}" for ratio in ev.get("round_ratios", []))
        mean = f", mean {ev['mean_ratio']:.1%}" if "mean_ratio" in ev else ""
        lines += [
            "",
            f"Create holder with change events off: {ev['off_rps']:,.0f} req/s; {outbox}on "
            f"({relay}): {ev['on_rps']:,.0f} req/s; on/off per round {rounds}: median "
            f"{ev['ratio']:.1%}{mean}.",
        ]
    soak = data["soak"]
    before, after = soak["worker_memory_mib"]
    lines += [
        "",
        f"Soak: {soak['seconds']:.0f} s of `get holder` at concurrency 32: {soak['rps']:,.0f} "
        f"req/s, {soak['errors']} errors, worker memory {before} → {after} MiB.",
    ]
    if "verdicts" in data:
        lines += ["", "Targets:", "", *(f"- {line}" for line in data["verdicts"])]
    return "\n".join(lines)


def verdicts(data: dict) -> list[str]:
    """One line per target of `TARGETS` (and the change events'), judged on the median of the
    interleaved rounds when the run has them for that pair, else on the single pass of the
    main table; "meets" or "BELOW". A target whose endpoint or reference was not measured is
    "not measured"."""
    rps = {row["endpoint"]: row["rps"] for row in data.get("endpoints", [])}
    paired = data.get("paired", {})
    lines = []
    for target in TARGETS:
        pair = paired.get(target.endpoint)
        if pair is not None and pair["floor"] == target.reference:
            measured = pair["median"]
            how = f"median of {len(pair['round_ratios'])} interleaved rounds"
        elif rps.get(target.endpoint) and rps.get(target.reference):
            measured = rps[target.endpoint] / rps[target.reference]
            how = "single pass"
        else:
            lines.append(_verdict_line(target, None, ""))
            continue
        lines.append(_verdict_line(target, measured, how))
    if "events" in data:
        events = data["events"]
        verdict = "meets" if events["ratio"] >= EVENTS_TARGET else "BELOW"
        lines.append(
            f"create holder, events on (relay) ÷ off ≥ {EVENTS_TARGET:.0%} (issue 29): median "
            f"of {events['rounds']} rounds {events['ratio']:.1%}: {verdict}"
        )
    return lines


def _verdict_line(target: Target, measured: float | None, how: str) -> str:
    head = f"{target.endpoint} ÷ {target.reference} ≥ {target.ratio:.1%} ({target.source})"
    if measured is None:
        return f"{head}: not measured"
    verdict = "meets" if measured >= target.ratio else "BELOW"
    return f"{head}: {how} {measured:.1%}: {verdict}"


def version_storage(
    *, holders: int, rows: int, total_bytes: int, kinds: dict[str, tuple[int, int]]
) -> dict:
    """What the versions cost on disk after the import: `total_bytes` the versions table with
    its TOAST and indexes (`pg_total_relation_size`) over its `rows`, and per holder (a holder
    and its alias each got version 1). `kinds`: per object type, (rows, sum of the rows'
    `pg_column_size`), the average row without the index and page overhead."""
    return {
        "rows": rows,
        "total_bytes": total_bytes,
        "bytes_per_version": round(total_bytes / rows) if rows else None,
        "bytes_per_holder": round(total_bytes / holders) if holders else None,
        "row_bytes": {kind: round(size / count) for kind, (count, size) in kinds.items() if count},
        "rows_by_kind": {kind: count for kind, (count, _) in kinds.items()},
    }


def storage_line(storage: dict) -> str:
    kinds = ", ".join(f"{kind} {size:,} B" for kind, size in sorted(storage["row_bytes"].items()))
    return (
        f"Versions after the import: {storage['rows']:,} rows, "
        f"{storage['total_bytes'] / 2**20:,.1f} MiB with TOAST and indexes: "
        f"{storage['bytes_per_version']:,} bytes per version (index share included; the rows "
        f"alone average {kinds}), {storage['bytes_per_holder']:,} bytes per holder (its "
        "version 1 and its alias's)."
    )


def import_line(data: dict) -> str:
    """The import's rate (lines/s: a line is a holder and its alias) and whether it wrote
    version 1 of every record it created."""
    seconds = data["load_seconds"]
    rate = data["holders"] / seconds if seconds else float("nan")
    line = (
        f"Import, versions on: {data['holders']:,} lines (a holder and its alias each) in "
        f"{seconds:,.1f} s: {rate:,.0f} lines/s."
    )
    storage = data.get("version_storage")
    if storage:
        kinds = storage["rows_by_kind"]
        line += (
            f" Version 1 written for {kinds.get('holder', 0):,} holders and "
            f"{kinds.get('alias', 0):,} aliases."
        )
    return line


def is_list_or_search(name: str) -> bool:
    return name.startswith(("list", "search", "aliases by", "admin search"))


def ratio_table(small: dict, large: dict) -> str:
    """Per list and search endpoint, p50 at the large size over p50 at the small size: alone
    (concurrency 1, the service time; the target is judged on it when both runs measured
    it) and under load (where a saturated endpoint's p50 is mostly queueing)."""
    large_rows = {row["endpoint"]: row for row in large["endpoints"]}
    sizes = f"{small['holders']:,} → {large['holders']:,}"
    lines = [
        f"| list / search | p50 alone, {sizes} (ms) | ratio | ≤ {FLAT_TARGET}× "
        f"| p50 under load, {sizes} (ms) | ratio |",
        "|---|--:|--:|:-:|--:|--:|",
    ]
    for row in small["endpoints"]:
        other = large_rows.get(row["endpoint"])
        if other is None or not is_list_or_search(row["endpoint"]):
            continue
        loaded = _ratio(row["p50_ms"], other["p50_ms"])
        alone = _ratio(row.get("p50_alone_ms"), other.get("p50_alone_ms"))
        judged = loaded if alone is None else alone
        verdict = "yes" if judged <= FLAT_TARGET else "**no**"
        alone_cells = (
            "– | –"
            if alone is None
            else f"{row['p50_alone_ms']:.1f} → {other['p50_alone_ms']:.1f} | {alone:.2f}×"
        )
        lines.append(
            f"| {row['endpoint']} | {alone_cells} | {verdict} | "
            f"{row['p50_ms']:.1f} → {other['p50_ms']:.1f} | {loaded:.2f}× |"
        )
    return "\n".join(lines)


def _ratio(small: float | None, large: float | None) -> float | None:
    if small is None or large is None:
        return None
    return large / small if small else float("nan")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    small, large = load(sys.argv[1]), load(sys.argv[2])
    print(run_table(small), run_table(large), ratio_table(small, large), sep="\n\n")
