"""`python -m bench.tables SMALL.json LARGE.json`: the figures of two `bench.run --json` results
as Markdown tables for docs/performance.md (each run's table, then p50 at the large size over
p50 at the small size per list and search endpoint, the docs/api.md §11 flatness target, alone
and under load)."""

import json
import sys
from pathlib import Path

FLAT_TARGET = 1.5


def load(path: str) -> dict:
    return json.loads(Path(path).read_text())


def run_table(data: dict) -> str:
    lines = [
        f"**{data['holders']:,} holders** (import: {data.get('load_seconds', 0):,.0f} s; "
        f"concurrency {data['concurrency']})",
        "",
        "| endpoint | req/s | p50 ms | p99 ms | errors | queries | ÷ bare | ÷ floor |",
        "|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for row in data["endpoints"]:
        queries = "–" if row["queries"] is None else row["queries"]
        lines.append(
            f"| {row['endpoint']} | {row['rps']:,.0f} | {row['p50_ms']:.1f} | "
            f"{row['p99_ms']:.1f} | {row['errors']} | {queries} | {row['of_bare']:.1%} | "
            f"{row['of_floor']:.1%} |"
        )
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
    return "\n".join(lines)


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
