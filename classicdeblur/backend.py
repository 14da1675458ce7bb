"""One algorithm source for NumPy (CPU) and CuPy (GPU).

Algorithms take arrays and ask :func:`get_namespace` for their module ``xp``;
FFTs go through :func:`fft2` / :func:`ifft2` so that the CPU uses ``scipy.fft``
(2-4x faster than ``numpy.fft`` here) and the GPU ``cupy.fft``.

What is a device array is decided in one place, the table
:data:`DEVICE_ARRAYS`: CuPy's arrays (recognised by the module of their type,
so CuPy is never imported to ask), and whatever a test registers with
:func:`register_device_arrays` (the CuPy stand-in of ``tests/cupy_standin.py``,
a NumPy-backed array type that refuses implicit conversion and counts
transfers). Every helper below (:func:`is_cupy`, :func:`get_namespace`,
:func:`get_ndimage`, :func:`to_numpy`, :func:`kernel_arg`, the FFTs) goes
through that table, so the stand-in takes the production path of CuPy.

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

from dataclasses import dataclass, field
from typing import Callable

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
    "is_device",
    "kernel_arg",
    "DeviceArrays",
    "DEVICE_ARRAYS",
    "register_device_arrays",
    "device_arrays",
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


# --------------------------------------------------------------------------------------
# device array types
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeviceArrays:
    """How the package handles one kind of device array (CuPy's, or a test's stand-in).

    Every function of this module that must tell a device array from a host
    (NumPy) array asks the table :data:`DEVICE_ARRAYS`, so an algorithm sees
    the same code path whatever fills it.

    Attributes
    ----------
    name : str
        A label, e.g. ``"cupy"``.
    module_prefix : str
        An array is of this kind when the module of its type is this package
        or one of its submodules (``"cupy"`` matches
        ``cupy._core.core.ndarray`` without importing CuPy).
    namespace : callable
        ``() -> module``: the array module (``cupy``).
    ndimage : callable
        ``() -> module``: its ``scipy.ndimage`` (``cupyx.scipy.ndimage``).
    fft : callable
        ``() -> module``: the FFT module used by :func:`fft2` and friends
        (``cupy.fft``).
    to_host : callable
        ``(array) -> numpy.ndarray``, an explicit device-to-host copy.
    kernel_arg : callable
        ``(array) -> object`` that a ``@cuda.jit`` kernel takes (a CuPy array
        itself, through the CUDA array interface).
    """

    name: str
    module_prefix: str
    namespace: Callable[[], object]
    ndimage: Callable[[], object]
    fft: Callable[[], object]
    to_host: Callable[[object], np.ndarray]
    kernel_arg: Callable[[object], object] = field(default=lambda a: a)

    def matches(self, x) -> bool:
        mod = type(x).__module__
        return mod == self.module_prefix or mod.startswith(self.module_prefix + ".")

    def owns(self, xp) -> bool:
        """True when ``xp`` is this kind's array module (compared by name: CuPy is never imported here)."""
        return getattr(xp, "__name__", None) == self.module_prefix


def _cupy():
    import cupy

    return cupy


def _cupy_ndimage():
    import cupyx.scipy.ndimage

    return cupyx.scipy.ndimage


def _cupy_fft():
    import cupy.fft

    return cupy.fft


#: The device array kinds the package knows, CuPy first. Tests append a
#: NumPy-backed stand-in that behaves like CuPy (``tests/cupy_standin.py``)
#: with :func:`register_device_arrays`.
DEVICE_ARRAYS: list[DeviceArrays] = [
    DeviceArrays("cupy", "cupy", _cupy, _cupy_ndimage, _cupy_fft, lambda a: a.get()),
]


def register_device_arrays(kind: DeviceArrays):
    """Add ``kind`` to :data:`DEVICE_ARRAYS` (once) and return a function that removes it again."""
    if kind not in DEVICE_ARRAYS:
        DEVICE_ARRAYS.append(kind)

    def remove():
        if kind in DEVICE_ARRAYS:
            DEVICE_ARRAYS.remove(kind)

    return remove


def device_arrays(x):
    """The :class:`DeviceArrays` kind of ``x``, or None for a host (NumPy) array or anything else."""
    for kind in DEVICE_ARRAYS:
        if kind.matches(x):
            return kind
    return None


def _kind_of_namespace(xp):
    for kind in DEVICE_ARRAYS:
        if kind.owns(xp):
            return kind
    raise TypeError(f"not an array module of a known device: {xp!r}")


def is_cupy(x) -> bool:
    """True when ``x`` is a device array: CuPy's, or one of :data:`DEVICE_ARRAYS` (checked without importing CuPy)."""
    return device_arrays(x) is not None


is_device = is_cupy


def get_namespace(*arrays):
    """The array module of ``arrays``: ``cupy`` (the device's module) if any is a device array, else ``numpy``."""
    for a in arrays:
        kind = device_arrays(a)
        if kind is not None:
            return kind.namespace()
    return np


def get_ndimage(xp):
    """``scipy.ndimage`` for NumPy, ``cupyx.scipy.ndimage`` for CuPy."""
    if xp is np:
        import scipy.ndimage

        return scipy.ndimage
    return _kind_of_namespace(xp).ndimage()


def to_numpy(x):
    """Return ``x`` as a NumPy array (an explicit copy from the device when needed)."""
    kind = device_arrays(x)
    if kind is not None:
        return kind.to_host(x)
    return np.asarray(x)


def kernel_arg(x):
    """What a ``@cuda.jit`` kernel takes for the device array ``x`` (no copy)."""
    kind = device_arrays(x)
    if kind is None:
        raise TypeError(f"not a device array: {type(x).__name__}")
    return kind.kernel_arg(x)


def asarray_on(xp, a, dtype=None):
    """Move ``a`` to the device of ``xp`` (no copy when it is already there)."""
    if xp is np:
        return np.asarray(to_numpy(a), dtype=dtype)
    return xp.asarray(a, dtype=dtype)


#: A transform of at least this many elements on the CPU uses every core (``scipy.fft``'s ``workers``:
#: the same result; a 1700x1700 real FFT pair 52 -> 29 ms on 2 cores, while below 1024x1024 threads cost
#: more than they save).
FFT_PARALLEL_SIZE = 1 << 20


def _fft(x):
    """The FFT module for ``x`` and its keywords: ``(cupy.fft, {})`` or ``(scipy.fft, {"workers": n})``."""
    kind = device_arrays(x)
    if kind is not None:
        return kind.fft(), {}
    import scipy.fft

    return scipy.fft, {"workers": -1 if x.size >= FFT_PARALLEL_SIZE else 1}


def fft2(x, s=None, axes=(0, 1)):
    """2-D FFT over the first two axes (``scipy.fft`` on CPU, ``cupy.fft`` on GPU).

    ``axes=(-2, -1)`` transforms a stack of images with a leading batch axis
    (one batched FFT; each image's transform is the one it gets alone).
    """
    mod, kw = _fft(x)
    return mod.fft2(x, s=s, axes=axes, **kw)


def ifft2(x, s=None, axes=(0, 1)):
    """Inverse of :func:`fft2`."""
    mod, kw = _fft(x)
    return mod.ifft2(x, s=s, axes=axes, **kw)


def rfft2(x, s=None, axes=(0, 1)):
    """Real 2-D FFT over the first two axes (or ``axes``)."""
    mod, kw = _fft(x)
    return mod.rfft2(x, s=s, axes=axes, **kw)


def irfft2(x, s, axes=(0, 1)):
    """Inverse of :func:`rfft2`; ``s`` is the real output shape."""
    mod, kw = _fft(x)
    return mod.irfft2(x, s=s, axes=axes, **kw)
