"""Kernel measures: kernel similarity, the error ratio of Levin et al. (2009) and its summaries.

See :mod:`classicdeblur.metrics` for the conventions.
"""

from __future__ import annotations

import math

import numpy as np

from .._validation import check_kernel
from ..backend import to_numpy
from ..color import to_luminance
from ..errors import InvalidKernelError
from .image import _best_shift, _check_shape

__all__ = ["kernel_similarity", "error_ratio", "success_rate", "cumulative_error_ratio"]


# ----------------------------------------------------------------------------
# kernel metrics


def _as_kernel_array(k, name):
    k = np.asarray(to_numpy(k), dtype=np.float64)
    if k.ndim != 2 or k.size == 0:
        raise InvalidKernelError(f"{name} must be a non-empty 2-D array; got shape {k.shape}")
    if not np.isfinite(k).all():
        raise InvalidKernelError(f"{name} contains NaN or Inf values")
    if not np.any(k):
        raise InvalidKernelError(f"{name} is all zero")
    return k


def kernel_similarity(k_true, k_est):
    """Maximum normalised cross-correlation of two kernels over all shifts (Hu & Yang 2012).

    Parameters
    ----------
    k_true, k_est : ndarray of shape (h, w)
        Any sizes (they need not match, nor be odd); finite and not all zero.

    Returns
    -------
    float
        :math:`\\max_\\gamma \\sum_\\tau k(\\tau)\\,\\hat k(\\tau + \\gamma) / (\\|k\\|\\,\\|\\hat k\\|)`,
        in [0, 1] for non-negative kernels; 1 exactly when one kernel is a
        shifted (or zero-padded) copy of the other.

    Raises
    ------
    InvalidKernelError
        Not 2-D, non-finite or all zero.

    References
    ----------
    .. [1] Z. Hu, M.-H. Yang, "Good regions to deblur", ECCV 2012.

    Examples
    --------
    >>> import numpy as np
    >>> k = np.zeros((5, 5)); k[2, 1:4] = 1 / 3
    >>> kernel_similarity(k, np.roll(k, 1, axis=0))
    1.0
    >>> round(kernel_similarity(k, np.full((3, 3), 1 / 9)), 3)
    0.577
    """
    from scipy.signal import correlate

    a = _as_kernel_array(k_true, "k_true")
    b = _as_kernel_array(k_est, "k_est")
    c = correlate(b, a, mode="full", method="auto")  # c[dy + ha - 1, dx + wa - 1] = sum a(t) b(t + d)
    i, j = np.unravel_index(int(np.argmax(c)), c.shape)
    dy, dx = i - (a.shape[0] - 1), j - (a.shape[1] - 1)
    # recompute the winning lag exactly (the FFT path is only accurate to ~1e-15)
    ya, yb = max(0, -dy), max(0, dy)
    xa, xb = max(0, -dx), max(0, dx)
    h = min(a.shape[0] - ya, b.shape[0] - yb)
    w = min(a.shape[1] - xa, b.shape[1] - xb)
    dot = float(np.sum(a[ya : ya + h, xa : xa + w] * b[yb : yb + h, xb : xb + w]))
    v = dot / math.sqrt(float(np.sum(a * a)) * float(np.sum(b * b)))
    return min(v, 1.0)


def _default_deconvolve():
    try:
        from ..solvers.nonblind import hyper_laplacian
    except ImportError as e:
        raise ImportError(
            "error_ratio needs classicdeblur.solvers.nonblind.hyper_laplacian, which is not "
            "available; pass deconvolve=callable(image, kernel)"
        ) from e

    def deconvolve(image, kernel):
        return hyper_laplacian(image, kernel, lam=2e3, alpha=0.5)

    return deconvolve


def error_ratio(sharp, blurred, k_true, k_est, *, deconvolve=None, max_shift=None, border=None):
    """Error ratio of Levin et al. (2009) for an estimated kernel.

    Parameters
    ----------
    sharp : ndarray of shape (M, N) or (M, N, 3)
        The ground-truth sharp image.
    blurred : ndarray of the same shape
        The blurred (noisy) observation.
    k_true, k_est : ndarray of shape (h, w)
        True and estimated kernels (odd-sized; normalised here).
    deconvolve : callable, optional
        ``deconvolve(blurred, kernel) -> image``, the fixed non-blind step.
        Default: ``classicdeblur.solvers.nonblind.hyper_laplacian`` with
        ``lam=2e3`` and ``alpha=0.5`` (Krishnan & Fergus 2009), as in the paper.
    max_shift : int, optional
        Shift search radius (default: the larger kernel side // 2).
    border : int, optional
        Ignored border (default ``max_shift``).

    Returns
    -------
    float
        :math:`\\|x_{\\hat k} - x\\|^2 / \\|x_k - x\\|^2`, both sums of squared
        errors taken at their best integer shift (see :func:`shift_tolerant`),
        on luminance for colour. 1 when ``k_est`` equals ``k_true``; a ratio
        of 3 or less counts as a success (:func:`success_rate`).

    Raises
    ------
    ValueError
        Shape mismatch between ``sharp`` and ``blurred`` or a deconvolution output.
    InvalidKernelError
        An invalid kernel.

    References
    ----------
    .. [1] A. Levin, Y. Weiss, F. Durand, W. T. Freeman, "Understanding and
       evaluating blind deconvolution algorithms", CVPR 2009.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(0).random((32, 32))
    >>> k = np.full((3, 3), 1 / 9)
    >>> identity = lambda image, kernel: image  # stand-in deconvolution
    >>> error_ratio(x, x, k, k, deconvolve=identity)
    1.0
    """
    _check_shape(sharp, blurred)
    kt, ke = check_kernel(to_numpy(k_true)), check_kernel(to_numpy(k_est))
    s = max(max(kt.shape), max(ke.shape)) // 2 if max_shift is None else int(max_shift)
    if deconvolve is None:
        deconvolve = _default_deconvolve()
    ref = np.asarray(to_luminance(to_numpy(sharp)), dtype=np.float64)
    errs = []
    for k in (ke, kt):
        x = to_numpy(deconvolve(blurred, k))
        _, x = _check_shape(sharp, x)
        x = np.asarray(to_luminance(x), dtype=np.float64)
        bd = s if border is None else int(border)
        if bd < s:
            raise ValueError(f"border ({bd}) must be at least max_shift ({s})")
        errs.append(_best_shift(ref, x, s, bd)[0])
    e_est, e_true = errs
    if e_true == 0:
        return 1.0 if e_est == 0 else math.inf
    return e_est / e_true


def _ratios(ratios):
    r = np.asarray(ratios, dtype=np.float64).ravel()
    if r.size == 0:
        raise ValueError("ratios is empty")
    if np.isnan(r).any():
        raise ValueError("ratios contain NaN values")
    return r


def success_rate(ratios, threshold=3.0):
    """Fraction of error ratios at or below ``threshold`` (3 in Levin et al. 2009).

    Examples
    --------
    >>> success_rate([1.0, 2.5, 3.0, 7.2])
    0.75
    """
    return float(np.mean(_ratios(ratios) <= threshold))


def cumulative_error_ratio(ratios, grid=None):
    """Cumulative histogram of error ratios: the fraction at or below each grid value.

    Parameters
    ----------
    ratios : array_like
        Error ratios (see :func:`error_ratio`).
    grid : array_like, optional
        Ratio values (default ``np.linspace(1, 5, 17)``: 1 to 5 in steps of 0.25).

    Returns
    -------
    grid : ndarray
    fraction : ndarray
        Same length as ``grid``, non-decreasing, in [0, 1].

    Examples
    --------
    >>> g, f = cumulative_error_ratio([1.0, 2.0, 4.0], grid=[1, 2, 3, 4])
    >>> f.tolist()
    [0.3333333333333333, 0.6666666666666666, 0.6666666666666666, 1.0]
    """
    r = np.sort(_ratios(ratios))
    g = np.linspace(1.0, 5.0, 17) if grid is None else np.asarray(grid, dtype=np.float64)
    return g, np.searchsorted(r, g, side="right") / r.size
