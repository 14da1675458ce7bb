r"""NIQE, the "completely blind" image quality measure of Mittal, Soundararajan and Bovik.

NIQE scores an image by how far the statistics of its local contrast differ
from those of a corpus of pristine images, with no training on distorted
images or human opinions:

1. **MSCN coefficients** (paper Eq. 1-3): with :math:`\mu` and :math:`\sigma`
   the local mean and standard deviation under a 7x7 Gaussian window of
   standard deviation 7/6 (normalised to sum 1, replicate border),
   :math:`\hat I = (I - \mu) / (\sigma + 1)` on the 0-255 scale.
2. **Patch features**: the image is cut into non-overlapping ``patch`` x
   ``patch`` blocks (96 in the paper). In each block, 18 numbers: the shape
   :math:`\alpha` and variance of a (symmetric) generalised Gaussian fitted to
   the MSCN coefficients (Eq. 4-5), and for each of the four products of
   neighbouring coefficients (horizontal, vertical, both diagonals, Eq. 6-9)
   the shape, mean and left/right scales of an asymmetric generalised
   Gaussian (AGGD, Eq. 10-11), all fitted by moment matching. The same is
   repeated on the image downscaled by 2 (blocks of ``patch / 2``): 36
   features per patch.
3. **Pristine model**: the features of the *sharpest* patches of the
   pristine images (patches whose mean :math:`\sigma` exceeds ``sharpness``
   times the image's maximum, 0.75 in the paper) are fitted by a multivariate
   Gaussian :math:`(\nu_1, \Sigma_1)` (:func:`fit_niqe`).
4. **Quality** (Eq. 12): the features of *all* patches of the test image give
   :math:`(\nu_2, \Sigma_2)`, and

   .. math:: D = \sqrt{(\nu_1 - \nu_2)^T \Big(\frac{\Sigma_1 + \Sigma_2}{2}\Big)^{+} (\nu_1 - \nu_2)},

   the pseudo-inverse as in the authors' code. Lower is better.

This implementation follows the published description and the structure of
the authors' release (``computefeature.m``, ``estimateaggdparam.m``); the
moment-matching look-up runs on the same grid :math:`\alpha \in [0.2, 10)`
in steps of 0.001. Two choices are ours: the factor-2 downscaling is an
antialiased bicubic filter written here (MATLAB's ``imresize`` kernel) and
the neighbour products use zero-free *interior* pairs instead of the
circular shift of the authors' code. Images smaller than one patch are
scored on a single patch covering the largest centred multiple of 2.

Faces: :mod:`classicdeblur.blind.tian2015` fits a model on the sharp exemplar
faces (:func:`fit_niqe` with the default ``patch=96`` on 128x128 crops gives
one patch per face) and ships it with the exemplar database.

References
----------
.. [1] A. Mittal, R. Soundararajan and A. C. Bovik, "Making a 'completely
   blind' image quality analyzer", IEEE Signal Processing Letters 20(3),
   2013, pp. 209-212.

Examples
--------
>>> import numpy as np
>>> from scipy import ndimage
>>> rng = np.random.default_rng(0)
>>> sharp = [ndimage.gaussian_filter(rng.random((96, 96)), 1.0) for _ in range(8)]
>>> model = fit_niqe(sharp)
>>> model["mu"].shape, model["cov"].shape
((36,), (36, 36))
>>> test = ndimage.gaussian_filter(rng.random((96, 96)), 1.0)
>>> niqe(test, model) < niqe(ndimage.gaussian_filter(test, 3.0), model)
True
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage, special

__all__ = ["N_FEATURES", "aggd_fit", "fit_niqe", "ggd_fit", "mscn", "niqe", "patch_features"]

#: Features per patch: 18 at each of 2 scales.
N_FEATURES = 36

_ALPHAS = np.arange(0.2, 10.0, 0.001)
# rho(alpha) = Gamma(2/a)^2 / (Gamma(1/a) Gamma(3/a)): the moment ratio E|x|^2 / E[x^2] of a GGD
_RHO = special.gamma(2.0 / _ALPHAS) ** 2 / (special.gamma(1.0 / _ALPHAS) * special.gamma(3.0 / _ALPHAS))


def _gaussian_window(size=7, sigma=7 / 6):
    r = np.arange(size) - size // 2
    g = np.exp(-(r**2) / (2 * sigma**2))
    return g / g.sum()


_WINDOW = _gaussian_window()


def mscn(image):
    r"""Mean-subtracted contrast-normalised coefficients and the local deviation (paper Eq. 1-3).

    Parameters
    ----------
    image : ndarray of shape (M, N)
        Gray image on the 0-255 scale (the constant 1 of Eq. 1 assumes it).

    Returns
    -------
    coefficients, sigma : ndarray of shape (M, N)

    Examples
    --------
    >>> import numpy as np
    >>> c, s = mscn(np.full((16, 16), 100.0))
    >>> bool(np.abs(c).max() < 1e-9), bool(s.max() < 1e-3)
    (True, True)
    """
    im = np.asarray(image, dtype=np.float64)
    mu = ndimage.correlate1d(ndimage.correlate1d(im, _WINDOW, 0, mode="nearest"), _WINDOW, 1, mode="nearest")
    sq = ndimage.correlate1d(ndimage.correlate1d(im * im, _WINDOW, 0, mode="nearest"), _WINDOW, 1, mode="nearest")
    sigma = np.sqrt(np.abs(sq - mu * mu))
    return (im - mu) / (sigma + 1.0), sigma


def aggd_fit(values):
    r"""Moment-matching fit of an asymmetric generalised Gaussian (paper Eq. 10-11).

    Returns
    -------
    alpha, beta_left, beta_right : float
        Shape and left/right scales. Degenerate data (one side empty or all
        zero) give ``alpha = 10`` (the grid's end, the flattest) and zero scales.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(0).normal(size=200_000)
    >>> a, bl, br = aggd_fit(x)  # a Gaussian is a GGD of shape 2, scale sqrt(2)
    >>> round(a, 1), round(bl, 1), round(br, 1)
    (2.0, 1.4, 1.4)
    """
    v = np.asarray(values, dtype=np.float64).ravel()
    left, right = v[v < 0], v[v > 0]
    if left.size == 0 or right.size == 0:
        return float(_ALPHAS[-1]), 0.0, 0.0
    lstd = np.sqrt(np.mean(left * left))
    rstd = np.sqrt(np.mean(right * right))
    g = lstd / rstd
    rhat = np.mean(np.abs(v)) ** 2 / np.mean(v * v)
    rnorm = rhat * (g**3 + 1) * (g + 1) / (g**2 + 1) ** 2
    alpha = float(_ALPHAS[np.argmin((_RHO - rnorm) ** 2)])
    f = np.sqrt(special.gamma(1 / alpha) / special.gamma(3 / alpha))
    return alpha, float(lstd * f), float(rstd * f)


def ggd_fit(values):
    r"""Moment-matching fit of a zero-mean generalised Gaussian (paper Eq. 4-5): ``(alpha, variance)``.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(0).laplace(size=200_000)
    >>> a, var = ggd_fit(x)  # a Laplacian is a GGD of shape 1, variance 2
    >>> round(a, 1), round(var, 1)
    (1.0, 2.0)
    """
    v = np.asarray(values, dtype=np.float64).ravel()
    m2 = np.mean(v * v)
    if not m2 > 0:
        return float(_ALPHAS[-1]), 0.0
    rhat = np.mean(np.abs(v)) ** 2 / m2
    return float(_ALPHAS[np.argmin((_RHO - rhat) ** 2)]), float(m2)


def _block_features(c):
    """The 18 features of one block of MSCN coefficients."""
    alpha, var = ggd_fit(c)
    feats = [alpha, var]
    # horizontal, vertical, main-diagonal and anti-diagonal neighbour products (Eq. 6-9)
    pairs = (c[:, :-1] * c[:, 1:], c[:-1, :] * c[1:, :], c[:-1, :-1] * c[1:, 1:], c[:-1, 1:] * c[1:, :-1])
    for p in pairs:
        a, bl, br = aggd_fit(p)
        mean = (br - bl) * special.gamma(2 / a) / special.gamma(1 / a)
        feats += [a, mean, bl * bl, br * br]
    return feats


def _cubic(x, a=-0.5):
    x = np.abs(x)
    return np.where(x <= 1, (a + 2) * x**3 - (a + 3) * x**2 + 1,
                    np.where(x < 2, a * x**3 - 5 * a * x**2 + 8 * a * x - 4 * a, 0.0))


# MATLAB imresize(., 0.5) bicubic with antialiasing: the kernel is stretched by 2
# output pixel j sits at input coordinate 2j + 0.5: taps at -3.5 .. 3.5
_HALF = _cubic(np.arange(-3.5, 4.0, 1.0) / 2) / 2
_HALF = _HALF / _HALF.sum()


def _downscale2(im):
    """Antialiased bicubic downscaling by 2 (even sizes), symmetric border."""
    out = im
    for axis in (0, 1):
        # correlate centred between pixels 2j and 2j+1: pad by 4 and take every second window
        n = out.shape[axis]
        padded = np.pad(out, [(4, 4) if ax == axis else (0, 0) for ax in (0, 1)], mode="symmetric")
        acc = 0
        for t, w in enumerate(_HALF):
            # input index 2j - 3 + t (taps at offsets -3.5..3.5 from 2j + 0.5)
            sl = [slice(None), slice(None)]
            sl[axis] = slice(1 + t, 1 + t + n - 1, 2)
            acc = acc + w * padded[tuple(sl)]
        out = acc
    return out


def _prepare(image):
    im = np.asarray(image, dtype=np.float64)
    if im.ndim == 3:
        im = im[..., :3] @ np.array([0.2989, 0.5870, 0.1140]) if im.shape[2] >= 3 else im.mean(axis=2)
    if im.ndim != 2:
        raise ValueError(f"NIQE needs a gray (M, N) or colour (M, N, C) image; got shape {np.shape(image)}")
    if not np.isfinite(im).all():
        raise ValueError("NIQE needs finite pixel values")
    return im * 255.0


def patch_features(image, *, patch=96):
    """NIQE features of the non-overlapping patches of ``image`` and each patch's sharpness.

    Parameters
    ----------
    image : ndarray of shape (M, N) or (M, N, C)
        Float image in [0, 1] (colour is converted to gray).
    patch : int
        Even side of the patches at full scale.

    Returns
    -------
    features : ndarray of shape (P, 36)
    sharpness : ndarray of shape (P,)
        Mean local deviation :math:`\\sigma` of each patch (full scale).

    Examples
    --------
    >>> import numpy as np
    >>> f, s = patch_features(np.random.default_rng(0).random((200, 100)))
    >>> f.shape, s.shape
    ((2, 36), (2,))
    """
    patch = int(patch)
    if patch < 8 or patch % 2:
        raise ValueError(f"patch must be an even integer >= 8; got {patch}")
    im = _prepare(image)
    rows, cols = im.shape[0] // patch, im.shape[1] // patch
    if rows == 0 or cols == 0:
        # smaller than one patch: one centred patch of the largest even size
        h, w = (im.shape[0] // 2) * 2, (im.shape[1] // 2) * 2
        if h < 8 or w < 8:
            raise ValueError(f"image of shape {im.shape} is too small for NIQE (needs at least 8x8)")
        top, left = (im.shape[0] - h) // 2, (im.shape[1] - w) // 2
        im = im[top : top + h, left : left + w]
        rows = cols = 1
        ph, pw = h, w
    else:
        ph = pw = patch
        im = im[: rows * patch, : cols * patch]
    feats = np.zeros((rows * cols, N_FEATURES))
    sharp = np.zeros(rows * cols)
    for scale in (1, 2):
        c, sigma = mscn(im)
        bh, bw = ph // scale, pw // scale
        for i in range(rows):
            for j in range(cols):
                n = i * cols + j
                blk = (slice(i * bh, (i + 1) * bh), slice(j * bw, (j + 1) * bw))
                feats[n, (scale - 1) * 18 : scale * 18] = _block_features(c[blk])
                if scale == 1:
                    sharp[n] = sigma[blk].mean()
        if scale == 1:
            im = _downscale2(im)
    return feats, sharp


def fit_niqe(images, *, patch=96, sharpness=0.75):
    """Fit the pristine multivariate Gaussian of NIQE on sharp images.

    Parameters
    ----------
    images : iterable of ndarray
        Pristine (sharp, clean) images, float in [0, 1], gray or colour; or
        one array of shape (N, M, N') holding N gray images.
    patch : int
        Patch side (96 in the paper). Use the same value when scoring.
    sharpness : float
        Keep, in each image, the patches whose mean local deviation exceeds
        this fraction of the image's sharpest patch (0.75 in the paper), in (0, 1].

    Returns
    -------
    dict
        ``mu`` float64 (36,), ``cov`` float64 (36, 36), ``patch`` int array
        (the patch size, as a 0-d array so the dict saves with ``numpy.savez``),
        ``n_patches``.

    Raises
    ------
    ValueError
        No images, bad ``patch`` or ``sharpness``, or fewer than 2 patches selected.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> m = fit_niqe([rng.random((96, 96)) for _ in range(4)])
    >>> int(m["n_patches"]), bool(np.allclose(m["cov"], m["cov"].T))
    (4, True)
    """
    if not (0 < float(sharpness) <= 1):
        raise ValueError(f"sharpness must be in (0, 1]; got {sharpness}")
    selected = []
    for img in images:
        f, s = patch_features(img, patch=patch)
        keep = s > float(sharpness) * s.max() if s.max() > 0 else np.zeros(s.shape, bool)
        if float(sharpness) == 1.0 or not keep.any():
            keep = s >= s.max()
        selected.append(f[keep])
    if not selected:
        raise ValueError("fit_niqe needs at least one image")
    feats = np.concatenate(selected, axis=0)
    feats = feats[np.isfinite(feats).all(axis=1)]
    if feats.shape[0] < 2:
        raise ValueError(f"fit_niqe selected {feats.shape[0]} patch(es); it needs at least 2 (more images?)")
    return {"mu": feats.mean(axis=0), "cov": np.cov(feats, rowvar=False), "patch": np.array(int(patch)),
            "n_patches": np.array(feats.shape[0])}


def niqe(image, model):
    """NIQE score of ``image`` against a pristine ``model`` from :func:`fit_niqe` (lower is better).

    Parameters
    ----------
    image : ndarray of shape (M, N) or (M, N, C)
        Float image in [0, 1].
    model : dict
        ``mu`` (36,), ``cov`` (36, 36) and optionally ``patch`` (default 96).

    Returns
    -------
    float
        The distance of paper Eq. 12. With a single patch, the test covariance
        is zero and the pristine covariance alone is used.

    Raises
    ------
    ValueError
        A model without ``mu`` / ``cov`` of the right shapes, or an unusable image.

    Examples
    --------
    >>> import numpy as np
    >>> m = {"mu": np.zeros(36), "cov": np.eye(36), "patch": 96}
    >>> niqe(np.zeros((96, 96)), m) > 0
    True
    """
    try:
        mu1 = np.asarray(model["mu"], dtype=np.float64).ravel()
        cov1 = np.asarray(model["cov"], dtype=np.float64)
    except (KeyError, TypeError):
        raise ValueError("a NIQE model is a dict with 'mu' (36,) and 'cov' (36, 36); build it with fit_niqe") from None
    if mu1.shape != (N_FEATURES,) or cov1.shape != (N_FEATURES, N_FEATURES):
        raise ValueError(f"NIQE model has mu {mu1.shape} and cov {cov1.shape}; expected (36,) and (36, 36)")
    patch = int(np.asarray(model.get("patch", 96)))
    f, _ = patch_features(image, patch=patch)
    f = f[np.isfinite(f).all(axis=1)]
    if f.shape[0] == 0:
        return float("inf")
    mu2 = f.mean(axis=0)
    cov2 = np.cov(f, rowvar=False) if f.shape[0] > 1 else np.zeros_like(cov1)
    d = mu1 - mu2
    return float(np.sqrt(max(float(d @ np.linalg.pinv((cov1 + cov2) / 2) @ d), 0.0)))
