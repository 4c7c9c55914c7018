"""Splitting a nested JSON object into its plaintext part and its personal (encrypted) part.

Holder and alias sub-objects mix plaintext fields (an address, a trade name) with personal ones
(a mother's name, a representative's document). Each such object is stored as two columns: a
plain JSON column and an encrypted JSON column holding only the personal paths. `split` and
`join` move between the wire shape and that pair.
"""

import copy
from typing import Any

from crm.api.merge_patch import prune_empty

Path = tuple[str, ...]


def split(value: dict[str, Any] | None, private_paths: list[Path]):
    """Return `(public, private)`; either is None when it would be empty."""
    if not value:
        return None, None
    public = copy.deepcopy(value)
    private: dict[str, Any] = {}
    for path in private_paths:
        node = public
        for key in path[:-1]:
            node = node.get(key) if isinstance(node, dict) else None
            if node is None:
                break
        if isinstance(node, dict) and path[-1] in node:
            target = private
            for key in path[:-1]:
                target = target.setdefault(key, {})
            target[path[-1]] = node.pop(path[-1])
    return prune_empty(public) or None, private or None


def get_path(document: Any, path: Path) -> Any:
    """The value at `path` in nested dicts, or None."""
    for key in path:
        if not isinstance(document, dict):
            return None
        document = document.get(key)
    return document


def set_path(document: dict[str, Any], path: Path, value: Any) -> None:
    """Set the value at `path`, creating the objects on the way."""
    for key in path[:-1]:
        document = document.setdefault(key, {})
    document[path[-1]] = value


def join(public: dict[str, Any] | None, private: dict[str, Any] | None) -> dict[str, Any]:
    """Merge the two parts back into the wire shape."""
    result = copy.deepcopy(public) if public else {}
    _deep_update(result, private or {})
    return result


def _deep_update(target: dict[str, Any], source: dict[str, Any]) -> None:
    for key, value in source.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _deep_update(target[key], value)
        else:
            target[key] = copy.deepcopy(value)
