"""The library's import graph: no cycle anywhere (lazy imports inside functions count too), the library
never imports snakemake, results and fitting code never import plots, and the core imports no family.

Edges are read from every ``import`` statement of ``src/musclecog`` (module level or inside functions;
imports under ``if TYPE_CHECKING:`` are annotations only and left out). Importing ``a.b.c`` also imports
the packages ``a.b`` and ``a``, except one's own parent packages (already being imported).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
FAMILIES = ("crosssectional", "mediation", "longitudinal", "survival", "mr")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST, module: str, is_package: bool) -> set[str]:
    out: set[str] = set()
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _is_type_checking(node):
            skip.update(id(n) for n in ast.walk(node))
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            out.add(target)
            out.update(f"{target}.{a.name}" for a in node.names)
    return out


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in SRC.joinpath("musclecog").rglob("*.py")}
    edges: dict[str, set[str]] = {}
    for name, path in modules.items():
        own_parents = {".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 1)}
        targets = set()
        for imp in _imports(ast.parse(path.read_text()), name, path.name == "__init__.py"):
            parts = imp.split(".")
            for i in range(1, len(parts) + 1):
                t = ".".join(parts[:i])
                if t in modules and t != name and t not in own_parents:
                    targets.add(t)
        edges[name] = targets
    return edges


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges[v]:
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

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycle(graph: dict[str, set[str]]) -> None:
    assert _cycles(graph) == []


def test_library_never_imports_snakemake(graph: dict[str, set[str]]) -> None:
    for path in SRC.joinpath("musclecog").rglob("*.py"):
        imports = _imports(ast.parse(path.read_text()), _module_name(path), path.name == "__init__.py")
        assert not any(i == "snakemake" or i.startswith("snakemake.") for i in imports), path


def test_results_and_fits_never_import_plots(graph: dict[str, set[str]]) -> None:
    offenders = {
        m: sorted(t for t in ts if t.startswith("musclecog.plots"))
        for m, ts in graph.items()
        if not m.startswith("musclecog.plots") and any(t.startswith("musclecog.plots") for t in ts)
    }
    assert offenders == {}


def test_core_imports_no_family(graph: dict[str, set[str]]) -> None:
    for m, ts in graph.items():
        if m.startswith("musclecog.core"):
            assert not [t for t in ts if t.split(".")[1] in FAMILIES], m
