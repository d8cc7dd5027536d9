"""The import graph of f5lab/ has no cycles: data flows one way (read -> describe -> decide -> act -> report).

Built with ast over every f5lab/*.py, counting both top-level imports and the imports inside
functions (a lazy import is still a dependency: it only moves the cost, not the arrow).
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "f5lab"


def _imported_modules(node: ast.AST, package_modules: set[str]) -> set[str]:
    found: set[str] = set()
    for n in ast.walk(node):
        if isinstance(n, ast.Import):
            names = [a.name for a in n.names]
        elif isinstance(n, ast.ImportFrom) and n.level == 0 and n.module:
            names = [n.module] + [f"{n.module}.{a.name}" for a in n.names]
        elif isinstance(n, ast.ImportFrom) and n.level == 1:
            names = [f"f5lab.{n.module}"] if n.module else [f"f5lab.{a.name}" for a in n.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "f5lab" and len(parts) > 1 and parts[1] in package_modules:
                found.add(parts[1])
    return found


def import_graph() -> dict[str, set[str]]:
    """module -> the f5lab modules it imports (anywhere in the file)."""
    modules = {p.stem for p in PACKAGE.glob("*.py")}
    graph = {}
    for path in sorted(PACKAGE.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        graph[path.stem] = _imported_modules(tree, modules) - {path.stem}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle as a path [a, b, ..., a], or None (iterative DFS, three colours)."""
    colour = {m: 0 for m in graph}
    for start in sorted(graph):
        if colour[start]:
            continue
        stack = [(start, iter(sorted(graph[start])))]
        path = [start]
        colour[start] = 1
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                colour[node] = 2
                stack.pop()
                path.pop()
            elif colour.get(child) == 1:
                return path[path.index(child):] + [child]
            elif colour.get(child) == 0:
                colour[child] = 1
                path.append(child)
                stack.append((child, iter(sorted(graph[child]))))
    return None


def test_graph_is_read_from_the_files():
    graph = import_graph()
    assert "checkpoint" in graph["arch"] and "errors" in graph["checkpoint"]
    assert "remap" in graph["loading"]  # loading imports remap only inside functions: those count too


def test_cycle_finder_finds_a_known_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_f5lab_has_no_import_cycles():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_config_resolver_sits_at_the_bottom():
    """configs is imported by arch and imports no describe/decide/act module itself."""
    graph = import_graph()
    assert "configs" in graph["arch"]
    assert graph["configs"] <= {"errors", "outputs"}  # outputs: atomic writes, itself at the bottom
    assert graph["outputs"] <= {"errors"}
