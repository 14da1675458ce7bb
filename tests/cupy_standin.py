"""A CuPy stand-in for the CPU CI: NumPy-backed "device" arrays that behave like CuPy where it matters.

CuPy cannot run without a GPU, so code written against ``xp`` is never
exercised on its CuPy path by a CPU CI. This module gives that path a test:

* :class:`ndarray` is a distinct array class holding a NumPy array. Like
  ``cupy.ndarray`` it **refuses implicit conversion**: ``np.asarray(a)``,
  ``np.array(a)``, SciPy, OpenCV, dlib and ``@njit`` functions that receive it
  fail (``__array__`` raises CuPy's ``TypeError``). It converts explicitly with
  :meth:`ndarray.get` or :func:`asnumpy`. Reductions and scalar indexing give
  0-d arrays (as CuPy's do), so reading a number needs ``float()``,
  ``int()``, ``bool()`` or ``.item()``.
* Mixing it with NumPy arrays in an operation, a ``ufunc`` or a namespace
  function raises ``TypeError`` (CuPy: "Unsupported type"); Python and NumPy
  scalars are fine.
* :data:`xp` is the namespace (``cupy``): every NumPy function, taking and
  returning stand-in arrays, plus ``asarray``/``array`` (host to device),
  ``asnumpy`` (device to host), ``get_array_module``, ``fft`` (as
  ``cupy.fft``), ``linalg``, ``cuda.Device``. :data:`ndimage` is
  ``cupyx.scipy.ndimage`` (the SciPy functions that CuPy provides, on
  stand-in arrays only). :data:`fft` is what ``backend.rfft2`` and friends use.
* :data:`COUNTS` counts **transfers** (host to device: ``asarray`` of host
  data, host index arrays and host values assigned into a device array;
  device to host: ``.get()``, ``asnumpy``, ``.tolist()``) and **syncs**
  (a scalar read from the device: ``float/int/bool/item``, and the operations
  that CuPy must synchronise for because the size of their result depends on
  the data: ``nonzero``, boolean-mask indexing, ``unique``, ``label``...).
  Every event records its call site (:attr:`Counts.sites`).

:data:`KIND` is the :class:`classicdeblur.backend.DeviceArrays` entry that
plugs the stand-in into the package exactly where CuPy plugs in;
:func:`installed` registers it for the duration of a ``with`` block.

The arithmetic is NumPy's, and the FFT of ``backend.rfft2`` is SciPy's as on
the CPU path, so a method run on stand-in arrays gives the NumPy result bit
for bit unless the code branches on the namespace.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import operator
import sys
import types

import numpy as np
import scipy.fft
import scipy.ndimage

from classicdeblur import backend

__all__ = ["ndarray", "xp", "ndimage", "fft", "COUNTS", "Counts", "KIND", "installed", "asnumpy", "to_device",
           "IMPLICIT"]

#: CuPy's message for an implicit conversion.
IMPLICIT = ("Implicit conversion to a NumPy array is not allowed. Please use `.get()` to construct a NumPy "
            "array explicitly.")

_HERE = __file__
_BACKEND = backend.__file__  # its helpers move data for their callers: report the callers


def _site():
    """``file:line`` of the first frame outside this module (where the event was caused)."""
    f = sys._getframe(1)
    while f is not None and (f.f_code.co_filename == _HERE or f.f_code.co_filename == _BACKEND):
        f = f.f_back
    if f is None:  # pragma: no cover
        return "?"
    name = f.f_code.co_filename
    if "/classicdeblur/" in name:
        name = "classicdeblur/" + name.rsplit("/classicdeblur/", 1)[1]
    return f"{name}:{f.f_lineno}"


class Counts:
    """Host<->device transfers and device->host syncs since the last :meth:`reset`.

    Attributes
    ----------
    h2d, d2h : int
        Array transfers host to device and device to host.
    syncs : int
        Scalar reads from the device and data-dependent-size operations.
    sites : collections.Counter
        ``(kind, what, file:line)`` -> count, to find where an event comes from.
    """

    def __init__(self):
        self.reset()

    def reset(self):
        self.h2d = self.d2h = self.syncs = 0
        self.sites = collections.Counter()

    @property
    def transfers(self):
        return self.h2d + self.d2h

    def record(self, kind, what):
        setattr(self, kind, getattr(self, kind) + 1)
        self.sites[(kind, what, _site())] += 1

    def snapshot(self):
        return {"h2d": self.h2d, "d2h": self.d2h, "transfers": self.transfers, "syncs": self.syncs}

    def report(self, kind=None):
        rows = sorted(((k, w, s, n) for (k, w, s), n in self.sites.items() if kind in (None, k)),
                      key=lambda r: -r[3])
        return "\n".join(f"{n:6d}  {k:5s} {w:18s} {s}" for k, w, s, n in rows)


COUNTS = Counts()


# --------------------------------------------------------------------------------------
# moving between the stand-in and NumPy
# --------------------------------------------------------------------------------------


def _host_error(where):
    return TypeError(f"Unsupported type <class 'numpy.ndarray'> in {where}: a host (NumPy) array mixed with "
                     "device arrays; move it explicitly with xp.asarray")


def _unwrap(obj, where):
    """The NumPy data of stand-in arrays inside ``obj``; host arrays are refused (as CuPy does)."""
    if isinstance(obj, ndarray):
        return obj._a
    if isinstance(obj, np.ndarray):
        raise _host_error(where)
    if isinstance(obj, (list, tuple)):
        return type(obj)(_unwrap(o, where) for o in obj)
    if isinstance(obj, dict):
        return {k: _unwrap(v, where) for k, v in obj.items()}
    return obj


def _wrap(obj):
    """NumPy results as stand-in arrays (NumPy scalars become 0-d arrays, as CuPy's reductions give)."""
    if isinstance(obj, np.ndarray):
        return ndarray(obj)
    if isinstance(obj, np.generic) and obj.dtype.kind != "O":
        return ndarray(np.asarray(obj))
    if isinstance(obj, tuple):
        return tuple(_wrap(o) for o in obj)
    if isinstance(obj, list):
        return [_wrap(o) for o in obj]
    return obj


def to_device(a, dtype=None, *, copy=True):
    """``xp.asarray``: a host array (or list, or scalar) copied to the device (one h2d transfer)."""
    if isinstance(a, ndarray):
        if dtype is None or np.dtype(dtype) == a.dtype:
            return ndarray(a._a.copy()) if copy == "always" else a
        return ndarray(a._a.astype(dtype))
    if isinstance(a, (list, tuple)) and a and all(isinstance(o, ndarray) for o in a):
        return ndarray(np.asarray([o._a for o in a], dtype=dtype))  # cupy.array of device arrays: no transfer
    if isinstance(a, (list, tuple)) and any(isinstance(o, ndarray) for o in a):
        raise _host_error("asarray")
    COUNTS.record("h2d", "asarray")
    return ndarray(np.array(a, dtype=dtype, copy=True))


def asnumpy(a, stream=None, order="C", out=None):
    """``cupy.asnumpy``: a device array copied to the host (one d2h transfer); host arrays pass."""
    if isinstance(a, ndarray):
        return a.get()
    return np.asarray(a)


# --------------------------------------------------------------------------------------
# the array
# --------------------------------------------------------------------------------------


def _index(key, where="index"):
    """An index of a stand-in array: device index arrays are used as they are; host ones are transfers."""
    if isinstance(key, tuple):
        return tuple(_index(k, where) for k in key)
    if isinstance(key, ndarray):
        if key.dtype == bool:
            COUNTS.record("syncs", "boolean index")  # the size of the result depends on the data
        return key._a
    if isinstance(key, (np.ndarray, list)):
        COUNTS.record("h2d", "host index")
        return np.asarray(key)
    return key


def _binary(op):
    def method(self, other):
        return _wrap(op(self._a, _operand(other)))

    return method


def _rbinary(op):
    def method(self, other):
        return _wrap(op(_operand(other), self._a))

    return method


def _inplace(op):
    def method(self, other):
        op(self._a, _operand(other))
        return self

    return method


def _operand(o):
    if isinstance(o, ndarray):
        return o._a
    if isinstance(o, np.ndarray):
        raise _host_error("an arithmetic operation")
    if isinstance(o, (list, tuple)):
        raise TypeError(f"Unsupported type {type(o)}")
    return o


_SCALAR = (bool, int, float, complex, np.generic)


class ndarray:  # noqa: N801 - the name of cupy.ndarray
    """A device array of the stand-in (see the module docstring)."""

    __slots__ = ("_a",)
    __array_priority__ = 100
    __hash__ = None

    def __init__(self, a):
        if not isinstance(a, np.ndarray):  # pragma: no cover - internal
            raise TypeError("the stand-in wraps NumPy arrays only; use xp.asarray")
        self._a = a

    # ---- conversions --------------------------------------------------------------

    def __array__(self, dtype=None, copy=None):
        raise TypeError(IMPLICIT)

    def get(self, stream=None, order="C", out=None, blocking=True):
        """Copy to the host (one d2h transfer)."""
        COUNTS.record("d2h", "get")
        return self._a.copy()

    def tolist(self):
        COUNTS.record("d2h", "tolist")
        return self._a.tolist()

    def tobytes(self, order="C"):
        COUNTS.record("d2h", "tobytes")
        return self._a.tobytes(order)

    def item(self, *args):
        COUNTS.record("syncs", "item")
        return self._a.item(*args)

    def __float__(self):
        COUNTS.record("syncs", "float")
        return float(self._a)

    def __int__(self):
        COUNTS.record("syncs", "int")
        return int(self._a)

    def __complex__(self):
        COUNTS.record("syncs", "complex")
        return complex(self._a)

    def __bool__(self):
        COUNTS.record("syncs", "bool")
        return bool(self._a)

    def __index__(self):
        COUNTS.record("syncs", "index")
        return self._a.__index__()

    def __format__(self, spec):
        COUNTS.record("syncs", "format")
        return format(self._a.item() if self._a.ndim == 0 else self._a, spec)

    def __repr__(self):
        return "standin." + repr(self._a)

    def __str__(self):
        return str(self._a)

    # ---- attributes ---------------------------------------------------------------

    shape = property(lambda self: self._a.shape)
    dtype = property(lambda self: self._a.dtype)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    itemsize = property(lambda self: self._a.itemsize)
    nbytes = property(lambda self: self._a.nbytes)
    strides = property(lambda self: self._a.strides)
    flags = property(lambda self: self._a.flags)
    T = property(lambda self: ndarray(self._a.T))
    device = property(lambda self: "standin:0")

    @property
    def real(self):
        return ndarray(self._a.real)

    @property
    def imag(self):
        return ndarray(self._a.imag)

    def __len__(self):
        return len(self._a)

    def __iter__(self):
        for i in range(len(self._a)):
            yield self[i]

    def __getattr__(self, name):
        if name.startswith("__") or name == "_a":
            raise AttributeError(name)
        attr = getattr(self._a, name)
        if name in ("nonzero",):
            COUNTS.record("syncs", name)
        if callable(attr):
            return _device_function(attr, f"ndarray.{name}")
        return _wrap(attr)

    # ---- indexing -----------------------------------------------------------------

    def __getitem__(self, key):
        return _wrap(self._a[_index(key)])

    def __setitem__(self, key, value):
        if isinstance(value, np.ndarray):
            COUNTS.record("h2d", "host value")
        elif isinstance(value, ndarray):
            value = value._a
        elif isinstance(value, (list, tuple)):
            COUNTS.record("h2d", "host value")
        self._a[_index(key)] = value

    # ---- NumPy protocols: like CuPy, ufuncs and array functions dispatch here -----

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        inputs = tuple(_operand(i) for i in inputs)
        if "out" in kwargs:
            kwargs["out"] = tuple(_unwrap(o, f"{ufunc.__name__}(out=)") for o in kwargs["out"])
        return _wrap(getattr(ufunc, method)(*inputs, **kwargs))

    def __array_function__(self, func, types_, args, kwargs):
        name = getattr(func, "__name__", "")
        impl = getattr(xp, name, None)
        if impl is None:  # pragma: no cover
            return NotImplemented
        return impl(*args, **kwargs)

    # ---- arithmetic ---------------------------------------------------------------

    def __neg__(self):
        return ndarray(-self._a)

    def __pos__(self):
        return ndarray(+self._a)

    def __abs__(self):
        return ndarray(abs(self._a))

    def __invert__(self):
        return ndarray(~self._a)


for _name in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "and", "or", "xor", "lshift",
              "rshift"):
    _f = getattr(operator, f"__{_name}__")
    setattr(ndarray, f"__{_name}__", _binary(_f))
    setattr(ndarray, f"__r{_name}__", _rbinary(_f))
    setattr(ndarray, f"__i{_name}__", _inplace(getattr(operator, f"__i{_name}__")))
for _name in ("eq", "ne", "lt", "le", "gt", "ge"):
    setattr(ndarray, f"__{_name}__", _binary(getattr(operator, f"__{_name}__")))
del _name, _f


# --------------------------------------------------------------------------------------
# namespaces
# --------------------------------------------------------------------------------------

#: Functions whose result size depends on the data: CuPy synchronises to allocate it.
_SYNCING = {"nonzero", "flatnonzero", "argwhere", "unique", "extract", "compress", "label", "find_objects",
            "value_indices", "unique_values", "unique_counts", "unique_inverse", "unique_all"}


def _device_function(fn, where):
    name = where.rpartition(".")[2]

    @functools.wraps(fn)
    def call(*args, **kwargs):
        if name in _SYNCING or (name == "where" and len(args) + len(kwargs) == 1):
            COUNTS.record("syncs", name)
        return _wrap(fn(*_unwrap(args, where), **_unwrap(kwargs, where)))

    return call


class _Namespace(types.ModuleType):
    """A module whose functions are NumPy's (or SciPy's) on stand-in arrays."""

    def __init__(self, name, base, *, allowed=None, **own):
        super().__init__(name)
        self._base, self._allowed = base, allowed
        self.__dict__.update(own)

    def __getattr__(self, name):
        if name.startswith("__") or (self._allowed is not None and name not in self._allowed):
            raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}")
        attr = getattr(self._base, name)
        if isinstance(attr, types.ModuleType):
            raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}")
        if callable(attr) and not isinstance(attr, type):
            attr = _device_function(attr, f"{self.__name__}.{name}")
        setattr(self, name, attr)
        return attr


def _get_array_module(*args):
    return xp if any(isinstance(a, ndarray) for a in args) else np


cuda = types.SimpleNamespace(
    Device=lambda *a: types.SimpleNamespace(id=0, synchronize=lambda: None),
    is_available=lambda: True,
    get_current_stream=lambda: types.SimpleNamespace(synchronize=lambda: None),
)

#: ``cupy.fft``: NumPy's FFT on stand-in arrays.
xp_fft = _Namespace("standin.fft", np.fft)

#: ``cupy``: the namespace of the stand-in.
xp = _Namespace(
    "standin", np,
    ndarray=ndarray,
    asarray=lambda a, dtype=None, order=None, **kw: to_device(a, dtype),
    array=lambda a, dtype=None, copy=True, order="K", ndmin=0: to_device(a, dtype, copy="always" if copy else False),
    ascontiguousarray=lambda a, dtype=None: (ndarray(np.ascontiguousarray(a._a, dtype=dtype)) if isinstance(a, ndarray)
                                             else to_device(np.ascontiguousarray(a, dtype=dtype))),
    asnumpy=asnumpy,
    get_array_module=_get_array_module,
    fft=xp_fft,
    linalg=_Namespace("standin.linalg", np.linalg),
    random=_Namespace("standin.random", np.random),
    cuda=cuda,
)

#: ``cupy.fft`` as the package's FFT helpers use it: ``scipy.fft`` on stand-in
#: arrays, so that the stand-in path rounds exactly as the CPU path does.
fft = _Namespace("standin.backend_fft", scipy.fft)

#: What ``cupyx.scipy.ndimage`` provides (CuPy 14).
NDIMAGE_FUNCTIONS = frozenset("""
affine_transform binary_closing binary_dilation binary_erosion binary_fill_holes binary_hit_or_miss binary_opening
binary_propagation black_tophat center_of_mass convolve convolve1d correlate correlate1d distance_transform_edt
extrema fourier_ellipsoid fourier_gaussian fourier_shift fourier_uniform gaussian_filter gaussian_filter1d
gaussian_gradient_magnitude gaussian_laplace generate_binary_structure generic_filter generic_filter1d
generic_gradient_magnitude generic_laplace grey_closing grey_dilation grey_erosion grey_opening histogram
iterate_structure label labeled_comprehension laplace map_coordinates maximum maximum_filter maximum_filter1d
maximum_position mean median median_filter minimum minimum_filter minimum_filter1d minimum_position
morphological_gradient morphological_laplace percentile_filter prewitt rank_filter rotate shift sobel
spline_filter spline_filter1d standard_deviation sum sum_labels uniform_filter uniform_filter1d variance
white_tophat zoom
""".split())

#: ``cupyx.scipy.ndimage``: SciPy's functions on stand-in arrays only.
ndimage = _Namespace("standin.ndimage", scipy.ndimage, allowed=NDIMAGE_FUNCTIONS)

#: The stand-in as a kind of device array of :mod:`classicdeblur.backend`.
KIND = backend.DeviceArrays(
    name="standin",
    module_prefix=__name__,
    namespace=lambda: xp,
    ndimage=lambda: ndimage,
    fft=lambda: fft,
    to_host=lambda a: a.get(),
    kernel_arg=lambda a: a._a,  # the CUDA simulator runs kernels on host memory: the array in place, no copy
)
# the namespace is recognised by its name, as CuPy's ("cupy") is
xp.__name__ = __name__


@contextlib.contextmanager
def installed():
    """Register the stand-in with :mod:`classicdeblur.backend` for the ``with`` block; counts reset."""
    remove = backend.register_device_arrays(KIND)
    COUNTS.reset()
    try:
        yield xp
    finally:
        remove()
