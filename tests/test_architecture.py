"""The import rules of docs/ARCHITECTURE.md: lower layers never import higher ones, and no import loops.

Every ``import`` and ``from ... import`` of the package is read with ``ast``,
including the ones inside functions (a lazy import is still a dependency).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "classicdeblur"

#: Layers from the bottom; a module may import its own layer and the ones below.
#: Names are module prefixes; the longest matching prefix decides.
LAYERS = [
    ("base", ["_deps", "errors", "_registry", "_paths", "_validation", "backend", "engines", "color", "_progress"]),
    ("data and forward model", ["operators", "io", "psf"]),
    ("solvers and priors", ["solvers", "filters", "degrade", "niqe", "metrics", "datasets", "learned"]),
    ("face tools", ["faces"]),
    ("blind framework", ["blind", "blind.framework", "blind.method", "blind.constraints", "blind.pyramid",
                         "blind.screening", "blind.guidance", "blind.edges"]),
    ("methods", ["blind.cho2009", "blind.krishnan2011", "blind.shan2008", "blind.xu2010", "blind.exemplar",
                 "blind.anwar2018", "blind.tian2015", "blind.batched", "blind.pan2018", "blind.nishiyama2010",
                 "blind.tian2016", "blind.zhang2011", "blind.hacohen2013"]),
    ("pipeline and API", ["blind.photo", "api", "batch"]),
    ("CLI", ["cli", "__main__"]),
]
RANK = {prefix: i for i, (_, prefixes) in enumerate(LAYERS) for prefix in prefixes}


def _name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _resolve(target: str) -> str | None:
    """The module ``target`` names (a submodule imported with ``from pkg import sub`` included)."""
    rel = Path(*target.split("."))
    if (ROOT / rel).with_suffix(".py").exists() or (ROOT / rel / "__init__.py").exists():
        return target
    return None


def import_graph() -> dict[str, set[str]]:
    graph = defaultdict(set)
    for path in PKG.rglob("*.py"):
        mod = _name(path)
        pkg = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text())):
            targets = []
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = pkg.split(".")[: len(pkg.split(".")) - node.level + 1]
                    stem = ".".join(base + ([node.module] if node.module else []))
                else:
                    stem = node.module or ""
                for alias in node.names:
                    targets.append(_resolve(f"{stem}.{alias.name}") or stem)
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            graph[mod].update(t for t in targets if t.startswith("classicdeblur") and t != mod)
    return graph


def layer(module: str) -> int | None:
    """The layer of ``classicdeblur.<module>``; ``None`` for the package root (lazy loaders only)."""
    parts = module.split(".")[1:]
    for n in range(len(parts), 0, -1):
        if ".".join(parts[:n]) in RANK:
            return RANK[".".join(parts[:n])]
    return None


def test_every_module_has_a_layer():
    unplaced = sorted(m for m in import_graph() if m != "classicdeblur" and layer(m) is None)
    assert not unplaced, f"add these modules to LAYERS and docs/ARCHITECTURE.md: {unplaced}"


def test_no_module_imports_a_higher_layer():
    bad = []
    for mod, targets in import_graph().items():
        for t in targets:
            if t != "classicdeblur" and None not in (layer(mod), layer(t)) and layer(t) > layer(mod):
                bad.append(f"{mod} ({LAYERS[layer(mod)][0]}) imports {t} ({LAYERS[layer(t)][0]})")
    assert not bad, "\n".join(sorted(bad))


def test_face_tools_import_no_method_framework_api_or_cli():
    graph = import_graph()
    bad = [(m, t) for m, ts in graph.items() if m.startswith("classicdeblur.faces")
           for t in ts if t.startswith(("classicdeblur.blind", "classicdeblur.api", "classicdeblur.cli"))]
    assert not bad


def _cycles(graph):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
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

    sys.setrecursionlimit(10000)
    for v in list(graph):
        if v not in index:
            visit(v)
    return out


def test_no_import_loops():
    graph = import_graph()
    # the package root only holds lazy loaders of its submodules
    graph = {m: {t for t in ts if t != "classicdeblur"} for m, ts in graph.items() if m != "classicdeblur"}
    assert _cycles(graph) == []


def test_the_rules_catch_a_violation():
    graph = {"classicdeblur.operators.x": {"classicdeblur.blind.framework"}}
    assert layer("classicdeblur.blind.framework") > layer("classicdeblur.operators.x")
    assert _cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]
    assert graph  # the rule above is the one test_no_module_imports_a_higher_layer applies


@pytest.mark.parametrize("heavy", ["dlib", "cv2"])
def test_import_classicdeblur_loads_no_face_library(heavy):
    code = f"import classicdeblur, classicdeblur.blind, sys; print({heavy!r} in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
