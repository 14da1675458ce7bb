"""The engine module: checking, resolving and dispatching ``engine=`` in one place."""

import ast
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from classicdeblur import engines
from classicdeblur.engines import ENGINES, check_engine, dispatch, resolve_engine
from classicdeblur.filters import bilateral
from classicdeblur.solvers import _shrink
from classicdeblur.solvers._shrink import shrink_soft

PACKAGE = Path(engines.__file__).parent


class _FakeCupyArray:
    """Looks like a CuPy array to :func:`classicdeblur.backend.is_cupy` (which only reads the module name)."""

    __module__ = "cupy._core.core"


@pytest.fixture
def no_cuda(monkeypatch):
    """numba.cuda unavailable, and no fallback warning given yet."""
    monkeypatch.setattr(engines, "numba_cuda_available", lambda: False)
    monkeypatch.setattr(engines, "_WARNED", set())


def test_engine_names():
    assert ENGINES == ("auto", "numpy", "numba", "cuda")
    for name in ENGINES:
        assert check_engine(name) == name


@pytest.mark.parametrize("bad", ["fast", "NUMPY", "", None, 3, ("numpy",)])
def test_check_engine_lists_the_valid_names(bad):
    with pytest.raises(ValueError) as info:
        check_engine(bad)
    assert str(info.value) == f"unknown engine {bad!r}; choose from: auto, numpy, numba, cuda"


def test_resolve_engine_on_numpy_arrays():
    a = np.zeros((2, 3))
    assert resolve_engine("auto", a) == "numba"
    assert resolve_engine("numpy", a) == "numpy"
    assert resolve_engine("numba", a) == "numba"
    with pytest.raises(ValueError, match="unknown engine 'gpu'; choose from: auto, numpy, numba, cuda"):
        resolve_engine("gpu", a)


def test_resolve_engine_on_cupy_arrays(monkeypatch):
    monkeypatch.setattr(engines, "numba_cuda_available", lambda: True)
    assert resolve_engine("auto", _FakeCupyArray()) == "cuda"
    assert resolve_engine("numpy", _FakeCupyArray()) == "numpy"
    with pytest.raises(ValueError, match="engine 'numba' runs on NumPy arrays only; use 'cuda' or 'numpy'"):
        resolve_engine("numba", _FakeCupyArray())


def test_unavailable_cuda_falls_back_to_numpy_with_one_warning(no_cuda):
    with pytest.warns(RuntimeWarning, match="numba.cuda is not available; falling back to engine='numpy'") as rec:
        assert resolve_engine("cuda", np.zeros(2), stacklevel=1) == "numpy"
    assert rec[0].filename == __file__  # stacklevel=1: the warning points at the line calling resolve_engine
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert resolve_engine("cuda", np.zeros(2)) == "numpy"  # once only
        assert resolve_engine("auto", _FakeCupyArray()) == "numpy"


def test_unavailable_numba_falls_back_to_numpy(monkeypatch):
    monkeypatch.setattr(engines, "_WARNED", set())
    monkeypatch.setitem(sys.modules, "numba", None)  # "import numba" now raises ImportError
    with pytest.warns(RuntimeWarning, match="numba is not importable; falling back to engine='numpy'"):
        assert resolve_engine("auto", np.zeros(2)) == "numpy"


def test_dispatch_picks_the_implementation_of_the_resolved_engine(monkeypatch):
    monkeypatch.setattr(engines, "numba_cuda_available", lambda: True)
    impls = dict(numpy="NP", numba=len, cuda=max)  # any objects are returned as they are
    a = np.zeros(3)
    assert dispatch("numpy", a, numpy=np, numba=len, cuda=max) is np
    assert dispatch("numba", a, **{**impls, "numpy": np}) is len
    assert dispatch("auto", a, **{**impls, "numpy": np}) is len
    assert dispatch("cuda", a, **{**impls, "numpy": np}) is max
    assert dispatch("auto", _FakeCupyArray(), **{**impls, "numpy": np}) is max
    with pytest.raises(ValueError, match="choose from: auto, numpy, numba, cuda"):
        dispatch("fast", a, **impls)


def test_dispatch_imports_only_the_chosen_module():
    a = np.zeros(3)
    assert dispatch("numpy", a, numpy="math", numba="no_such_module_x", cuda="no_such_module_x").__name__ == "math"
    with pytest.raises(ModuleNotFoundError):
        dispatch("numba", a, numpy="math", numba="no_such_module_x", cuda="math")


def test_dispatch_falls_back_to_the_numpy_implementation(no_cuda):
    with pytest.warns(RuntimeWarning, match="falling back"):
        assert dispatch("cuda", np.zeros(2), numpy="math", numba="cmath", cuda="cmath").__name__ == "math"


@pytest.mark.parametrize(
    "call",
    [lambda: shrink_soft(np.zeros(3), 0.1, engine="cuda"), lambda: bilateral(np.zeros((3, 3)), engine="cuda")],
    ids=["shrink_soft", "bilateral"],
)
def test_fallback_warning_points_at_the_caller_of_the_public_function(no_cuda, call):
    with pytest.warns(RuntimeWarning, match="falling back") as rec:
        call()
    assert rec[0].filename == __file__


def test_shrink_and_filters_share_the_engine_module():
    import classicdeblur.filters as filters

    assert _shrink.ENGINES is engines.ENGINES
    assert _shrink.resolve_engine is engines.resolve_engine
    assert filters.dispatch is _shrink.dispatch is engines.dispatch


def test_engine_module_sits_low():
    code = (
        "import sys, classicdeblur.engines; "
        "print(sorted(m for m in sys.modules if m.startswith(('classicdeblur.', 'numba', 'cupy'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert set(eval(out)) <= {"classicdeblur.engines", "classicdeblur._deps", "classicdeblur.backend",
                              "classicdeblur.errors"}


def _imported_modules(path):
    """Absolute names of the ``classicdeblur`` modules that the file at ``path`` imports (anywhere in it)."""
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    package = ".".join(parts[:-1])  # none of the files checked is a package __init__
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
            mod = (f"{base}.{node.module}" if node.module else base) if node.level else node.module
            for a in node.names:  # "from pkg import sub" imports pkg.sub; "from mod import name" imports mod
                sub = f"{mod}.{a.name}"
                is_module = (PACKAGE.parent / sub.replace(".", "/")).with_suffix(".py").exists() or (
                    PACKAGE.parent / sub.replace(".", "/") / "__init__.py"
                ).exists()
                found.add(sub if is_module else mod)
    return {m for m in found if m.startswith("classicdeblur")}


@pytest.mark.parametrize(
    "twin, dispatcher",
    [
        ("solvers/_shrink_numba.py", "classicdeblur.solvers._shrink"),
        ("solvers/_shrink_cuda.py", "classicdeblur.solvers._shrink"),
        ("solvers/_shrink_scalar.py", "classicdeblur.solvers._shrink"),
        ("filters/_numba.py", "classicdeblur.filters"),
        ("filters/_cuda.py", "classicdeblur.filters"),
        ("filters/_reference.py", "classicdeblur.filters"),
    ],
)
def test_engine_modules_do_not_import_their_dispatcher(twin, dispatcher):
    # the dispatcher imports them (through engines.dispatch); they never import it back: no import loop
    imported = _imported_modules(PACKAGE / twin)
    assert dispatcher not in imported
    assert imported <= {
        "classicdeblur.backend", "classicdeblur.engines", "classicdeblur.solvers._shrink_scalar",
        "classicdeblur.filters._reference",
    }


def test_imported_modules_helper():
    imported = _imported_modules(PACKAGE / "filters" / "__init__.py")
    assert {"classicdeblur.engines", "classicdeblur.filters._reference", "classicdeblur.backend"} <= imported
