"""`python -m bench.flat`: the flatness target (docs/api.md §11: every list and search p50 at
1,000,000 holders ≤ 1.5x its p50 at 10,000) judged in one time window.

`make bench` measures the two sizes in two runs half an hour apart; on this shared machine,
whose speed drifts by 10-50% within minutes, the p50 of the same page in the same database
moved that much between two gunicorn starts (admin search by name word alone: 81 and 53 ms at
10k, 55 and 79 ms at 1M, in four starts within five minutes). Here both databases — the ones
`make bench` and `make bench HOLDERS=1000000` loaded and kept — are measured alternately:
in each of `--rounds` rounds, gunicorn serves one size and every list and search endpoint
runs alone (concurrency 1, `--seconds`), then the other size (the order reversed every other
round). Each endpoint's ratio is taken within a round, and judged by the median of the rounds.
"""

import argparse
import json
import statistics
from pathlib import Path

from bench import driver
from bench.run import app_env, drive, endpoints_of, own_server
from bench.tables import FLAT_TARGET, is_list_or_search


def alone_p50s(url: str, holders: int, port: int, seconds: float) -> dict[str, float]:
    """p50 (ms) of every list and search endpoint alone, gunicorn serving database `url`."""
    server = driver.serve(app_env(url, port), port)
    try:
        measured = endpoints_of(url, holders, port)
        p50s = {}
        for name, make, ok in measured:
            if not is_list_or_search(name):
                continue
            drive(port, name, make, ok, concurrency=1, seconds=1)  # warm-up
            result = drive(port, name, make, ok, concurrency=1, seconds=seconds)
            if result.errors:
                raise RuntimeError(f"{name}: {result.errors} errors at {holders:,} holders")
            p50s[name] = result.p50
        return p50s
    finally:
        server.terminate()
        server.wait(timeout=30)


def flatness(
    rounds: list[dict[int, dict[str, float]]], small: int, large: int
) -> list[tuple[str, list[tuple[float, float]], float]]:
    """Per endpoint: its (small, large) p50 in each round, and the median over the rounds of
    the ratio large / small taken within a round."""
    out = []
    for name in rounds[0][small]:
        pairs = [(measured[small][name], measured[large][name]) for measured in rounds]
        out.append((name, pairs, statistics.median(b / a for a, b in pairs)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=3.0, help="per endpoint and size")
    parser.add_argument("--pg-dir", type=Path, default=Path("/var/tmp/crm-bench-pg"))  # noqa: S108
    parser.add_argument("--pg-port", type=int, default=5499)
    parser.add_argument("--port", type=int, default=4093)
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args()
    server = own_server(args.pg_dir, args.pg_port)
    rounds: list[dict[int, dict[str, float]]] = []
    try:
        for number in range(args.rounds):
            sizes = (args.small, args.large) if number % 2 == 0 else (args.large, args.small)
            measured = {}
            for size in sizes:
                url = server.database_url(f"crmbench_{size}")
                measured[size] = alone_p50s(url, size, args.port, args.seconds)
                print(f"round {number + 1}, {size:,} holders: measured", flush=True)
            rounds.append(measured)
    finally:
        server.halt("fast")
    summary = {"small": args.small, "large": args.large, "rounds": args.rounds, "endpoints": []}
    print(
        f"\n| list / search | p50 alone, {args.small:,} → {args.large:,} (ms), per round "
        f"| median ratio | ≤ {FLAT_TARGET}× |\n|---|---|--:|:-:|"
    )
    for name, pairs, ratio in flatness(rounds, args.small, args.large):
        cells = "; ".join(f"{small:.1f} → {large:.1f}" for small, large in pairs)
        verdict = "yes" if ratio <= FLAT_TARGET else "**no**"
        print(f"| {name} | {cells} | {ratio:.2f}× | {verdict} |")
        summary["endpoints"].append(
            {"endpoint": name, "p50_ms": [list(pair) for pair in pairs], "ratio": round(ratio, 3)}
        )
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()
