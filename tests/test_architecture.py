"""The layering docs/architecture.md draws, checked on the source: which package may import
which, no import circles, and a kernel that knows no domain app, not even by name.

Every import counts, at module level or inside a function (a lazy import is still a
dependency); tests, migrations and the benchmark are not part of the layering."""

import ast
from pathlib import Path

import pytest
from django.apps import apps

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("crm", "holders", "aliases", "events", "registry", "staff", "config")

# What each top-level package may import (besides itself), as docs/architecture.md draws it.
ALLOWED = {
    "crm": set(),
    "events": {"crm"},
    "holders": {"crm", "events"},
    "aliases": {"crm", "events", "holders"},
    "registry": {"crm", "events", "holders", "aliases"},
    "staff": {"crm"},
    "config": {"crm", "events", "holders", "aliases", "registry", "staff"},
}
# ("staff" is also an actor type of the audit trail, so only these labels are looked for.)
DOMAIN_APPS = ("holders", "aliases", "events", "registry")


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """The project modules `name` imports (a `from package import submodule` counts as the
    submodule)."""
    targets = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                targets.add(submodule if submodule in MODULES else node.module)
    return {target for target in targets if target in MODULES and target != name}


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_packages_import_only_what_the_layering_allows(package):
    wrong = sorted(
        f"{module} -> {target}"
        for module, targets in GRAPH.items()
        if module.split(".")[0] == package
        for target in targets
        if target.split(".")[0] not in {package, *ALLOWED[package]}
    )
    assert wrong == []


def test_no_import_circles():
    """No module reaches itself through imports (Tarjan's strongly connected components),
    a package's own `__init__` gathering its submodules' names excepted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def edges(module: str) -> set[str]:
        # A submodule importing a sibling through its package's facade is not a circle.
        return {t for t in GRAPH[module] if not module.startswith(t + ".")}

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for target in edges(module):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for module in sorted(GRAPH):
        if module not in index:
            visit(module)
    assert circles == []


def _code_strings(path: Path) -> list[str]:
    """The string constants of a module's code (docstrings left out)."""
    tree = ast.parse(path.read_text())
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
    ]


def test_the_kernel_names_no_domain_app_or_table():
    """App labels and table names of the domain apps are handed to the kernel by the models
    (`crm.lifecycle.kinds`), never written in it."""
    tables = {
        model._meta.db_table for model in apps.get_models() if model._meta.app_label in DOMAIN_APPS
    }
    found = sorted(
        f"{name}: {value!r}"
        for name, path in MODULES.items()
        if name.split(".")[0] == "crm"
        for value in _code_strings(path)
        if value in DOMAIN_APPS or any(table in value for table in tables)
    )
    assert found == []


def test_the_checks_see_the_whole_tree():
    """The checks above read real modules and real imports (a broken walk would pass them)."""
    assert {"crm.lifecycle.writes", "holders.services", "registry.importing"} <= set(MODULES)
    assert "crm.lifecycle" in GRAPH["holders.services"]
    assert "crm.lifecycle.writes" in GRAPH["crm.lifecycle"]
    assert "holders.services" in GRAPH["registry.importing"]
