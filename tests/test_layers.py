"""The layers hold: core -> sources -> theory -> solvers -> estimators -> coding -> models ->
experiments -> cli, each importing only layers before it (imports inside functions count too);
no import cycle between modules; no private name imported across modules.

The import graph is read from the source with ``ast`` (nothing is imported)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "rdlab"
LAYERS = (
    "core",
    "sources",
    "theory",
    "solvers",
    "estimators",
    "coding",
    "models",
    "experiments",
    "cli",
)


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(SRC.rglob("*.py"))}


def _layer(module: str) -> int | None:
    parts = module.split(".")
    return LAYERS.index(parts[1]) if len(parts) > 1 and parts[1] in LAYERS else None


def _imports(module: str) -> list[tuple[str, str | None, int]]:
    """(imported module, imported name or None, line) for every rdlab import of ``module``."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(), str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name, None, node.lineno) for a in node.names if a.name.startswith("rdlab")]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            if not base.startswith("rdlab"):
                continue
            for a in node.names:
                sub = f"{base}.{a.name}"
                # ``from pkg import submodule`` imports the submodule
                out.append(
                    (sub, None, node.lineno) if sub in MODULES else (base, a.name, node.lineno)
                )
    return out


GRAPH = {m: sorted({t for t, _, _ in _imports(m) if t in MODULES} - {m}) for m in MODULES}


def test_every_module_is_in_a_layer():
    loose = [m for m in MODULES if _layer(m) is None and m not in ("rdlab", "rdlab.__main__")]
    assert loose == []


def test_no_upward_import():
    bad = []
    for m in MODULES:
        own = _layer(m)
        for target, _, line in _imports(m):
            other = _layer(target)
            if own is not None and other is not None and other > own:
                bad.append(f"{MODULES[m].relative_to(SRC.parent)}:{line} imports {target}")
    # the top-level package re-exports core only; ``python -m rdlab`` runs the cli
    assert all(_layer(t) == 0 for t, _, _ in _imports("rdlab") if _layer(t) is not None)
    assert bad == []


def _cycles(graph: dict[str, list[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    return out


def test_no_import_cycle():
    assert _cycles(GRAPH) == []


def test_cycle_finder_finds_a_cycle():
    graph = {"a": ["b"], "b": ["c"], "c": ["a"], "d": ["a"]}
    assert _cycles(graph) == [["a", "b", "c"]]


def test_no_private_name_across_modules():
    bad = []
    for m in MODULES:
        for target, name, line in _imports(m):
            if name and name.startswith("_") and not name.startswith("__") and target != m:
                bad.append(f"{m}:{line} imports {name} from {target}")
        tree = ast.parse(MODULES[m].read_text())
        aliases = {
            a.asname or a.name
            for node in ast.walk(tree)
            if isinstance(node, ast.Import)
            for a in node.names
            if a.name.startswith("rdlab")
        }
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in aliases
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
            ):
                bad.append(f"{m}:{node.lineno} uses {node.value.id}.{node.attr}")
    assert bad == []


@pytest.mark.parametrize(
    ("module", "layer"),
    [("rdlab.coding.codec", "coding"), ("rdlab.models.learned.run", "models")],
)
def test_the_graph_sees_nested_packages(module, layer):
    assert module in MODULES and LAYERS[_layer(module)] == layer
    assert GRAPH[module]  # they import something of rdlab
