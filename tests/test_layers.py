"""The packages form layers without cycles: cli -> ui -> services -> lineio -> db -> core, with
the trainer beside them (it uses the domain only; the domain and db never import it).
import-linter enforces the order (pyproject.toml); this test shows there is no cycle at all
between the packages, whichever way round, so a new edge that closes one fails here by name.
The GUI reaches the database only through the use cases: no inspector.ui module imports db."""

from __future__ import annotations

import tomllib
from pathlib import Path

import grimp

PACKAGES = (
    "inspector.cli",
    "inspector.ui",
    "inspector.services",
    "inspector.lineio",
    "db",
    "inspector.core",
    "trainer",
)


def _package_of(module: str) -> str | None:
    return next((p for p in PACKAGES if module == p or module.startswith(p + ".")), None)


def package_edges() -> dict[str, set[str]]:
    graph = grimp.build_graph("inspector", "db", "trainer")
    edges: dict[str, set[str]] = {p: set() for p in PACKAGES}
    for module in graph.modules:
        src = _package_of(module)
        if src is None:
            continue
        for imported in graph.find_modules_directly_imported_by(module):
            dst = _package_of(imported)
            if dst is not None and dst != src:
                edges[src].add(dst)
    return edges


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_find_cycle_finds_one() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_no_cycles_between_the_packages() -> None:
    edges = package_edges()
    assert find_cycle(edges) is None, f"package cycle: {' -> '.join(find_cycle(edges) or [])}"


def test_the_domain_and_db_stay_below_the_use_cases() -> None:
    edges = package_edges()
    assert edges["inspector.core"] == set(), edges["inspector.core"]
    assert edges["db"] <= {"inspector.core"}, edges["db"]
    # the trainer is beside the station: it may use the domain, and the use cases may call its
    # TensorFlow-free data helpers, but the domain and storage never depend on it
    assert edges["trainer"] <= {"inspector.core"}, edges["trainer"]


def test_the_gui_reaches_the_database_only_through_the_use_cases() -> None:
    graph = grimp.build_graph("inspector", "db", "trainer")
    offenders = sorted(
        f"{module} imports {imported}"
        for module in graph.modules
        if _package_of(module) == "inspector.ui"
        for imported in graph.find_modules_directly_imported_by(module)
        if _package_of(imported) == "db"
    )
    assert offenders == [], "the GUI must call inspector.services, not db:\n" + "\n".join(offenders)


def test_import_linter_forbids_the_gui_to_import_db() -> None:
    pyproject = Path(__file__).resolve().parents[1] / "pyproject.toml"
    with pyproject.open("rb") as fh:
        contracts = tomllib.load(fh)["tool"]["importlinter"]["contracts"]
    contract = next((c for c in contracts if c["name"] == "The GUI never imports db"), None)
    assert contract is not None, [c["name"] for c in contracts]
    assert contract["type"] == "forbidden"
    assert contract["source_modules"] == ["inspector.ui"]
    assert contract["forbidden_modules"] == ["db"]
