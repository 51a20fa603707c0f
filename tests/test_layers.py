"""The package's layers: each imports only the layers below it, and no module takes part in an import cycle.

Every import counts, function-level ones included (they run too, only later); imports under
``if TYPE_CHECKING:`` do not (they never run).
"""

from __future__ import annotations

import ast
from pathlib import Path

import digitscope

PACKAGE = Path(digitscope.__file__).parent
# Lowest first. A module may import its own layer and those below; the top package and ``__main__`` may import any.
LAYERS = [
    {"io", "labels", "imageio", "boxes", "costs", "runtime", "version", "figures"},
    {"preprocess"},
    {"store"},
    {"models"},
    {"inference"},
    {"data"},
    {"reading", "uncertainty"},
    {"analysis", "training"},
    {"serve", "cli"},
]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """The package's modules that ``path`` imports, each named as precisely as the statement allows."""
    tree = ast.parse(path.read_text())
    type_checking = {id(n) for node in ast.walk(tree)
                     if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.dump(node.test)
                     for n in ast.walk(node)}
    me = module_name(path)
    here = me.split(".") if path.name == "__init__.py" else me.split(".")[:-1]
    found = set()
    for node in ast.walk(tree):
        if id(node) in type_checking:
            continue
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = here[:len(here) - node.level + 1] if node.level else []
            parent = ".".join(base + ([node.module] if node.module else []))
            targets = [f"{parent}.{a.name}" if f"{parent}.{a.name}" in modules else parent for a in node.names]
        else:
            continue
        found.update(t for t in targets if t in modules and t != me)
    return found


def import_graph() -> dict[str, set[str]]:
    files = list(PACKAGE.rglob("*.py"))
    modules = {module_name(p) for p in files}
    return {module_name(p): imports_of(p, modules) for p in files}


def layer_of(module: str) -> int | None:
    parts = module.split(".")
    if len(parts) < 2 or parts[1] == "__main__":
        return None  # the top package and `python -m digitscope` stand above every layer
    return next(i for i, layer in enumerate(LAYERS) if parts[1] in layer)


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_every_module_belongs_to_a_layer():
    unplaced = [m for m in import_graph() if m != "digitscope" and m.split(".")[1] != "__main__"
                and not any(m.split(".")[1] in layer for layer in LAYERS)]
    assert unplaced == [], f"modules in no layer: {unplaced}; add them to LAYERS"


def test_no_module_imports_a_layer_above_its_own():
    upward = [f"{m} -> {d}" for m, deps in import_graph().items() for d in deps
              if layer_of(m) is not None and (layer_of(d) is None or layer_of(d) > layer_of(m))]
    assert upward == []


def test_the_package_has_no_import_cycle():
    assert cycles(import_graph()) == []


def test_the_checker_finds_a_cycle_and_an_upward_import():
    graph = {"digitscope.data.a": {"digitscope.reading.b"}, "digitscope.reading.b": {"digitscope.data.a"}}
    assert cycles(graph) == [["digitscope.data.a", "digitscope.reading.b"]]
    assert layer_of("digitscope.reading.b") > layer_of("digitscope.data.a")


def test_every_module_has_a_file_name_of_its_own():
    """A name that means one thing: `gate.py` is the architecture, not also a command or a fitter."""
    names = [p.name for p in PACKAGE.rglob("*.py") if p.name not in ("__init__.py", "__main__.py")]
    assert sorted({n for n in names if names.count(n) > 1}) == []
