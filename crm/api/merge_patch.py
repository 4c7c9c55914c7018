"""JSON merge patch (RFC 7396): objects merge recursively, `null` removes, anything else
replaces."""

import copy
from typing import Any


def merge_patch(target: Any, patch: Any) -> Any:
    """Return `target` with `patch` applied; neither argument is modified."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


EMPTY = (None, "", {}, [])


def prune_empty(value: Any) -> Any:
    """Leave out empty values, recursively: `null`, `""`, `{}` and `[]`, including objects
    left empty by removals (`{"contact": {}}` -> absent). This is both the stored state after
    a merge patch and the reference's `omitempty` on output."""
    if isinstance(value, dict):
        pruned = {key: prune_empty(item) for key, item in value.items()}
        return {key: item for key, item in pruned.items() if item not in EMPTY}
    return value


def changed_paths(before: Any, after: Any, prefix: str = "", depth: int = 2) -> set[str]:
    """Dotted names (up to `depth` levels) of the leaves that differ between two documents.

    Used for the audit trail, which stores field names and never values.
    """
    if before == after:
        return set()
    if depth == 0 or not (isinstance(before, dict) and isinstance(after, dict)):
        return {prefix} if prefix else set()
    paths: set[str] = set()
    for key in set(before) | set(after):
        name = f"{prefix}.{key}" if prefix else key
        paths |= changed_paths(before.get(key), after.get(key), name, depth - 1)
    return paths
