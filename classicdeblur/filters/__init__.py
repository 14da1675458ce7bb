"""Per-pixel image filters of blind kernel estimation, with interchangeable engines.

* :func:`bilateral` -- the bilateral filter (Tomasi & Manduchi 1998), the
  smoothing of Cho & Lee's (2009) prediction step;
* :func:`shock_filter` -- the shock filter (Osher & Rudin 1990) that restores
  step edges in that prediction step (Cho & Lee 2009, Eq. 2; Xu & Jia 2010);
* :func:`rmap` -- Xu & Jia's (2010, Eq. 4) measure of how useful the
  gradients around a pixel are for kernel estimation;
* :func:`orientation_threshold` -- Cho & Lee's (2009) gradient-magnitude
  threshold that keeps enough pixels in every orientation.

Engines (``engine=``), checked, resolved and dispatched by
:mod:`classicdeblur.engines` as for :mod:`classicdeblur.solvers._shrink`:

``"numpy"``
    vectorised array code (:mod:`._reference`), runs on NumPy *and* CuPy
    arrays; the reference the other engines are tested against.
``"numba"``
    ``@njit`` loops over pixels (:mod:`._numba`), NumPy arrays only.
``"cuda"``
    ``@cuda.jit`` kernels (:mod:`._cuda`), one thread per pixel; CuPy arrays,
    or NumPy arrays (copied to the device, or run in Numba's CUDA simulator).
``"auto"``
    ``"cuda"`` for CuPy arrays, ``"numba"`` for NumPy arrays.

All filters compute in float64 and return a new array of the input's dtype,
shape and array type; the input is never modified.

Examples
--------
>>> import numpy as np
>>> step = np.repeat([[0.0, 0.0, 0.3, 0.7, 1.0, 1.0]], 4, axis=0)
>>> sharp = shock_filter(step, iterations=2, dt=0.5, engine="numpy")
>>> bool(sharp[0, 3] - sharp[0, 2] > step[0, 3] - step[0, 2])
True
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from .._validation import check_positive as _check_positive
from ..backend import is_cupy
from ..engines import dispatch
from . import _reference

__all__ = ["bilateral", "shock_filter", "rmap", "orientation_threshold"]


# --------------------------------------------------------------------------------------
# argument checks
# --------------------------------------------------------------------------------------


def _check_image(name, a):
    if not is_cupy(a):
        a = np.asarray(a)
    if a.ndim != 2 or a.dtype.kind != "f" or a.size == 0:
        raise ValueError(f"{name} must be a non-empty 2-D float array; got shape {a.shape} and dtype {a.dtype}")
    return a


def _check_gradients(gx, gy):
    gx, gy = _check_image("gx", gx), _check_image("gy", gy)
    if is_cupy(gx) != is_cupy(gy):
        raise ValueError("gx and gy must be both NumPy or both CuPy arrays")
    if gx.shape != gy.shape:
        raise ValueError(f"gx and gy must have the same shape; got {gx.shape} and {gy.shape}")
    return gx, gy


def _check_sigma(name, value):
    """A positive standard deviation whose ``1 / (2 sigma^2)`` is finite."""
    value = _check_positive(name, value)
    if not math.isfinite(0.5 / value / value):
        raise ValueError(f"{name} is too small; got {value}")
    return value


def _check_int(name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer; got {value!r}")
    value = int(value)
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}; got {value}")
    return value


def _run(name, engine, dtype, *args):
    """Run filter ``name`` of the engine chosen for the float64 array ``args[0]``; cast to ``dtype``."""
    module = dispatch(
        engine, args[0], numpy=_reference, numba=f"{__name__}._numba", cuda=f"{__name__}._cuda", stacklevel=3
    )
    return getattr(module, name)(*args).astype(dtype, copy=False)


# --------------------------------------------------------------------------------------
# public filters
# --------------------------------------------------------------------------------------


def bilateral(image, *, sigma_spatial=2.0, sigma_range=0.1, radius=None, engine="auto"):
    r"""Bilateral filter: a Gaussian blur that does not average across edges.

    .. math::

        J(x) = \frac{\sum_{y} w_s(x - y)\, w_r(I(x) - I(y))\, I(y)}
                    {\sum_{y} w_s(x - y)\, w_r(I(x) - I(y))},
        \quad w_s(d) = e^{-\|d\|^2 / 2\sigma_s^2},\;
        w_r(t) = e^{-t^2 / 2\sigma_r^2},

    the sums running over the ``(2 radius + 1)^2`` square window around ``x``.

    Parameters
    ----------
    image : ndarray of shape (M, N)
        float32 or float64, NumPy or CuPy.
    sigma_spatial : float
        Standard deviation of the spatial Gaussian, in pixels (> 0).
    sigma_range : float
        Standard deviation of the range Gaussian, in intensity units (> 0).
    radius : int, optional
        Window half-width (>= 0); ``ceil(2 sigma_spatial)`` by default.
    engine : {"auto", "numpy", "numba", "cuda"}

    Returns
    -------
    ndarray
        Same shape, dtype and array type as ``image``.

    Notes
    -----
    Beyond the border the image is extended symmetrically (``d c b a | a b c d``,
    ``mode="reflect"`` of :mod:`scipy.ndimage`). With a huge ``sigma_range`` the
    filter is the Gaussian blur normalised over the window.

    References
    ----------
    .. [1] C. Tomasi and R. Manduchi, "Bilateral filtering for gray and color
       images", ICCV 1998.
    .. [2] S. Cho and S. Lee, "Fast motion deblurring", SIGGRAPH Asia 2009.

    Examples
    --------
    >>> import numpy as np
    >>> img = np.zeros((5, 6)); img[:, 3:] = 1.0
    >>> out = bilateral(img, sigma_spatial=1.0, sigma_range=0.1, engine="numpy")
    >>> bool(np.allclose(out, img))  # the edge survives
    True
    >>> blur = bilateral(img, sigma_spatial=1.0, sigma_range=1e6, engine="numpy")
    >>> bool(0 < blur[0, 2] < 0.5 < blur[0, 3] < 1)  # a Gaussian blur does not
    True
    """
    image = _check_image("image", image)
    sigma_spatial = _check_sigma("sigma_spatial", sigma_spatial)
    sigma_range = _check_sigma("sigma_range", sigma_range)
    radius = math.ceil(2.0 * sigma_spatial) if radius is None else _check_int("radius", radius, 0)
    weights = _reference.spatial_weights(sigma_spatial, radius)
    img = image.astype(np.float64, copy=False)
    return _run("bilateral", engine, image.dtype, img, weights, 0.5 / (sigma_range * sigma_range))


def shock_filter(image, *, iterations=1, dt=0.1, engine="auto"):
    r"""Shock filter: steepen blurred edges into steps.

    ``iterations`` explicit steps of

    .. math:: I_{t+1} = I_t - \operatorname{sign}(\Delta I_t)\, \|\nabla I_t\|\, dt,

    with the 5-point Laplacian :math:`\Delta I` and the upwind gradient
    magnitude :math:`\|\nabla I\| = \sqrt{m(\delta_x^+, \delta_x^-)^2 + m(\delta_y^+, \delta_y^-)^2}`,
    :math:`m` the minmod of the one-sided differences (Osher & Rudin 1990).

    Parameters
    ----------
    image : ndarray of shape (M, N)
        float32 or float64, NumPy or CuPy.
    iterations : int
        Number of steps (>= 0; 0 returns a copy).
    dt : float
        Time step (> 0). Steps up to 0.5 keep the result within the range of
        the input (the CFL condition of the upwind scheme).
    engine : {"auto", "numpy", "numba", "cuda"}

    Returns
    -------
    ndarray
        Same shape, dtype and array type as ``image``.

    Notes
    -----
    Cho & Lee (2009), Eq. (2), as also used by Xu & Jia (2010). The border is
    replicated (``a a | a b c``), so the one-sided difference across it is 0.
    Every engine performs the same floating-point operations in the same order.

    References
    ----------
    .. [1] S. Osher and L. I. Rudin, "Feature-oriented image enhancement using
       shock filters", SIAM J. Numer. Anal. 27(4), 1990.
    .. [2] S. Cho and S. Lee, "Fast motion deblurring", SIGGRAPH Asia 2009.
    .. [3] L. Xu and J. Jia, "Two-phase kernel estimation for robust motion
       deblurring", ECCV 2010.

    Examples
    --------
    >>> import numpy as np
    >>> ramp = np.array([[0.0, 0.2, 0.8, 1.0]])
    >>> shock_filter(ramp, dt=0.5, engine="numpy")
    array([[0. , 0.1, 0.9, 1. ]])
    """
    image = _check_image("image", image)
    iterations = _check_int("iterations", iterations, 0)
    dt = _check_positive("dt", dt)
    return _run("shock_filter", engine, image.dtype, image.astype(np.float64, copy=False), iterations, dt)


def rmap(gx, gy, *, window=5, engine="auto"):
    r"""Xu & Jia's usefulness of the gradients around each pixel for kernel estimation.

    .. math::

        r(x) = \frac{\|\sum_{y \in N_h(x)} \nabla B(y)\|}{\sum_{y \in N_h(x)} \|\nabla B(y)\| + 0.5}

    Close to 1 where the window sees one straight edge (the gradients add up),
    small where gradients of opposite signs cancel: thin lines and texture
    narrower than the window, which mislead kernel estimation.

    Parameters
    ----------
    gx, gy : ndarray of shape (M, N)
        Horizontal and vertical gradients of the blurred image ``B`` (float,
        NumPy or CuPy, intensities in [0, 1] for the constant 0.5 to fit).
    window : int
        Odd side of the square window ``N_h`` centred at ``x`` (>= 1).
    engine : {"auto", "numpy", "numba", "cuda"}

    Returns
    -------
    ndarray
        ``r`` in ``[0, 1)``, same shape and array type as ``gx``, dtype the
        common float type of ``gx`` and ``gy``.

    Notes
    -----
    Xu & Jia (2010), Eq. (4). Near the border the window is clipped to the
    image (zero gradients outside). The NumPy engine forms the window sums by
    cumulative sums, the others by loops: they agree to about 1e-12.

    References
    ----------
    .. [1] L. Xu and J. Jia, "Two-phase kernel estimation for robust motion
       deblurring", ECCV 2010.

    Examples
    --------
    >>> import numpy as np
    >>> img = np.zeros((9, 12)); img[:, 8:] = 1.0  # a straight edge ...
    >>> img[4, 2] = 1.0                            # ... and a dot
    >>> gx = np.diff(img, axis=1, append=img[:, -1:])
    >>> gy = np.diff(img, axis=0, append=img[-1:])
    >>> r = rmap(gx, gy, window=5, engine="numpy")
    >>> round(float(r[4, 7]), 3), round(float(r[4, 2]), 3)
    (0.909, 0.0)
    """
    gx, gy = _check_gradients(gx, gy)
    window = _check_int("window", window, 1)
    if window % 2 == 0:
        raise ValueError(f"window must be odd (a centred window); got {window}")
    dtype = np.result_type(gx.dtype, gy.dtype)
    gx64, gy64 = gx.astype(np.float64, copy=False), gy.astype(np.float64, copy=False)
    return _run("rmap", engine, dtype, gx64, gy64, window // 2)


def orientation_threshold(gx, gy, *, min_pixels, bins=4):
    """Cho & Lee's gradient-magnitude threshold that keeps ``min_pixels`` pixels per orientation.

    Gradients are put in ``bins`` equal bins of their orientation modulo 180
    degrees (``atan2(gy, gx) mod pi`` over ``[0, pi)``); the threshold is the
    largest ``t`` such that in every bin at least ``min_pixels`` pixels have
    ``sqrt(gx^2 + gy^2) >= t``: the minimum over bins of the per-bin
    ``min_pixels``-th largest magnitude.

    Parameters
    ----------
    gx, gy : ndarray of shape (M, N)
        Gradients (float, NumPy or CuPy).
    min_pixels : int
        Pixels to keep in each bin (>= 1); Cho & Lee use ``2 sqrt(P_I P_K)``
        for ``P_I`` image and ``P_K`` kernel pixels.
    bins : int
        Number of orientation bins (>= 1); Cho & Lee use 4 (45 degrees each).

    Returns
    -------
    float
        The threshold. A bin holding fewer than ``min_pixels`` pixels keeps
        all of them (it contributes its smallest magnitude); empty bins are
        ignored.

    References
    ----------
    .. [1] S. Cho and S. Lee, "Fast motion deblurring", SIGGRAPH Asia 2009.

    Examples
    --------
    >>> import numpy as np
    >>> gx = np.array([[3.0, 0.0, -2.0, 1.0]])   # orientations 0, 90, 0, 0 degrees
    >>> gy = np.array([[0.0, 0.5, 0.0, 0.0]])
    >>> orientation_threshold(gx, gy, min_pixels=2, bins=2)
    0.5
    >>> orientation_threshold(gx, gy, min_pixels=2, bins=1)
    2.0
    """
    gx, gy = _check_gradients(gx, gy)
    min_pixels = _check_int("min_pixels", min_pixels, 1)
    bins = _check_int("bins", bins, 1)
    gx64, gy64 = gx.astype(np.float64, copy=False), gy.astype(np.float64, copy=False)
    return _reference.orientation_threshold(gx64, gy64, min_pixels, bins)
