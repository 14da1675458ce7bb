"""classicdeblur: classical, model-based deblurring of face images.

Blind kernel estimation alternated with deconvolution, guided by what faces
look like, on NumPy (CPU) or CuPy (GPU) from one algorithm source.

Conventions: images are float arrays in [0, 1] of shape ``(M, N)`` or
``(M, N, C)``; kernels are odd-sized, non-negative, sum to 1, with their
centre at ``(h // 2, w // 2)``; blur is a true convolution ``y = k * x + n``.

Submodules and the API are loaded on first use (PEP 562), so importing the
package does not import SciPy's FFT, Numba, CuPy or dlib.

Examples
--------
>>> import classicdeblur as cd
>>> "hyper_laplacian" in [m.name for m in cd.methods()]
True
"""

import importlib

__version__ = "0.1.0"

_API = {"deconvolve", "deblur", "deblur_batch", "methods", "resolve_kernel", "DeblurResult", "MethodInfo"}
_IO = {"read_image", "write_image", "read_kernel", "write_kernel"}
_SUBMODULES = {
    "api", "backend", "batch", "blind", "cli", "color", "datasets", "degrade", "engines", "errors", "io",
    "faces", "filters", "metrics", "niqe", "operators", "psf", "solvers",
}

__all__ = sorted(_API | _IO | {"__version__"})


def __getattr__(name):
    if name in _API:
        return getattr(importlib.import_module(".api", __name__), name)
    if name in _IO:
        return getattr(importlib.import_module(".io", __name__), name)
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'classicdeblur' has no attribute {name!r}")


def __dir__():
    return sorted(set(__all__) | _SUBMODULES)
