"""The import graph of f5lab/ has no cycle, and arrows between the stage folders only point down:

    root <- files <- model <- hardware, compat <- speech <- synthetic <- reporting <- cli

Built with ast over every f5lab/**/*.py, counting both top-level imports and the imports inside
functions (a lazy import is still a dependency: it only moves the cost, not the arrow), and the
dotted names in the public API's lazy export table.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "f5lab"

# a folder may import its own modules and any folder of a lower rank; equal ranks are siblings that
# may import each other only without a cycle between the folders (asserted below)
STAGE_RANK = {"": 0, "files": 1, "model": 2, "hardware": 3, "compat": 3, "speech": 4, "synthetic": 5,
              "reporting": 6, "cli": 7}
# a root package is root code split into modules (outputs: the one write path), at rank 0 with the rest
ROOT_PACKAGES = {"outputs"}
OUTPUTS_MODULES = {"outputs", "outputs.hidden", "outputs.running", "outputs.checks", "outputs.claims",
                   "outputs.folders", "outputs.sessions"}
ROOT_MODULES = {"__init__", "__main__", "errors", "facts", "figures", "units", "settings", "schemas", "commandlines",
                "escaping", "evidence",
                *OUTPUTS_MODULES}


def module_name(path: Path) -> str:
    """``files/vocab.py`` -> ``files.vocab``; ``errors.py`` -> ``errors``; a package's __init__ is the folder."""
    rel = path.relative_to(PACKAGE).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts.pop()
    return ".".join(parts)


def folder(module: str) -> str:
    top = module.split(".")[0]
    if top in ROOT_PACKAGES:
        return ""
    return top if "." in module or module in STAGE_RANK else ""


def _resolve(name: str, modules: set[str]) -> str | None:
    """The longest f5lab module a dotted name ``f5lab.a.b.c`` starts with."""
    parts = name.split(".")
    if parts[0] != "f5lab":
        return None
    for end in range(len(parts), 1, -1):
        candidate = ".".join(parts[1:end])
        if candidate in modules:
            return candidate
    return None


def _imported_modules(tree: ast.AST, here: str, modules: set[str]) -> set[str]:
    found: set[str] = set()
    for n in ast.walk(tree):
        if isinstance(n, ast.Import):
            names = [a.name for a in n.names]
        elif isinstance(n, ast.ImportFrom) and n.level == 0 and n.module:
            names = [f"{n.module}.{a.name}" for a in n.names] + [n.module]
        elif isinstance(n, ast.ImportFrom) and n.level >= 1:
            base = ["f5lab", *here.split(".")[: -n.level or None]] if "." in here else ["f5lab"]
            stem = ".".join(base + ([n.module] if n.module else []))
            names = [f"{stem}.{a.name}" for a in n.names] + [stem]
        elif isinstance(n, ast.Constant) and isinstance(n.value, str) and n.value.startswith("f5lab."):
            names = [n.value]  # the lazy export table: ("f5lab.compat.loading", "load_model")
        else:
            continue
        for name in names:
            target = _resolve(name, modules)
            if target is not None:
                found.add(target)
    return found


def import_graph() -> dict[str, set[str]]:
    """module (dotted, below f5lab) -> the f5lab modules it imports (anywhere in the file)."""
    paths = sorted(PACKAGE.rglob("*.py"))
    modules = {module_name(p) for p in paths}
    graph = {}
    for path in paths:
        here = module_name(path)
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        graph[here] = _imported_modules(tree, here, modules) - {here}
    return graph


def folder_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for module, deps in graph.items():
        if module in ("__init__", "__main__"):
            continue  # the public API and `python -m f5lab` sit above everything by design
        src = folder(module)
        out.setdefault(src, set()).update(folder(d) for d in deps if folder(d) != src)
    return out


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
    assert "files.checkpoint" in graph["model.arch"] and "errors" in graph["files.checkpoint"]
    assert "compat.remap" in graph["compat.loading"]  # imported only inside functions: those count too
    assert "compat.loading" in graph["__init__"]  # the lazy export table counts as an import


def test_cycle_finder_finds_a_known_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_every_module_sits_in_a_stage_folder_or_is_shared():
    graph = import_graph()
    folders = {folder(m) for m in graph}
    assert folders <= set(STAGE_RANK), f"a folder without a stage rank: {folders - set(STAGE_RANK)}"
    assert {m for m in graph if folder(m) == ""} == ROOT_MODULES
    for name in STAGE_RANK:
        if name:
            init = PACKAGE / name / "__init__.py"
            doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
            assert doc and len(doc) > 40, f"f5lab/{name}/__init__.py must say what the folder owns"


def test_f5lab_has_no_import_cycles():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_folders_have_no_cycle_and_arrows_point_down():
    graph = import_graph()
    folders = folder_graph(graph)
    cycle = find_cycle(folders)
    assert cycle is None, "folder cycle: " + " -> ".join(cycle)
    upward = sorted(f"{m} -> {d}" for m, deps in graph.items() if m not in ("__init__", "__main__")
                    for d in deps if STAGE_RANK[folder(d)] > STAGE_RANK[folder(m)])
    assert not upward, "imports against the stage order: " + ", ".join(upward)


def test_synthetic_checkpoints_are_used_by_reporting_and_the_cli_only():
    graph = import_graph()
    users = {folder(m) for m, deps in graph.items() if m not in ("__init__", "__main__")
             and any(folder(d) == "synthetic" for d in deps)} - {"synthetic"}
    assert users <= {"reporting", "cli"}, f"synthetic imported by {users - {'reporting', 'cli'}}"


def test_the_order_checker_catches_an_upward_arrow():
    """The rank test is not vacuous: a files module importing model would be caught."""
    graph = {"files.vocab": {"model.configs"}, "model.configs": set()}
    upward = [f"{m} -> {d}" for m, deps in graph.items() for d in deps
              if STAGE_RANK[folder(d)] > STAGE_RANK[folder(m)]]
    assert upward == ["files.vocab -> model.configs"]


def test_the_config_resolver_sits_at_the_bottom_of_model():
    """configs is imported by arch and imports nothing above files/ itself (commandlines: root, no imports)."""
    graph = import_graph()
    assert "model.configs" in graph["model.arch"]
    assert graph["model.configs"] <= {"errors", "facts", "outputs", "schemas", "commandlines", "escaping", "files.vocab",
                                      "files.readers", "files.trusted"}
    assert all(graph[m] - OUTPUTS_MODULES <= {"errors"} for m in OUTPUTS_MODULES)  # the write path, at the bottom
    assert graph["schemas"] <= {"errors"} and graph["facts"] == set()
    assert graph["commandlines"] == set()  # every stage prints commands through it: it imports no f5lab module
    assert graph["escaping"] == set()  # every stage renders user strings through it: it imports no f5lab module
