"""Imports run one way: no circle, no stage importing a later one, jobs/ and sandbox/ apart.

Read from the source with ``ast``, so a rule breaks here before it breaks at import time.
Hand-written rather than import-linter: the rules are one table, the check takes well under
a second, and ``make test`` needs no extra tool for it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TOP_LEVEL = ("worker", "jobs", "sandbox")

# Each stage of worker/ imports only stages of a lower rank (never its own rank's others).
# A new top-level module or subpackage gets its place here, on purpose.
STAGE_RANKS = {
    "worker.__about__": 0,
    "worker.errors": 0,
    "worker.outcomes": 0,
    "worker.rate": 0,
    "worker.settings": 1,
    "worker.api": 1,
    "worker.report": 1,
    "worker.ops": 2,
    "worker.sweep": 3,
    "worker": 4,  # the Python API's face (worker/__init__.py)
    "worker.probe": 4,  # `harmony-sweeper probe`: uses the scan's checks, not the sweep
    "worker.cli": 5,
    "worker.__main__": 6,
}

# What each top-level package may import of the others (the rule of docs/design.md).
ALLOWED_FOREIGN = {
    "jobs": set[str](),
    "sandbox": set[str](),
    "worker": {"jobs", "sandbox"},
}
# Inside worker/, only the front end starts the sandbox (`harmony-sweeper sandbox`, `demo`).
SANDBOX_USERS = ("worker.cli",)


@dataclass(frozen=True, slots=True)
class Import:
    importer: str
    target: str  # the module the statement loads (a submodule when it names one)
    line: int
    runtime: bool  # at module level and outside ``if TYPE_CHECKING:``


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _sources() -> dict[str, Path]:
    return {
        _module_name(path): path
        for package in TOP_LEVEL
        for path in sorted((ROOT / package).rglob("*.py"))
    }


MODULES = _sources()


def _targets(node: ast.Import | ast.ImportFrom) -> Iterator[str]:
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
        return
    if node.level or node.module is None:
        return
    named = (f"{node.module}.{alias.name}" for alias in node.names)
    submodules = [name for name in named if name in MODULES]
    yield from submodules
    # Names that are not submodules come from the package's __init__.
    if len(submodules) < len(node.names):
        yield node.module


def _imports(module: str) -> Iterator[Import]:
    tree = ast.parse(MODULES[module].read_text())
    type_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            type_only.update(id(child) for stmt in node.body for child in ast.walk(stmt))
    top = {id(node) for node in tree.body}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            runtime = id(node) in top and id(node) not in type_only
            for target in _targets(node):
                yield Import(module, target, node.lineno, runtime)


IMPORTS = [found for module in MODULES for found in _imports(module)]


def _stage(module: str) -> str | None:
    if module in STAGE_RANKS:
        return module
    head = ".".join(module.split(".")[:2])
    return head if head in STAGE_RANKS else None


def test_every_module_of_worker_has_a_stage() -> None:
    unplaced = [m for m in MODULES if m.split(".")[0] == "worker" and _stage(m) is None]
    assert unplaced == [], "place these in STAGE_RANKS (a stage of worker/)"


def test_no_stage_imports_its_own_rank_or_above() -> None:
    upward = []
    for found in IMPORTS:
        source, target = _stage(found.importer), _stage(found.target)
        if source is None or target is None or source == target:
            continue
        if STAGE_RANKS[target] >= STAGE_RANKS[source]:
            upward.append(f"{found.importer}:{found.line} imports {found.target}")
    assert upward == []


@pytest.mark.parametrize(("package", "allowed"), sorted(ALLOWED_FOREIGN.items()))
def test_top_level_packages_keep_apart(package: str, allowed: set[str]) -> None:
    crossings = [
        f"{found.importer}:{found.line} imports {found.target}"
        for found in IMPORTS
        if found.importer.split(".")[0] == package
        and (other := found.target.split(".")[0]) in ALLOWED_FOREIGN
        and other != package
        and other not in allowed
    ]
    assert crossings == []


def test_only_the_front_end_imports_the_sandbox() -> None:
    users = [
        f"{found.importer}:{found.line}"
        for found in IMPORTS
        if found.target.split(".")[0] == "sandbox"
        and found.importer.split(".")[0] == "worker"
        and _stage(found.importer) not in SANDBOX_USERS
    ]
    assert users == []


def _circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(edges.get(node, ())):
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = [stack.pop()]
            while component[-1] != node:
                component.append(stack.pop())
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            connect(node)
    return found


def test_no_import_circle() -> None:
    edges: dict[str, set[str]] = {module: set() for module in MODULES}
    for found in IMPORTS:
        if found.runtime and found.target in MODULES and found.target != found.importer:
            edges[found.importer].add(found.target)
    assert _circles(edges) == []


def test_the_rules_see_the_imports() -> None:
    """The checks above would pass on nothing found: pin a little of what they see."""
    seen = {(found.importer, found.target, found.runtime) for found in IMPORTS}
    assert ("worker.cli._commands", "worker.cli.run", True) in seen
    assert ("worker.report.writers", "worker.report.report", False) in seen  # type-only
    assert _circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
