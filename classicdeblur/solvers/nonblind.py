"""Non-blind deconvolution: restore ``x`` from ``y = k * x + n`` with a known kernel ``k``.

Every method

* takes gray ``(M, N)`` or colour ``(M, N, C)`` images (channels are
  deconvolved independently and vectorised, except where a method says
  otherwise), as NumPy or CuPy arrays, and runs the same code on both;
* handles the image border with ``boundary=``:

  ``"wrap"`` (default)
      extend the image by about a kernel size on each side into a smooth
      periodic image (Liu & Jia 2008, :func:`~classicdeblur.operators.functional.wrap_pad`),
      padded further to a fast FFT length, solve with circular convolution, crop;
  ``"edgetaper"``
      replicate-pad by the kernel size and taper the borders
      (:func:`~classicdeblur.operators.functional.edgetaper`), solve circularly, crop;
  ``"circular"``
      assume the image is periodic (no padding);

* computes the kernel and gradient OTFs once per call;
* returns floats of the input's precision (float32 stays float32), **clipped
  to [0, 1]**.

Methods are registered in :data:`NONBLIND` and called by name through
:func:`deconvolve`.

.. note::
   The blur model is a *true* convolution with an odd kernel centred at
   ``(h // 2, w // 2)``, as everywhere in classicdeblur.

Examples
--------
>>> import numpy as np
>>> from classicdeblur.operators.functional import convolve
>>> x = np.zeros((32, 32)); x[8:24, 8:24] = 1.0
>>> k = np.full((1, 5), 0.2)
>>> y = convolve(x, k, boundary="symmetric")
>>> NONBLIND.names()
['hyper_laplacian', 'irls', 'l0', 'richardson_lucy', 'tikhonov', 'tv', 'wiener']
>>> out = deconvolve(y, k, method="hyper_laplacian", lam=1e4)
>>> bool(np.abs(out - x).mean() < np.abs(y - x).mean())
True
"""

from __future__ import annotations

import math

from .. import backend
from .._registry import Registry, check_params
from .._validation import check_count as _count
from .._validation import check_image_kernel
from .._validation import check_positive as _positive
from ..backend import asarray_on, get_namespace
from ..operators import gradients as grad_ops
from ..operators.functional import crop, edgetaper, pad, psf2otf, wrap_pad
from ._shrink import shrink_hyper_laplacian, shrink_isotropic, shrink_l0
from .cg import conjugate_gradient

__all__ = [
    "NONBLIND",
    "BOUNDARY_MODES",
    "deconvolve",
    "wiener",
    "richardson_lucy",
    "tikhonov",
    "hyper_laplacian",
    "irls",
    "tv",
    "l0",
]

#: Registry of the non-blind methods (name -> function).
NONBLIND = Registry("non-blind method")

#: Values of ``boundary=`` understood by every method.
BOUNDARY_MODES = ("wrap", "edgetaper", "circular")


# --------------------------------------------------------------------------------------
# shared set-up: validation, boundary extension, OTFs, cropping
# --------------------------------------------------------------------------------------


def _fast_len(n: int, start: int) -> int:
    """Smallest padding ``p >= start`` (and ``<= n``) such that ``n + 2 p`` is a fast FFT length."""
    import scipy.fft

    start = min(start, n)
    for p in range(start, min(start + 64, n) + 1):
        if scipy.fft.next_fast_len(n + 2 * p) == n + 2 * p:
            return p
    return start


class _Problem:
    """The padded, periodic problem solved by every method."""

    def __init__(self, image, kernel, boundary):
        if boundary not in BOUNDARY_MODES:
            raise ValueError(f"unknown boundary {boundary!r}; choose from: {', '.join(BOUNDARY_MODES)}")
        image, kernel = check_image_kernel(image, kernel)
        xp = get_namespace(image)
        self.xp = xp
        self.dtype = image.dtype
        self.kernel = asarray_on(xp, kernel).astype(self.dtype)
        kh, kw = self.kernel.shape
        if boundary == "wrap":
            # Liu & Jia (2008): a band of about one kernel size, widened to a fast FFT size
            self.widths = (_fast_len(image.shape[0], kh), _fast_len(image.shape[1], kw))
            y = wrap_pad(image, self.widths)
        elif boundary == "edgetaper":
            self.widths = (kh, kw)
            y = pad(image, self.widths, "replicate")
            for _ in range(4):
                y = edgetaper(y, self.kernel)
        else:
            self.widths = (0, 0)
            y = image
        self.y = y.astype(self.dtype, copy=False)
        self.shape = self.y.shape[:2]
        otf = psf2otf(self.kernel, self.shape)
        self.otf = otf[..., None] if self.y.ndim == 3 else otf

    def spectrum(self, a):
        return backend.rfft2(a)

    def real(self, spec):
        return backend.irfft2(spec, s=self.shape).astype(self.dtype, copy=False)

    def gradient_otfs(self):
        fx, fy = grad_ops.gradient_otfs(self.shape, self.xp, self.dtype)
        if self.y.ndim == 3:
            fx, fy = fx[..., None], fy[..., None]
        return fx, fy

    def laplacian_spectrum(self):
        """``|Fx|^2 + |Fy|^2``, the spectrum of ``D^T D`` (real)."""
        fx, fy = self.gradient_otfs()
        return (abs(fx) ** 2 + abs(fy) ** 2).astype(self.dtype)

    def blur(self, x, otf=None):
        return self.real(self.spectrum(x) * (self.otf if otf is None else otf))

    def finish(self, x):
        xp = self.xp
        return xp.clip(crop(x, self.widths), 0, 1).astype(self.dtype, copy=False)


# --------------------------------------------------------------------------------------
# methods
# --------------------------------------------------------------------------------------


@NONBLIND.register("wiener", description="Wiener filter with a constant noise-to-signal ratio")
def wiener(image, kernel, *, nsr=3e-2, boundary="wrap"):
    r"""Wiener deconvolution with a constant noise-to-signal ratio.

    Parameters
    ----------
    image : ndarray of shape (M, N) or (M, N, C)
        Blurred image, floats in [0, 1].
    kernel : ndarray of shape (h, w)
        Odd-sized blur kernel (normalised to sum 1).
    nsr : float
        Noise-to-signal power ratio; larger is smoother.
    boundary : {"wrap", "edgetaper", "circular"}

    Returns
    -------
    ndarray
        Restored image, same shape and float precision, clipped to [0, 1].

    Notes
    -----
    .. math:: \hat X = \frac{\overline{K}\, Y}{|K|^2 + \mathrm{nsr}}

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(0).random((16, 16))
    >>> out = wiener(x, np.ones((1, 1)), nsr=1e-6)
    >>> bool(np.allclose(out, x, atol=1e-4))
    True
    """
    nsr = _positive("nsr", nsr)
    p = _Problem(image, kernel, boundary)
    spec = p.otf.conj() * p.spectrum(p.y) / (abs(p.otf) ** 2 + nsr)
    return p.finish(p.real(spec))


@NONBLIND.register("richardson_lucy", description="Richardson-Lucy multiplicative iterations (Poisson likelihood)")
def richardson_lucy(image, kernel, *, iterations=30, eps=1e-6, boundary="wrap"):
    r"""Richardson-Lucy deconvolution.

    Parameters
    ----------
    image : ndarray of shape (M, N) or (M, N, C)
    kernel : ndarray of shape (h, w)
    iterations : int
        Number of multiplicative updates (more is sharper and noisier).
    eps : float
        Floor of the denominator and of the (padded) data, which must be positive.
    boundary : {"wrap", "edgetaper", "circular"}

    Returns
    -------
    ndarray
        Clipped to [0, 1].

    Notes
    -----
    .. math:: x_{t+1} = x_t \cdot \Big(\tilde k * \frac{y}{k * x_t}\Big),

    with :math:`\tilde k` the flipped kernel (the adjoint), started from ``y``.

    References
    ----------
    .. [1] W. H. Richardson, "Bayesian-based iterative method of image
       restoration", JOSA 62(1), 1972.
    .. [2] L. B. Lucy, "An iterative technique for the rectification of
       observed distributions", AJ 79, 1974.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(0).random((16, 16)) * 0.8 + 0.1
    >>> bool(np.allclose(richardson_lucy(x, np.ones((1, 1)), iterations=3), x))
    True
    """
    iterations = _count("iterations", iterations)
    eps = _positive("eps", eps)
    p = _Problem(image, kernel, boundary)
    xp = p.xp
    y = xp.maximum(p.y, eps)
    adj = p.otf.conj()
    x = y
    for _ in range(iterations):
        ratio = y / xp.maximum(p.blur(x), eps)
        x = x * p.blur(ratio, adj)
    return p.finish(x)


@NONBLIND.register("tikhonov", description="L2 gradient (Gaussian) prior, closed form in Fourier")
def tikhonov(image, kernel, *, weight=2e-2, boundary="wrap"):
    r"""Tikhonov deconvolution with a quadratic gradient prior, solved in closed form.

    Parameters
    ----------
    image : ndarray of shape (M, N) or (M, N, C)
    kernel : ndarray of shape (h, w)
    weight : float
        Prior weight :math:`\mu`.
    boundary : {"wrap", "edgetaper", "circular"}

    Returns
    -------
    ndarray
        Clipped to [0, 1].

    Notes
    -----
    Minimises :math:`\|k * x - y\|^2 + \mu (\|\partial_x x\|^2 + \|\partial_y x\|^2)`:

    .. math:: \hat X = \frac{\overline{K}\, Y}{|K|^2 + \mu (|F_x|^2 + |F_y|^2)}

    (the deconvolution step of Cho & Lee 2009).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(0).random((16, 16))
    >>> bool(np.allclose(tikhonov(x, np.ones((1, 1)), weight=1e-8), x, atol=1e-5))
    True
    """
    weight = _positive("weight", weight)
    p = _Problem(image, kernel, boundary)
    spec = p.otf.conj() * p.spectrum(p.y) / (abs(p.otf) ** 2 + weight * p.laplacian_spectrum())
    return p.finish(p.real(spec))


@NONBLIND.register(
    "hyper_laplacian", description="Krishnan & Fergus 2009 hyper-Laplacian prior by half-quadratic splitting"
)
def hyper_laplacian(
    image,
    kernel,
    *,
    lam=2e3,
    alpha=2 / 3,
    beta_min=1.0,
    beta_max=256.0,
    beta_rate=2 * math.sqrt(2),
    inner=1,
    engine="auto",
    boundary="wrap",
):
    r"""Fast deconvolution with a hyper-Laplacian gradient prior (Krishnan & Fergus 2009).

    Parameters
    ----------
    image : ndarray of shape (M, N) or (M, N, C)
    kernel : ndarray of shape (h, w)
    lam : float
        Weight :math:`\lambda` of the data term (larger trusts the data more).
        The paper's 2e3 for 1% noise on [0, 1] images is also the best single
        value measured on 256x256 faces.
    alpha : float
        Exponent of the prior, ``0 < alpha <= 1``; 1/2 and 2/3 are solved
        analytically, 1 is (anisotropic) TV, others by Newton iterations.
    beta_min, beta_max, beta_rate : float
        Continuation of the splitting weight: ``beta`` goes from ``beta_min``
        by factors ``beta_rate`` while it is below ``beta_max``.
    inner : int
        Alternations per ``beta`` value.
    engine : {"auto", "numpy", "numba", "cuda"}
        Engine of the per-pixel w-step (see :mod:`._shrink`).
    boundary : {"wrap", "edgetaper", "circular"}

    Returns
    -------
    ndarray
        Clipped to [0, 1].

    Notes
    -----
    Minimises (paper Eq. 1 with the splitting of Eq. 2)

    .. math::
        \frac{\lambda}{2}\|k * x - y\|^2 + \sum_{j} \|w_j\|_\alpha^\alpha
        + \frac{\beta}{2}\sum_j \|\partial_j x - w_j\|^2,

    alternating the per-pixel w-step (Eq. 5,
    :func:`~._shrink.shrink_hyper_laplacian`) and the x-step (Eq. 3), closed
    form in Fourier with :math:`\gamma = \beta/\lambda`:

    .. math::
        X = \frac{\overline{K} Y + \gamma \mathcal{F}(D^T w)}{|K|^2 + \gamma (|F_x|^2 + |F_y|^2)}.

    References
    ----------
    .. [1] D. Krishnan and R. Fergus, "Fast image deconvolution using
       hyper-Laplacian priors", NIPS 2009.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(0).random((16, 16))
    >>> out = hyper_laplacian(x, np.ones((1, 1)), lam=1e6, engine="numpy")
    >>> bool(np.abs(out - x).max() < 0.01)
    True
    """
    lam = _positive("lam", lam)
    beta_min, beta_max = _positive("beta_min", beta_min), _positive("beta_max", beta_max)
    beta_rate = float(beta_rate)
    if not beta_rate > 1:
        raise ValueError(f"beta_rate must be > 1; got {beta_rate}")
    inner = _count("inner", inner, 1)
    p = _Problem(image, kernel, boundary)
    # constant parts of Eq. (3), computed once
    numer1 = p.otf.conj() * p.spectrum(p.y)
    denom1 = abs(p.otf) ** 2
    denom2 = p.laplacian_spectrum()
    x = p.y
    beta = beta_min
    while beta < beta_max:
        gamma = beta / lam
        denom = denom1 + gamma * denom2
        for _ in range(inner):
            # w-subproblem, Eq. (5), per pixel
            wx = shrink_hyper_laplacian(grad_ops.dx(x), beta, alpha, engine=engine)
            wy = shrink_hyper_laplacian(grad_ops.dy(x), beta, alpha, engine=engine)
            # x-subproblem, Eq. (3)
            x = p.real((numer1 + gamma * p.spectrum(grad_ops.divergence(wx, wy))) / denom)
        beta *= beta_rate
    return p.finish(x)


_IRLS_FILTERS = (("dx", 1.0), ("dy", 1.0), ("dxx", 0.25), ("dyy", 0.25), ("dxy", 0.25))


@NONBLIND.register("irls", description="Levin et al. 2007 sparse (alpha=0.8) prior by IRLS with conjugate gradients")
def irls(
    image,
    kernel,
    *,
    weight=4e-3,
    alpha=0.8,
    reweights=2,
    cg_iterations=40,
    epsilon=0.01,
    boundary="wrap",
):
    r"""Sparse-prior deconvolution by iteratively reweighted least squares (Levin et al. 2007).

    Parameters
    ----------
    image : ndarray of shape (M, N) or (M, N, C)
    kernel : ndarray of shape (h, w)
    weight : float
        Prior weight (the ``we`` of the authors' ``deconvSps``; 2e-3 to 5e-3
        suits 1% noise, 4e-3 measured best on faces).
    alpha : float
        Exponent of the derivative prior :math:`|d|^\alpha` (0.8 in the paper).
    reweights : int
        Reweighting rounds after the initial quadratic (Gaussian-prior) solve.
    cg_iterations : int
        Conjugate-gradient iterations per solve (warm-started).
    epsilon : float
        Floor of ``|d|`` in the weights.
    boundary : {"wrap", "edgetaper", "circular"}

    Returns
    -------
    ndarray
        Clipped to [0, 1].

    Notes
    -----
    Minimises :math:`\|k * x - y\|^2 + \text{weight}\sum_f c_f \sum_i \rho(f_i * x)`
    with :math:`\rho(d) = |d|^\alpha` over the filters ``dx, dy`` (``c_f = 1``)
    and ``dxx, dyy, dxy`` (``c_f = 1/4``). Each round solves the normal
    equations

    .. math:: \Big(K^T K + \text{weight} \sum_f c_f F_f^T W_f F_f\Big) x = K^T y

    by CG, with :math:`W_f = 0.1\,\max(|f * x|, \epsilon)^{\alpha - 2}` from the
    previous round (``W_f = 1`` in the first), as in the authors' ``deconvSps``.

    References
    ----------
    .. [1] A. Levin, R. Fergus, F. Durand and W. T. Freeman, "Image and depth
       from a conventional camera with a coded aperture", SIGGRAPH 2007.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(0).random((16, 16))
    >>> bool(np.abs(irls(x, np.ones((1, 1)), weight=1e-6) - x).max() < 1e-3)
    True
    """
    weight = _positive("weight", weight)
    alpha = _positive("alpha", alpha)
    epsilon = _positive("epsilon", epsilon)
    reweights = _count("reweights", reweights)
    cg_iterations = _count("cg_iterations", cg_iterations, 1)
    p = _Problem(image, kernel, boundary)
    xp = p.xp
    otf2 = abs(p.otf) ** 2
    rhs = p.blur(p.y, p.otf.conj())
    x = p.y
    weights = None
    for _ in range(reweights + 1):
        if weights is None:
            coeffs = [c * weight for _, c in _IRLS_FILTERS]
        else:
            coeffs = [c * weight * wf for (_, c), wf in zip(_IRLS_FILTERS, weights)]

        def normal(v, coeffs=coeffs):
            out = p.real(p.spectrum(v) * otf2)
            for (name, _), cf in zip(_IRLS_FILTERS, coeffs):
                out = out + grad_ops.apply_adjoint(name, cf * grad_ops.apply(name, v))
            return out

        x, _ = conjugate_gradient(normal, rhs, x, maxiter=cg_iterations, tol=1e-5)
        weights = [
            0.1 * xp.maximum(xp.abs(grad_ops.apply(name, x)), epsilon) ** (alpha - 2) for name, _ in _IRLS_FILTERS
        ]
    return p.finish(x)


@NONBLIND.register("tv", description="isotropic total variation by ADMM")
def tv(image, kernel, *, weight=1.2e-3, rho=None, iterations=60, engine="auto", boundary="wrap"):
    r"""Total-variation deconvolution by ADMM.

    Parameters
    ----------
    image : ndarray of shape (M, N) or (M, N, C)
    kernel : ndarray of shape (h, w)
    weight : float
        TV weight :math:`\mu`.
    rho : float, optional
        ADMM penalty; default ``10 * weight``.
    iterations : int
        ADMM iterations.
    engine : {"auto", "numpy", "numba", "cuda"}
        Engine of the isotropic shrinkage.
    boundary : {"wrap", "edgetaper", "circular"}

    Returns
    -------
    ndarray
        Clipped to [0, 1].

    Notes
    -----
    Minimises :math:`\tfrac12\|k * x - y\|^2 + \mu \sum_i \|(\nabla x)_i\|_2`
    (per channel) with the splitting :math:`w = \nabla x`:

    .. math::
        X &= \frac{\overline{K} Y + \rho\,\mathcal{F}(D^T(w - u))}{|K|^2 + \rho(|F_x|^2 + |F_y|^2)},\\
        w &= \operatorname{shrink}(\nabla x + u, \mu/\rho), \qquad u \leftarrow u + \nabla x - w.

    References
    ----------
    .. [1] Y. Wang, J. Yang, W. Yin and Y. Zhang, "A new alternating
       minimization algorithm for total variation image reconstruction",
       SIAM J. Imaging Sciences 1(3), 2008.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(0).random((16, 16))
    >>> bool(np.abs(tv(x, np.ones((1, 1)), weight=1e-6, engine="numpy") - x).max() < 1e-3)
    True
    """
    weight = _positive("weight", weight)
    rho = 10 * weight if rho is None else _positive("rho", rho)
    iterations = _count("iterations", iterations, 1)
    p = _Problem(image, kernel, boundary)
    xp = p.xp
    numer1 = p.otf.conj() * p.spectrum(p.y)
    denom = abs(p.otf) ** 2 + rho * p.laplacian_spectrum()
    x = p.y
    gx, gy = grad_ops.gradient(x)
    ux, uy = xp.zeros_like(x), xp.zeros_like(x)
    for _ in range(iterations):
        wx, wy = shrink_isotropic(gx + ux, gy + uy, weight / rho, engine=engine)
        x = p.real((numer1 + rho * p.spectrum(grad_ops.divergence(wx - ux, wy - uy))) / denom)
        gx, gy = grad_ops.gradient(x)
        ux = ux + gx - wx
        uy = uy + gy - wy
    return p.finish(x)


@NONBLIND.register("l0", description="L0 gradient prior by half-quadratic splitting (Xu et al. 2011, Pan et al. 2014)")
def l0(image, kernel, *, lam=3e-4, kappa=2.0, beta_max=1e5, engine="auto", boundary="wrap"):
    r"""Deconvolution with an L0 gradient prior (Xu et al. 2011, as used by Pan et al. 2014).

    Parameters
    ----------
    image : ndarray of shape (M, N) or (M, N, C)
    kernel : ndarray of shape (h, w)
    lam : float
        Weight :math:`\lambda` of the L0 term. Pan et al. use 2e-3 inside
        blind estimation; the default 3e-4 is better as a final restoration
        of 1%-noise faces (smaller keeps more texture and more noise).
    kappa : float
        Growth factor of ``beta`` (> 1).
    beta_max : float
        ``beta`` goes from ``2 * lam`` by factors ``kappa`` while below this.
    engine : {"auto", "numpy", "numba", "cuda"}
        Engine of the hard-threshold step.
    boundary : {"wrap", "edgetaper", "circular"}

    Returns
    -------
    ndarray
        Clipped to [0, 1]. Results are piecewise smooth by design.

    Notes
    -----
    Minimises :math:`\|k * x - y\|^2 + \lambda \|\nabla x\|_0` with auxiliary
    gradients :math:`(h, v)` and penalty :math:`\beta\|\nabla x - (h, v)\|^2`:

    * (h, v)-step (Xu et al. Eq. 12): keep :math:`(\partial_x x, \partial_y x)`
      where :math:`h^2 + v^2 \ge \lambda/\beta`, else 0
      (:func:`~._shrink.shrink_l0`; summed over the channels of a colour
      image, whose channels are thus coupled, as in the authors' code);
    * x-step (Eq. 8): :math:`X = (\overline{K} Y + \beta \mathcal{F}(D^T(h, v))) / (|K|^2 + \beta(|F_x|^2 + |F_y|^2))`.

    References
    ----------
    .. [1] L. Xu, C. Lu, Y. Xu and J. Jia, "Image smoothing via L0 gradient
       minimization", SIGGRAPH Asia 2011.
    .. [2] J. Pan, Z. Hu, Z. Su and M.-H. Yang, "Deblurring face images with
       exemplars", ECCV 2014.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.zeros((16, 16)); x[4:12, 4:12] = 0.8
    >>> bool(np.abs(l0(x, np.ones((1, 1)), engine="numpy") - x).max() < 1e-3)
    True
    """
    lam = _positive("lam", lam)
    kappa = float(kappa)
    if not kappa > 1:
        raise ValueError(f"kappa must be > 1; got {kappa}")
    beta_max = _positive("beta_max", beta_max)
    p = _Problem(image, kernel, boundary)
    numer1 = p.otf.conj() * p.spectrum(p.y)
    denom1 = abs(p.otf) ** 2
    denom2 = p.laplacian_spectrum()
    x = p.y
    beta = 2 * lam
    while beta < beta_max:
        h, v = shrink_l0(grad_ops.dx(x), grad_ops.dy(x), lam / beta, engine=engine)
        x = p.real((numer1 + beta * p.spectrum(grad_ops.divergence(h, v))) / (denom1 + beta * denom2))
        beta *= kappa
    return p.finish(x)


# --------------------------------------------------------------------------------------
# front end
# --------------------------------------------------------------------------------------


def deconvolve(image, kernel, method="hyper_laplacian", **params):
    """Non-blind deconvolution with a registered method.

    Parameters
    ----------
    image : ndarray of shape (M, N) or (M, N, C)
        Blurred image, floats in [0, 1] (integers are rescaled).
    kernel : ndarray of shape (h, w)
        Odd-sized, non-negative blur kernel (normalised to sum 1).
    method : str
        A name in :data:`NONBLIND` (``NONBLIND.names()``).
    **params
        Keyword parameters of that method.

    Returns
    -------
    ndarray
        Restored image, clipped to [0, 1].

    Raises
    ------
    ValueError
        Unknown method (the message lists the valid names), bad parameter values.
    InvalidParameterError
        A parameter the method does not take (the message lists those it does);
        also a ``TypeError``.

    Examples
    --------
    >>> import numpy as np
    >>> deconvolve(np.zeros((8, 8)), np.ones((3, 3)), method="magic")
    Traceback (most recent call last):
    ...
    ValueError: unknown non-blind method 'magic'; choose from: hyper_laplacian, irls, l0, richardson_lucy, tikhonov, tv, wiener
    >>> deconvolve(np.zeros((8, 8)), np.ones((3, 3)), method="wiener", lam=1)
    Traceback (most recent call last):
    ...
    classicdeblur.errors.InvalidParameterError: non-blind method 'wiener' has no parameter 'lam'; valid: nsr, boundary
    """
    func = NONBLIND.get(method)
    check_params(func, f"non-blind method {method!r}", params)
    return func(image, kernel, **params)
