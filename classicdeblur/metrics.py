"""Quality measures for deblurring, as defined in ``docs/EVALUATION.md``.

Image metrics take ``(image_true, image_test, *, data_range=None)`` like
scikit-image's ``peak_signal_noise_ratio``; both images must have the same
shape. Colour images ``(M, N, 3)`` are measured on their BT.601 luminance Y
(:func:`classicdeblur.color.to_luminance`). Metrics run on the CPU: CuPy
inputs are copied to the host.

``data_range`` is inferred only when it is unambiguous: 1 for float images
whose reference lies in [0, 1], the type's maximum for two unsigned-integer
images of the same type; anything else raises ``ValueError``.

Blind methods may return an image shifted by a few pixels (the kernel's centre
is not identifiable), so the benchmark measures are :func:`shift_psnr` and
:func:`shift_ssim` (see :func:`shift_tolerant`), and the kernel measure
:func:`kernel_similarity` is a maximum over shifts.

Examples
--------
>>> import numpy as np
>>> x = np.random.default_rng(0).random((64, 64))
>>> y = np.roll(x, (3, -2), axis=(0, 1))
>>> round(psnr(x, y), 1) < 10
True
>>> r = shift_psnr(x, y, max_shift=4)
>>> r.value, r.shift
(inf, (3, -2))
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from ._validation import check_kernel
from .backend import to_numpy
from .color import to_luminance
from .errors import InvalidKernelError

__all__ = [
    "psnr",
    "ssim",
    "ShiftResult",
    "shift_tolerant",
    "shift_psnr",
    "shift_ssim",
    "kernel_similarity",
    "error_ratio",
    "success_rate",
    "cumulative_error_ratio",
    "evaluate",
    "SSIM_SETTINGS",
]

#: The SSIM settings of Wang et al. (2004): an 11x11 Gaussian window of
#: sigma 1.5, population (not sample) covariances, K1 = 0.01, K2 = 0.03.
SSIM_SETTINGS = {"gaussian_weights": True, "sigma": 1.5, "use_sample_covariance": False, "K1": 0.01, "K2": 0.03}
_SSIM_WIN = 11


# ----------------------------------------------------------------------------
# helpers


def _check_shape(image_true, image_test):
    """The one shape check of every metric: same shape, (M, N) or (M, N, 1|3)."""
    a, b = to_numpy(image_true), to_numpy(image_test)
    if a.shape != b.shape:
        raise ValueError(
            f"image_true and image_test must have the same shape; got {a.shape} and {b.shape}"
        )
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (1, 3)):
        raise ValueError(f"images must have shape (M, N) or (M, N, 3); got {a.shape}")
    if a.size == 0:
        raise ValueError(f"images are empty (shape {a.shape})")
    return a, b


def _data_range(a, b, data_range):
    if data_range is not None:
        data_range = float(data_range)
        if not data_range > 0:
            raise ValueError(f"data_range must be positive; got {data_range}")
        return data_range
    if a.dtype.kind == "f" and b.dtype.kind == "f":
        lo, hi = float(np.nanmin(a)), float(np.nanmax(a))
        if lo < -1e-6 or hi > 1 + 1e-6:  # tolerate rounding of resampled [0, 1] images
            raise ValueError(
                f"cannot infer data_range: float image_true spans [{lo:.4g}, {hi:.4g}], not [0, 1]; "
                "pass data_range="
            )
        return 1.0
    if a.dtype == b.dtype and a.dtype == bool:
        return 1.0
    if a.dtype == b.dtype and a.dtype.kind == "u":
        return float(np.iinfo(a.dtype).max)
    raise ValueError(
        f"cannot infer data_range for dtypes {a.dtype} and {b.dtype}; pass data_range= "
        "(or convert both to floats in [0, 1])"
    )


def _prepare(image_true, image_test, data_range):
    a, b = _check_shape(image_true, image_test)
    dr = _data_range(a, b, data_range)
    a = np.asarray(to_luminance(a), dtype=np.float64)
    b = np.asarray(to_luminance(b), dtype=np.float64)
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError("images contain NaN or Inf values")
    return a, b, dr


def _psnr_from_mse(mse, dr):
    if mse <= 0:
        return math.inf
    return float(10.0 * np.log10(dr * dr / mse))


def _ssim(a, b, dr):
    from skimage.metrics import structural_similarity

    if min(a.shape) < _SSIM_WIN:
        raise ValueError(
            f"SSIM needs images of at least {_SSIM_WIN}x{_SSIM_WIN} pixels (its Gaussian window); "
            f"got {a.shape}"
        )
    return float(structural_similarity(a, b, data_range=dr, **SSIM_SETTINGS))


# ----------------------------------------------------------------------------
# plain metrics


def psnr(image_true, image_test, *, data_range=None):
    """Peak signal-to-noise ratio in dB.

    Parameters
    ----------
    image_true, image_test : ndarray of shape (M, N) or (M, N, 3)
        Reference and test image; colour is measured on luminance Y.
    data_range : float, optional
        Peak value (see the module notes for how it is inferred).

    Returns
    -------
    float
        :math:`10 \\log_{10}(R^2 / \\mathrm{MSE})`; ``inf`` for identical images.

    Raises
    ------
    ValueError
        Shape mismatch, NaN/Inf, or a data range that cannot be inferred.

    Examples
    --------
    >>> import numpy as np
    >>> psnr(np.zeros((4, 4)), np.full((4, 4), 0.1))
    20.0
    >>> psnr(np.zeros((4, 4)), np.zeros((4, 4)))
    inf
    """
    a, b, dr = _prepare(image_true, image_test, data_range)
    return _psnr_from_mse(float(np.mean((a - b) ** 2)), dr)


def ssim(image_true, image_test, *, data_range=None):
    """Structural similarity (Wang et al. 2004) with the reference settings.

    Parameters
    ----------
    image_true, image_test : ndarray of shape (M, N) or (M, N, 3)
        At least 11x11; colour is measured on luminance Y.
    data_range : float, optional
        Peak value (see the module notes).

    Returns
    -------
    float
        Mean SSIM, 1 for identical images.

    Notes
    -----
    Uses :func:`skimage.metrics.structural_similarity` with an 11x11 Gaussian
    window (sigma 1.5), population covariances, K1 = 0.01 and K2 = 0.03
    (:data:`SSIM_SETTINGS`), which reproduces the authors' MATLAB ``ssim``.
    The mean excludes the 5-pixel border the window cannot cover.

    References
    ----------
    .. [1] Z. Wang, A. C. Bovik, H. R. Sheikh, E. P. Simoncelli, "Image quality
       assessment: from error visibility to structural similarity", IEEE TIP 13(4), 2004.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(0).random((32, 32))
    >>> ssim(x, x)
    1.0
    """
    a, b, dr = _prepare(image_true, image_test, data_range)
    return _ssim(a, b, dr)


# ----------------------------------------------------------------------------
# shift-tolerant metrics


class ShiftResult(NamedTuple):
    """Value of a shift-tolerant metric and the shift ``(dy, dx)`` that achieved it.

    ``image_test[i + dy, j + dx]`` is compared with ``image_true[i, j]``: a test
    image moved down by 3 pixels gives ``dy = 3``.
    """

    value: float
    shift: tuple


def _window(b, bd, dy, dx, h, w):
    return b[bd + dy : bd + dy + h, bd + dx : bd + dx + w]


def _sse_all_shifts(a, b, s, bd):
    """SSE between the cropped reference and every shifted test window, shape (2s+1, 2s+1).

    Computed in one pass as sum T^2 - 2 T (x) B + box(B^2), the cross term by FFT:
    accurate to ~1e-10 relative, enough to rank shifts (the winners are recomputed exactly).
    """
    from scipy.signal import fftconvolve

    M, N = a.shape
    t = a[bd : M - bd, bd : N - bd]
    h, w = t.shape
    sub = b[bd - s : M - bd + s, bd - s : N - bd + s]
    cross = fftconvolve(sub, t[::-1, ::-1], mode="valid")
    c = np.zeros((sub.shape[0] + 1, sub.shape[1] + 1))
    c[1:, 1:] = np.cumsum(np.cumsum(sub * sub, axis=0), axis=1)
    box = c[h:, w:] - c[:-h, w:] - c[h:, :-w] + c[:-h, :-w]
    return float((t * t).sum()) - 2.0 * cross + box


def _best_shift(a, b, s, bd):
    """(exact SSE, (dy, dx), number of pixels) of the best integer shift within +/- s."""
    M, N = a.shape
    h, w = M - 2 * bd, N - 2 * bd
    t = a[bd : M - bd, bd : N - bd]

    def exact(dy, dx):
        d = t - _window(b, bd, dy, dx, h, w)
        return float(np.einsum("ij,ij->", d, d))

    if s == 0:
        return exact(0, 0), (0, 0), h * w
    approx = _sse_all_shifts(a, b, s, bd)
    tol = 1e-9 * (float((t * t).sum()) + float(np.abs(approx).max())) + 1e-300
    cand = np.argwhere(approx <= approx.min() + tol)
    if len(cand) > 25:  # flat images: many ties; keep those nearest to zero shift
        cand = cand[np.argsort(np.abs(cand - s).sum(axis=1), kind="stable")[:25]]
    best = min(((exact(i - s, j - s), (abs(i - s) + abs(j - s)), (int(i - s), int(j - s))) for i, j in cand))
    return best[0], best[2], h * w


def shift_tolerant(image_true, image_test, *, max_shift, border=None, metric="psnr", data_range=None):
    """PSNR or SSIM maximised over integer shifts of the test image.

    Parameters
    ----------
    image_true, image_test : ndarray of shape (M, N) or (M, N, 3)
        Colour is measured on luminance Y.
    max_shift : int
        Shifts ``(dy, dx)`` in ``[-max_shift, max_shift]^2`` are searched; the
        benchmarks use ``kernel_size // 2``.
    border : int, optional
        Pixels of ``image_true`` ignored on each side (default ``max_shift``);
        must be at least ``max_shift`` so that every shifted window lies inside
        the test image.
    metric : {"psnr", "ssim"}
    data_range : float, optional
        Peak value (see the module notes).

    Returns
    -------
    ShiftResult
        ``(value, (dy, dx))``.

    Raises
    ------
    ValueError
        Bad shapes, ``border < max_shift``, a border that leaves nothing, an
        unknown metric, or a data range that cannot be inferred.

    Notes
    -----
    The squared error of all ``(2s+1)^2`` shifts is computed at once (one FFT
    correlation plus box sums), and the best candidates are then recomputed
    exactly, so identical images give ``inf``; ties go to the smallest shift.
    For SSIM, which has no such shortcut, SSIM is evaluated at the best-PSNR
    shift and its 8 neighbours only and the largest value is kept: SSIM and
    PSNR peak at the same shift except in contrived cases. This follows the
    shift-tolerant comparison of Levin et al. (2009) and Koehler et al. (2012),
    restricted to integer shifts.

    References
    ----------
    .. [1] A. Levin, Y. Weiss, F. Durand, W. T. Freeman, "Understanding and
       evaluating blind deconvolution algorithms", CVPR 2009.
    .. [2] R. Koehler, M. Hirsch, B. Mohler, B. Schoelkopf, S. Harmeling,
       "Recording and playback of camera shake", ECCV 2012.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(1).random((48, 48))
    >>> shift_tolerant(x, np.roll(x, 2, axis=1), max_shift=3, metric="ssim")
    ShiftResult(value=1.0, shift=(0, 2))
    """
    if metric not in ("psnr", "ssim"):
        raise ValueError(f"unknown metric {metric!r}; choose from: psnr, ssim")
    best_psnr, best_ssim = _shift_search(image_true, image_test, max_shift, border, data_range,
                                         with_ssim=metric == "ssim")
    return best_ssim if metric == "ssim" else best_psnr


def _shift_search(image_true, image_test, max_shift, border, data_range, *, with_ssim):
    """Best-PSNR shift (one pass over all shifts) and, if asked, SSIM around it.

    Returns ``(ShiftResult for PSNR, ShiftResult for SSIM or None)``.
    """
    s = int(max_shift)
    if s < 0:
        raise ValueError(f"max_shift must be >= 0; got {max_shift}")
    bd = s if border is None else int(border)
    if bd < s:
        raise ValueError(f"border ({bd}) must be at least max_shift ({s})")
    a, b, dr = _prepare(image_true, image_test, data_range)
    M, N = a.shape
    if M - 2 * bd < 1 or N - 2 * bd < 1:
        raise ValueError(f"a border of {bd} pixels leaves nothing of an image of shape {a.shape}")
    sse, (dy, dx), n = _best_shift(a, b, s, bd)
    best_psnr = ShiftResult(_psnr_from_mse(sse / n, dr), (dy, dx))
    if not with_ssim:
        return best_psnr, None
    h, w = M - 2 * bd, N - 2 * bd
    t = a[bd : M - bd, bd : N - bd]
    best = None
    for ey in (-1, 0, 1):
        for ex in (-1, 0, 1):
            sy, sx = dy + ey, dx + ex
            if abs(sy) > s or abs(sx) > s:
                continue
            v = _ssim(t, _window(b, bd, sy, sx, h, w), dr)
            if best is None or v > best.value:
                best = ShiftResult(v, (sy, sx))
    return best_psnr, best


def shift_psnr(image_true, image_test, *, max_shift, border=None, data_range=None):
    """Shift-tolerant PSNR: :func:`shift_tolerant` with ``metric="psnr"``.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(2).random((32, 32))
    >>> shift_psnr(x, np.roll(x, -1, axis=0), max_shift=2).shift
    (-1, 0)
    """
    return shift_tolerant(image_true, image_test, max_shift=max_shift, border=border, metric="psnr", data_range=data_range)


def shift_ssim(image_true, image_test, *, max_shift, border=None, data_range=None):
    """Shift-tolerant SSIM: :func:`shift_tolerant` with ``metric="ssim"``.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(2).random((32, 32))
    >>> shift_ssim(x, x, max_shift=2)
    ShiftResult(value=1.0, shift=(0, 0))
    """
    return shift_tolerant(image_true, image_test, max_shift=max_shift, border=border, metric="ssim", data_range=data_range)


def evaluate(image_true, image_test, *, kernel_size=0, data_range=None):
    """The image measures of EVALUATION.md in one dictionary.

    Parameters
    ----------
    image_true, image_test : ndarray
    kernel_size : int
        Shift search and ignored border of the shift-tolerant measures are
        ``kernel_size // 2`` (0: no shift, no border).

    Returns
    -------
    dict
        ``psnr``, ``ssim`` (plain, whole image) and ``shift_psnr``, ``shift_ssim``.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(3).random((32, 32))
    >>> r = evaluate(x, np.roll(x, 1, axis=0), kernel_size=5)
    >>> r["shift_psnr"], r["shift_ssim"]
    (inf, 1.0)
    """
    best_psnr, best_ssim = _shift_search(image_true, image_test, int(kernel_size) // 2, None, data_range,
                                         with_ssim=True)
    return {
        "psnr": psnr(image_true, image_test, data_range=data_range),
        "ssim": ssim(image_true, image_test, data_range=data_range),
        "shift_psnr": best_psnr.value,
        "shift_ssim": best_ssim.value,
    }


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
        from .solvers.nonblind import hyper_laplacian
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
