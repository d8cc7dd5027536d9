"""No file is written anywhere in f5lab except through ``f5lab.outputs`` (issue 16 section 1).

The rule, checked on the source of every module of the package (``outputs/`` excepted):

* a *write primitive* (``open`` in a writing mode, ``os.open``, ``Path.write_text/write_bytes/
  touch/mkdir/unlink/rmdir/rename``, ``np.save*``, ``soundfile.write``, safetensors' ``save_file``,
  ``torch.save``, ``savefig``, papermill's ``execute_notebook``, ``nbformat.write``) may only be
  given, as the path it writes, a *partial* handed out by ``f5lab.outputs``: a name bound by
  ``with outputs.file(...) as name`` (or a file opened on such a name), or a function parameter
  annotated ``Partial`` (a helper whose callers pass one);
* what moves, links or removes files (``shutil.*`` but ``which``, ``os.replace/rename/remove/unlink/
  link/symlink/makedirs/mkdir/rmdir/truncate``) is not called at all: ``outputs`` does it.

So a new writer either goes through ``outputs`` (and gets its guarantees) or fails this test.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[1] / "f5lab"
EXEMPT = set((PACKAGE / "outputs").rglob("*.py"))  # the write path itself

WRITE_METHODS = {"write_text", "write_bytes", "touch", "mkdir", "unlink", "rmdir", "rename", "symlink_to",
                 "hardlink_to"}  # the receiver is the path written
PATH_ARG = {  # call name (any owner) -> index of the argument that is the path written, its keyword
    "savefig": (0, "fname"), "save_file": (1, "filename"), "execute_notebook": (1, "output_path"),
}
QUALIFIED = {("sf", "write"): (0, "file"), ("soundfile", "write"): (0, "file"), ("torch", "save"): (1, "f"),
             ("nbformat", "write"): (1, "fp"), **{(m, f): (0, "file") for m in ("np", "numpy")
                                                   for f in ("save", "savez", "savez_compressed", "savetxt")}}
HARMLESS = {"devnull"}  # os.devnull: writing there writes nothing
FORBIDDEN_OS = {"replace", "rename", "renames", "remove", "unlink", "link", "symlink", "makedirs", "mkdir", "rmdir",
                "removedirs", "truncate"}
SHUTIL_OK = {"which", "disk_usage", "get_terminal_size"}


def _name(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _is_claim(call: ast.AST) -> bool:
    """``outputs.file(...)`` (or ``file(...)`` imported from f5lab.outputs)."""
    return isinstance(call, ast.Call) and (
        (isinstance(call.func, ast.Attribute) and call.func.attr == "file" and _name(call.func.value) == "outputs")
        or (isinstance(call.func, ast.Name) and call.func.id == "file"))


def _writing_mode(call: ast.Call) -> bool:
    mode = call.args[1] if len(call.args) > 1 else next((k.value for k in call.keywords if k.arg == "mode"), None)
    if mode is None:
        return False
    if not isinstance(mode, ast.Constant) or not isinstance(mode.value, str):
        return True  # a mode computed at run time: treated as writing
    return any(c in mode.value for c in "wax+")


class Scanner(ast.NodeVisitor):
    def __init__(self, path: Path) -> None:
        self.path = path
        self.claimed: list[set[str]] = [set()]
        self.problems: list[str] = []

    # -- scopes: a function's Partial parameters; names bound by claims ----------------------------
    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        params = [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]
        partial = {a.arg for a in params if a.annotation is not None and "Partial" in ast.unparse(a.annotation)}
        self.claimed.append(set(partial))
        self.generic_visit(node)
        self.claimed.pop()

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self.generic_visit(node)

    def visit_With(self, node: ast.With) -> None:
        for item in node.items:
            self.visit(item.context_expr)
            target = item.optional_vars
            if isinstance(target, ast.Name):
                expr = item.context_expr
                opened_on_claim = isinstance(expr, ast.Call) and _name(expr.func) == "open" and expr.args and \
                    self._claimed(expr.args[0])
                if _is_claim(expr) or opened_on_claim:
                    self.claimed[-1].add(target.id)
        for stmt in node.body:
            self.visit(stmt)

    def visit_Assign(self, node: ast.Assign) -> None:
        """``buf = io.BytesIO()``: a buffer in memory, not a file."""
        self.generic_visit(node)
        if isinstance(node.value, ast.Call) and _name(node.value.func) in ("BytesIO", "StringIO"):
            self.claimed[-1].update(t.id for t in node.targets if isinstance(t, ast.Name))

    def _claimed(self, expr: ast.AST) -> bool:
        if isinstance(expr, ast.Attribute) and expr.attr in HARMLESS:
            return True
        names = {n.id for n in ast.walk(expr) if isinstance(n, ast.Name)}
        return any(names & scope for scope in self.claimed)

    # -- the calls ------------------------------------------------------------------------------------
    def visit_Call(self, node: ast.Call) -> None:
        self.generic_visit(node)
        func = node.func
        where = f"{self.path.relative_to(PACKAGE.parent)}:{node.lineno}: {ast.unparse(node)[:90]}"
        owner = _name(func.value) if isinstance(func, ast.Attribute) else None
        name = _name(func)
        if owner == "outputs":  # the module itself: what it writes, it writes whole
            return
        if owner == "shutil" and name not in SHUTIL_OK:
            self.problems.append(f"{where}  (shutil: let f5lab.outputs move or remove files)")
            return
        if owner == "os" and name in FORBIDDEN_OS:
            self.problems.append(f"{where}  (os.{name}: let f5lab.outputs do it)")
            return
        target = None
        if isinstance(func, ast.Name) and func.id == "open" and _writing_mode(node):
            target = node.args[0] if node.args else None
        elif owner == "os" and name == "open":
            target = node.args[0] if node.args else None
        elif isinstance(func, ast.Attribute) and name in WRITE_METHODS:
            target = func.value
        elif (owner, name) in QUALIFIED or name in PATH_ARG:
            index, keyword = QUALIFIED.get((owner, name)) or PATH_ARG[name]
            target = node.args[index] if len(node.args) > index else \
                next((k.value for k in node.keywords if k.arg == keyword), None)
        else:
            return
        if target is None or not self._claimed(target):
            self.problems.append(f"{where}  (write to a path that is not a partial from f5lab.outputs)")


def scan(path: Path) -> list[str]:
    s = Scanner(path)
    s.visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
    return s.problems


def test_every_write_goes_through_outputs():
    problems = [p for f in sorted(PACKAGE.rglob("*.py")) if f not in EXEMPT for p in scan(f)]
    assert not problems, "writes outside f5lab.outputs:\n" + "\n".join(problems)


@pytest.mark.parametrize("source, bad", [
    ("def f(p):\n    open(p, 'w').write('x')\n", True),
    ("def f(p):\n    Path(p).write_text('x')\n", True),
    ("import shutil\ndef f(p):\n    shutil.rmtree(p)\n", True),
    ("def f(sd, p):\n    save_file(sd, str(p))\n", True),
    ("import os\ndef f(a, b):\n    os.replace(a, b)\n", True),
    ("def f(fig, p):\n    fig.savefig(p)\n", True),
    ("def f(p):\n    open(p).read()\n", False),
    ("def f(p):\n    with outputs.file(p) as tmp, open(tmp, 'wb') as fh:\n        np.save(fh, 1)\n", False),
    ("def f(sd, p):\n    with outputs.file(p) as tmp:\n        save_file(sd, str(tmp))\n", False),
    ("def f(sd, p: Partial):\n    torch.save(sd, p)\n", False),
])
def test_the_scanner_tells_a_claimed_write_from_a_bare_one(tmp_path, source, bad):
    f = PACKAGE / "_probe_module.py"  # scanned in place of a real module; never written to disk
    s = Scanner(f)
    s.visit(ast.parse(source))
    assert bool(s.problems) == bad, s.problems
