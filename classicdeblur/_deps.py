"""Optional-dependency probes, computed lazily and cached.

Nothing here imports CuPy or Numba-CUDA at module import time.
"""

from __future__ import annotations

import functools
import os

__all__ = ["cupy_available", "numba_cuda_available", "cuda_simulator"]


@functools.cache
def cupy_available() -> bool:
    """True when CuPy imports *and* runs one operation on a real device.

    Never raises. ``CLASSICDEBLUR_DISABLE_GPU=1`` forces False.
    """
    if os.environ.get("CLASSICDEBLUR_DISABLE_GPU", "") not in ("", "0"):
        return False
    try:
        import cupy

        return bool(cupy.cuda.is_available()) and bool(cupy.zeros(1).sum().item() == 0)
    except Exception:  # any failure means "no GPU", by design
        return False


def cuda_simulator() -> bool:
    """True when Numba's CUDA simulator is requested (``NUMBA_ENABLE_CUDASIM=1``)."""
    return os.environ.get("NUMBA_ENABLE_CUDASIM", "0") not in ("", "0")


@functools.cache
def numba_cuda_available() -> bool:
    """True when ``numba.cuda`` imports and reports a device (or the simulator). Never raises."""
    try:
        from numba import cuda

        return bool(cuda.is_available())
    except Exception:
        return False
