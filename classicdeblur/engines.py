"""Engines of the per-pixel loops: one place that checks, resolves and dispatches ``engine=``.

The per-pixel steps (the shrinkages of :mod:`classicdeblur.solvers._shrink`,
the filters of :mod:`classicdeblur.filters`) each exist in three
interchangeable implementations, chosen with ``engine=``:

``"numpy"``
    vectorised array code; runs on NumPy *and* CuPy arrays. The reference the
    other engines are tested against.
``"numba"``
    ``@njit`` loops over pixels, NumPy arrays only.
``"cuda"``
    ``@cuda.jit`` kernels, one thread per pixel; CuPy arrays, or NumPy arrays
    (copied to the device, or run in Numba's CUDA simulator).
``"auto"``
    ``"cuda"`` for CuPy arrays, ``"numba"`` for NumPy arrays.

A missing Numba or Numba-CUDA falls back to ``"numpy"`` with a one-time
``RuntimeWarning``.

This module sits low in the package: it imports only the standard library,
:mod:`classicdeblur._deps` and :mod:`classicdeblur.backend`, never the modules
that dispatch through it, nor Numba or CuPy. The engine modules themselves are
imported only when :func:`dispatch` chooses them.

Examples
--------
>>> import numpy as np
>>> check_engine("numba")
'numba'
>>> resolve_engine("auto", np.zeros(3))
'numba'
>>> dispatch("numpy", np.zeros(3), numpy="math", numba="cmath", cuda="cmath").__name__
'math'
"""

from __future__ import annotations

import importlib
import warnings

from ._deps import numba_cuda_available
from .backend import is_cupy

__all__ = ["ENGINES", "check_engine", "resolve_engine", "dispatch"]

#: Valid values of ``engine=``.
ENGINES = ("auto", "numpy", "numba", "cuda")

_WARNED: set = set()


def _warn_once(key, message, stacklevel):
    if key not in _WARNED:
        _WARNED.add(key)
        warnings.warn(message, RuntimeWarning, stacklevel=stacklevel + 1)


def check_engine(engine):
    """Check that ``engine`` is one of :data:`ENGINES` and return it.

    Parameters
    ----------
    engine : str
        Engine name.

    Returns
    -------
    str
        ``engine``, unchanged.

    Raises
    ------
    ValueError
        When ``engine`` is not one of :data:`ENGINES` (the message lists them).

    Examples
    --------
    >>> check_engine("auto")
    'auto'
    >>> check_engine("fast")
    Traceback (most recent call last):
    ...
    ValueError: unknown engine 'fast'; choose from: auto, numpy, numba, cuda
    """
    if not isinstance(engine, str) or engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; choose from: {', '.join(ENGINES)}")
    return engine


def resolve_engine(engine, array, *, stacklevel=2):
    """Turn ``engine`` into the engine that will run on ``array``.

    Parameters
    ----------
    engine : {"auto", "numpy", "numba", "cuda"}
        Requested engine.
    array : ndarray
        The (first) input array, NumPy or CuPy.
    stacklevel : int
        Where a fallback warning points, as in :func:`warnings.warn`, counted
        from the caller of this function: 1 is the line that calls
        ``resolve_engine``, 2 (the default) the line that calls that function.

    Returns
    -------
    str
        ``"numpy"``, ``"numba"`` or ``"cuda"``.

    Raises
    ------
    ValueError
        ``engine`` is not one of :data:`ENGINES`, or ``"numba"`` was asked for
        a CuPy array.

    Warns
    -----
    RuntimeWarning
        Once per engine, when Numba (for ``"numba"``) or ``numba.cuda`` (for
        ``"cuda"``) is not available; ``"numpy"`` is returned instead.

    Notes
    -----
    ``"auto"`` is ``"cuda"`` for a CuPy array and ``"numba"`` for a NumPy array,
    then checked like an explicit request (so it may fall back to ``"numpy"``).

    Examples
    --------
    >>> import numpy as np
    >>> resolve_engine("auto", np.zeros(2))
    'numba'
    >>> resolve_engine("numpy", np.zeros(2))
    'numpy'
    >>> resolve_engine("fast", np.zeros(2))
    Traceback (most recent call last):
    ...
    ValueError: unknown engine 'fast'; choose from: auto, numpy, numba, cuda
    """
    check_engine(engine)
    gpu = is_cupy(array)
    if engine == "auto":
        engine = "cuda" if gpu else "numba"
    if engine == "numba":
        if gpu:
            raise ValueError("engine 'numba' runs on NumPy arrays only; use 'cuda' or 'numpy' for CuPy arrays")
        try:
            import numba  # noqa: F401
        except Exception:  # pragma: no cover - numba is a core dependency
            _warn_once("numba", "numba is not importable; falling back to engine='numpy'", stacklevel + 1)
            return "numpy"
    elif engine == "cuda" and not numba_cuda_available():
        _warn_once("cuda", "numba.cuda is not available; falling back to engine='numpy'", stacklevel + 1)
        return "numpy"
    return engine


def dispatch(engine, array, *, numpy, numba, cuda, stacklevel=2):
    """The implementation of the engine that :func:`resolve_engine` picks for ``array``.

    Parameters
    ----------
    engine : {"auto", "numpy", "numba", "cuda"}
        Requested engine.
    array : ndarray
        The (first) input array, NumPy or CuPy.
    numpy, numba, cuda : module or str
        The implementation of each engine: an object, returned as it is, or
        the absolute dotted name of a module, imported only when chosen (so
        that Numba is imported only when an engine needs it).
    stacklevel : int
        Where a fallback warning points, counted from the caller of this
        function as in :func:`resolve_engine`.

    Returns
    -------
    module or object
        The implementation given for the resolved engine.

    Raises
    ------
    ValueError
        As :func:`resolve_engine`.

    Examples
    --------
    >>> import numpy as np
    >>> impl = dispatch("numba", np.zeros(2), numpy="math", numba="cmath", cuda="cmath")
    >>> impl.__name__
    'cmath'
    >>> dispatch("auto", np.zeros(2), numpy=None, numba=len, cuda=None) is len
    True
    """
    chosen = {"numpy": numpy, "numba": numba, "cuda": cuda}[resolve_engine(engine, array, stacklevel=stacklevel + 1)]
    return importlib.import_module(chosen) if isinstance(chosen, str) else chosen
