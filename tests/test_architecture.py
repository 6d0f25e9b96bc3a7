"""The direction of imports: the contracts of pyproject.toml, geo/, integrations/ and playbooks/
never import service/, no router imports another, and no module imports itself round a circle."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import grimp
import pytest
from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("service", "geo", "integrations", "playbooks")

#: Circles allowed: none. (The last, worker -> crisis pass -> worker, went when the advisory lock
#: moved to service.locks.)
KNOWN_CIRCLES: set[frozenset[str]] = set()


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    # Every import, those inside functions too.
    return grimp.build_graph(*PACKAGES, cache_dir=None)


def circles(graph: grimp.ImportGraph) -> Iterator[frozenset[str]]:
    """The strongly connected components of more than one module, or of one importing itself
    (Tarjan's algorithm, without recursion)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            module, imported = work[-1]
            following = next(imported, None)
            if following is not None:
                if following not in index:
                    index[following] = low[following] = len(index)
                    stack.append(following)
                    on_stack.add(following)
                    targets = sorted(graph.find_modules_directly_imported_by(following))
                    work.append((following, iter(targets)))
                elif following in on_stack:
                    low[module] = min(low[module], index[following])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[module])
            if low[module] == index[module]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == module:
                        break
                if len(component) > 1 or graph.direct_import_exists(
                    importer=module, imported=module
                ):
                    yield frozenset(component)


def test_no_module_imports_itself_round_a_circle(graph: grimp.ImportGraph) -> None:
    found = set(circles(graph)) - KNOWN_CIRCLES
    assert not found, [sorted(c) for c in found]


def test_the_circle_finder_finds_a_circle() -> None:
    made = grimp.ImportGraph()
    for name in ("a", "a.b", "a.c", "a.d"):
        made.add_module(name)
    made.add_import(importer="a.b", imported="a.c")
    made.add_import(importer="a.c", imported="a.b")
    made.add_import(importer="a.d", imported="a.b")
    assert set(circles(made)) == {frozenset({"a.b", "a.c"})}


def routers(graph: grimp.ImportGraph) -> list[str]:
    return sorted(
        m
        for m in graph.modules
        if m.startswith("service.") and m.rsplit(".", 1)[-1].endswith("router")
    )


def test_no_router_imports_another(graph: grimp.ImportGraph) -> None:
    # The layers contract lists today's routers; this finds tomorrow's too. What two domains
    # share is a dependency (``<domain>/dependencies.py``), a flow or a shared seam.
    found = routers(graph)
    assert "service.tasks.router" in found and "service.crises.playbooks_router" in found
    offenders = [
        f"{a} -> {b}"
        for a in found
        for b in found
        if a != b and graph.direct_import_exists(importer=a, imported=b)
    ]
    assert offenders == []


def test_import_contracts_hold() -> None:
    assert lint_imports(config_filename=str(ROOT / "pyproject.toml")) == 0


@pytest.mark.parametrize("package", ["geo", "integrations", "playbooks"])
def test_core_packages_never_import_service(package: str) -> None:
    # A second, dependency-free check, so the rule holds even where the linter is not installed.
    offenders = []
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            offenders += [
                f"{path.relative_to(ROOT)}: {n}" for n in names if n.split(".")[0] == "service"
            ]
    assert offenders == []
