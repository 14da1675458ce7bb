"""Image measures: PSNR, SSIM and their shift-tolerant forms (EVALUATION.md).

See :mod:`classicdeblur.metrics` for the conventions (``data_range``, colour).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from ..backend import to_numpy
from ..color import to_luminance

__all__ = ["psnr", "ssim", "ShiftResult", "shift_tolerant", "shift_psnr", "shift_ssim", "evaluate", "SSIM_SETTINGS"]

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
