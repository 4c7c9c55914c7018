"""`python -m bench.plot SMALL.json LARGE.json OUT.png`: p50 and p99 per endpoint of two
`bench.run --json` results (e.g. 10,000 vs 1,000,000 holders) side by side, for
docs/performance.md. The floors are left out (they do not depend on the data)."""

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display: write the file
import matplotlib.pyplot as plt


def load(path: str) -> tuple[str, dict[str, dict]]:
    data = json.loads(Path(path).read_text())
    label = f"{data['holders']:,} holders"
    return label, {row["endpoint"]: row for row in data["endpoints"]}


def plot(small_path: str, large_path: str, out: str) -> None:
    (small_label, small), (large_label, large) = load(small_path), load(large_path)
    names = [name for name in small if name in large and not name.startswith("floor")]
    figure, axes = plt.subplots(1, 2, figsize=(14, 0.42 * len(names) + 1.8), sharey=True)
    positions = range(len(names))
    for axis, metric, title in ((axes[0], "p50_ms", "p50 (ms)"), (axes[1], "p99_ms", "p99 (ms)")):
        axis.barh(
            [p + 0.2 for p in positions], [small[n][metric] for n in names], 0.4, label=small_label
        )
        axis.barh(
            [p - 0.2 for p in positions], [large[n][metric] for n in names], 0.4, label=large_label
        )
        axis.set_title(title)
        axis.set_xscale("log")
        axis.grid(axis="x", which="both", alpha=0.3)
    axes[0].set_yticks(list(positions), names)
    axes[0].invert_yaxis()
    axes[1].legend(loc="lower right")
    figure.suptitle("Latency per endpoint, same machine and configuration")
    figure.tight_layout()
    figure.savefig(out, dpi=110)


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    plot(*sys.argv[1:])
