"""One algorithm source for NumPy (CPU) and CuPy (GPU).

Algorithms take arrays and ask :func:`get_namespace` for their module ``xp``;
FFTs go through :func:`fft2` / :func:`ifft2` so that the CPU uses ``scipy.fft``
(2-4x faster than ``numpy.fft`` here) and the GPU ``cupy.fft``.

Examples
--------
>>> import numpy as np
>>> xp = get_namespace(np.zeros(3))
>>> xp is np
True
>>> resolve_device("cpu")
'cpu'
"""

from __future__ import annotations

import numpy as np

from ._deps import cupy_available
from .errors import DeviceUnavailableError

__all__ = [
    "DEVICES",
    "resolve_device",
    "namespace_for",
    "get_namespace",
    "get_ndimage",
    "to_numpy",
    "asarray_on",
    "fft2",
    "ifft2",
    "rfft2",
    "irfft2",
    "is_cupy",
]

DEVICES = ("auto", "cpu", "gpu")


def resolve_device(device: str = "auto") -> str:
    """Turn ``"auto"|"cpu"|"gpu"`` into ``"cpu"`` or ``"gpu"``.

    ``auto`` picks the GPU only when CuPy really works (probed once, never raising).

    Raises
    ------
    ValueError
        For an unknown device name.
    DeviceUnavailableError
        For ``"gpu"`` without a working CuPy device.
    """
    if device not in DEVICES:
        raise ValueError(f"unknown device {device!r}; choose from: {', '.join(DEVICES)}")
    if device == "cpu":
        return "cpu"
    ok = cupy_available()
    if device == "gpu" and not ok:
        raise DeviceUnavailableError(
            "device='gpu' needs CuPy and a CUDA device; install the 'gpu' extra "
            "(pip install 'classicdeblur[gpu]') or use device='cpu'"
        )
    return "gpu" if ok else "cpu"


def namespace_for(device: str):
    """Array module for a resolved device name (``numpy`` or ``cupy``)."""
    if resolve_device(device) == "gpu":
        import cupy

        return cupy
    return np


def is_cupy(x) -> bool:
    """True when ``x`` is a CuPy array (checked without importing CuPy)."""
    return type(x).__module__.startswith("cupy")


def get_namespace(*arrays):
    """The array module of ``arrays``: ``cupy`` if any is a CuPy array, else ``numpy``."""
    for a in arrays:
        if is_cupy(a):
            import cupy

            return cupy
    return np


def get_ndimage(xp):
    """``scipy.ndimage`` for NumPy, ``cupyx.scipy.ndimage`` for CuPy."""
    if xp is np:
        import scipy.ndimage

        return scipy.ndimage
    import cupyx.scipy.ndimage

    return cupyx.scipy.ndimage


def to_numpy(x):
    """Return ``x`` as a NumPy array (copying from the GPU when needed)."""
    if is_cupy(x):
        return x.get()
    return np.asarray(x)


def asarray_on(xp, a, dtype=None):
    """Move ``a`` to the device of ``xp`` (no copy when it is already there)."""
    if xp is np:
        return np.asarray(to_numpy(a), dtype=dtype)
    return xp.asarray(a, dtype=dtype)


def _fft_module(x):
    if is_cupy(x):
        import cupy

        return cupy.fft
    import scipy.fft

    return scipy.fft


def fft2(x, s=None):
    """2-D FFT over the first two axes (``scipy.fft`` on CPU, ``cupy.fft`` on GPU)."""
    return _fft_module(x).fft2(x, s=s, axes=(0, 1))


def ifft2(x, s=None):
    """Inverse of :func:`fft2`."""
    return _fft_module(x).ifft2(x, s=s, axes=(0, 1))


def rfft2(x, s=None):
    """Real 2-D FFT over the first two axes."""
    return _fft_module(x).rfft2(x, s=s, axes=(0, 1))


def irfft2(x, s):
    """Inverse of :func:`rfft2`; ``s`` is the real output shape."""
    return _fft_module(x).irfft2(x, s=s, axes=(0, 1))
