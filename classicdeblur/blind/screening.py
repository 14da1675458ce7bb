r"""Pixel screening: correct the intermediate image before each kernel step.

Zhang, Fang, Ni and Zeng [1]_ observe that MAP blind deblurring alternates
between an intermediate latent image ``x`` and an intermediate kernel ``k``,
and fails on saturations and large blurs because some pixels of ``x`` cannot
be explained by the linear blur model

.. math:: y = k * x + n. \qquad (1)

Their correction "utilizes Bayes posterior estimation to screen through the
intermediate image and exclude those unfavorable pixels to reduce their
influence for kernel estimation" (abstract of [1]_). It runs after each
x-step and before the k-step, at every pyramid level.

.. warning::
   The full text of [1]_ (its screening function, equation numbers and
   default parameters) could not be obtained; no public code was found either.
   What follows is the closest version faithful to the abstract: a Bayes
   posterior computed from the residual of model (1), and an intermediate image
   whose screened pixels are corrected so that they no longer bias the kernel
   step. The equation numbers (1)-(5) below are this module's own, **not**
   those of the paper, and every default is ours.

The steps, for the residual :math:`r = k * x - y`:

* two-class model of each observed pixel :math:`i`: an *inlier*
  (:math:`m_i = 1`, prior ``inlier_prior``) has Gaussian residual
  :math:`N(r_i; 0, \sigma^2)`; an *outlier* (saturated, clipped, or any other
  model violation) has a residual uniform on ``[-R, R]``, density
  :math:`1 / (2R)` with ``R = intensity_range``; (2)
* Bayes posterior of the inlier class,
  :math:`w_i = P(m_i = 1 \mid r_i) = p N(r_i) / (p N(r_i) + (1 - p) / (2R))`;
  the observation is screened out when :math:`w_i < 1/2` (the Bayes decision); (3)
* a pixel :math:`j` of ``x`` influences the observations :math:`j + \mathrm{supp}(k)`;
  it is screened when the kernel-weighted share of outliers among them,
  :math:`s = \bar k \star [w < 1/2]` (correlation, :math:`\bar k = |k| / \sum |k|`),
  exceeds one half; this set is :math:`S`; (4)
* the screened pixels are corrected by the least-squares excess that model (1)
  attributes to them,

  .. math:: \delta = \arg\min_{\delta:\ \delta = 0 \text{ off } S}
            \|k * (x - \delta) - y\|^2 + \mu \|\delta\|^2,
            \qquad x' = x - \delta, \qquad (5)

  solved by conjugate gradients (``max_iter`` steps) with
  :math:`\mu = 10^{-3} \|k\|_2^2`. A spike planted in ``x`` is removed (up
  to the shrinkage of the ridge); pixels of ``x`` that cannot fit ``y``
  (behind saturated observations) are brought to agree with the current
  kernel, so their residual, and with it their gradient in the next k-step at
  the current kernel, vanishes. Pixels off :math:`S` are never changed. The
  posterior map ``w`` is returned too, so a k-step may also weight its data
  term with it.

A consistent pair (``y = k * x`` up to rounding) is returned unchanged.

References
----------
.. [1] M. Zhang, Y. Fang, G. Ni and T. Zeng, "Pixel screening based
   intermediate correction for blind deblurring", CVPR 2022,
   doi:10.1109/CVPR52688.2022.00580.

Examples
--------
>>> import numpy as np
>>> from classicdeblur.operators.functional import convolve
>>> x = np.tile(np.linspace(0.2, 0.8, 32), (32, 1))
>>> k = np.full((1, 5), 0.2)
>>> y = convolve(x, k, boundary="symmetric")
>>> x_bad = x.copy(); x_bad[16, 16] = 1.0        # a pixel that violates (1)
>>> x_fix, info = screen(y, x_bad, k)
>>> [round(float(a[16, 16]), 2) for a in (x, x_bad, x_fix)]   # true, bad, corrected
[0.51, 1.0, 0.51]
>>> info["screened_fraction"] < 0.01
True
>>> bool(np.array_equal(screen(y, x, k)[0], x))   # consistent pair: untouched
True
"""

from __future__ import annotations

import math

from ..backend import get_namespace
from ..errors import InvalidImageError
from ..operators.blur import BlurOperator
from ..operators.functional import correlate
from ..operators.cg import conjugate_gradient

__all__ = ["SCREENING_PARAMS", "screen"]

#: Keyword parameters of :func:`screen` (passed by the framework as ``screening_<name>``).
SCREENING_PARAMS = ("sigma", "sigma_min", "inlier_prior", "intensity_range", "max_iter")

_MAD_TO_STD = 1.4826  # sigma = 1.4826 * median |r| for a Gaussian
_RIDGE = 1e-3  # mu of (5), relative to ||k||_2^2


def screen(
    blurred,
    latent,
    kernel,
    *,
    sigma=None,
    sigma_min=1e-3,
    inlier_prior=0.9,
    intensity_range=1.0,
    max_iter=30,
):
    """Screen the pixels of ``latent`` that violate ``y = k * x`` and correct them.

    Parameters
    ----------
    blurred : ndarray of shape (M, N)
        The observed (blurred) image ``y`` at this pyramid level.
    latent : ndarray of shape (M, N)
        The intermediate latent image ``x`` from the last x-step.
    kernel : ndarray of shape (h, w)
        The current kernel estimate (odd-sized, centre at ``(h // 2, w // 2)``).
    sigma : float or None
        Standard deviation of the inlier residual in (2). ``None`` estimates it
        robustly as ``1.4826 * median(|r|)``, at least ``sigma_min``.
    sigma_min : float
        Lower bound of the estimated ``sigma``, so that rounding residuals of a
        consistent pair are never screened.
    inlier_prior : float
        Prior probability ``p`` that an observation follows model (1), in (0, 1).
    intensity_range : float
        ``R``: outlier residuals are uniform on ``[-R, R]`` (2); 1 for images in [0, 1].
    max_iter : int
        Conjugate-gradient steps for the correction (5).

    Returns
    -------
    corrected : ndarray of shape (M, N)
        ``x - delta`` of (5); same type and dtype as ``latent``, equal to it off
        the screened set. The input is not modified.
    info : dict
        ``screened_fraction`` (share of pixels of ``x`` in the screened set, (4)),
        ``outlier_fraction`` (share of observations with posterior < 1/2, (3)),
        ``sigma`` (the inlier standard deviation used) and ``weights`` (the
        posterior map ``w`` of (3), same shape as ``blurred``).

    Raises
    ------
    InvalidImageError
        If the images are not 2-D arrays of the same shape.
    ValueError
        For a parameter outside its range.

    Examples
    --------
    >>> import numpy as np
    >>> y = np.full((8, 8), 0.5); k = np.ones((3, 3)) / 9
    >>> x = y.copy(); x[4, 4] = 1.0
    >>> out, info = screen(y, x, k)
    >>> round(float(out[4, 4]), 3), info["outlier_fraction"]
    (0.502, 0.140625)
    >>> x[4, 4]                                       # the input is not modified
    np.float64(1.0)
    """
    xp = get_namespace(blurred, latent, kernel)
    if blurred.ndim != 2 or blurred.shape != latent.shape:
        raise InvalidImageError(
            f"blurred and latent must be 2-D of the same shape, got {blurred.shape} and {latent.shape}"
        )
    if not 0.0 < inlier_prior < 1.0:
        raise ValueError(f"inlier_prior must be in (0, 1), got {inlier_prior}")
    positive = {"sigma_min": sigma_min, "intensity_range": intensity_range, "max_iter": max_iter}
    for name, value in positive.items():
        if not value > 0:
            raise ValueError(f"{name} must be positive, got {value}")
    if sigma is not None and not sigma > 0:
        raise ValueError(f"sigma must be positive or None, got {sigma}")

    dtype = latent.dtype
    k = xp.asarray(kernel, dtype=dtype)
    y = blurred.astype(dtype, copy=False)
    blur = BlurOperator(k, boundary="symmetric")

    # residual of the linear model (1)
    r = blur(latent) - y
    if sigma is None:
        sigma = max(_MAD_TO_STD * float(xp.median(xp.abs(r))), sigma_min)

    # log-odds of the inlier class, (2)-(3); the decision w < 1/2 is logit < 0
    log_gauss = -math.log(sigma * math.sqrt(2.0 * math.pi))
    log_prior_odds = math.log(inlier_prior) - math.log((1.0 - inlier_prior) / (2.0 * intensity_range))
    logit = (log_prior_odds + log_gauss) - r * r / (2.0 * sigma * sigma)
    weights = 1.0 / (1.0 + xp.exp(-xp.clip(logit, -50.0, 50.0)))
    outlier = (logit < 0).astype(dtype)

    # kernel-weighted outlier share of the observations each pixel of x influences, (4)
    kabs = xp.abs(k)
    ksum = float(kabs.sum())
    kbar = kabs / ksum if ksum > 0 else xp.ones((1, 1), dtype=dtype)
    mask = (correlate(outlier, kbar, boundary="symmetric") > 0.5).astype(dtype)

    corrected = latent.copy()
    if bool(mask.any()):
        # (5): normal equations  (M K^T K M + mu) delta = M K^T r  on the screened set
        mu = _RIDGE * float((k * k).sum())

        def normal(d):
            return mask * blur.normal(mask * d) + mu * d

        delta, _ = conjugate_gradient(normal, mask * blur.adjoint(r), maxiter=int(max_iter))
        corrected -= mask * delta

    info = {
        "screened_fraction": float(mask.mean()),
        "outlier_fraction": float(outlier.mean()),
        "sigma": float(sigma),
        "weights": weights,
    }
    return corrected, info
