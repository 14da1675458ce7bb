r"""Shan, Jia & Agarwala (2008): blind motion deblurring with a piecewise gradient prior.

The method minimises (paper Eq. 7)

.. math::
    E(L, f) = \sum_{\partial^* \in \Theta} w(\partial^*) \|\partial^* L \otimes f - \partial^* I\|^2
      + \lambda_1 \|\Phi(\partial_x L) + \Phi(\partial_y L)\|_1
      + \lambda_2 \big(\|\partial_x L - \partial_x I\|^2 + \|\partial_y L - \partial_y I\|^2\big) \circ M
      + \|f\|_1

by alternating a latent-image step and a kernel step, coarse to fine:

* **Likelihood** (Sec. 4, Eq. 3): the noise is modelled on the image and on
  its derivatives :math:`\Theta = \{\partial_0, \partial_x, \partial_y,
  \partial_{xx}, \partial_{xy}, \partial_{yy}\}`, with weights
  :math:`w(\partial^*) = 50 / 2^q` for a derivative of order ``q``.
* **Global prior** (Eq. 5): a two-piece fit of the logarithmic gradient
  density of natural images (gray levels in [0, 255]),
  :math:`\Phi(x) = -k|x|` for :math:`|x| \le l_t` and :math:`-(a x^2 + b)`
  beyond, with :math:`k = 2.7, a = 6.1\times10^{-4}, b = 5.0, l_t = 1.852`.
* **Local prior** (Eq. 6): in smooth regions :math:`\Omega` (mask ``M``; the
  standard deviation of the blurred image in a kernel-sized window is below
  ``t = 5`` gray levels) the latent gradients should equal the blurred ones.
* **L-step** (Sec. 4.1): the auxiliary :math:`\Psi \approx \nabla L` splits the
  energy (Eq. 8); the :math:`\Psi` update is separable and solved per pixel in
  closed form over the pieces of :math:`\Phi` (Eq. 9), the :math:`L` update in
  Fourier (Eq. 10-11), and the penalty :math:`\gamma` starts at 2 and doubles
  on every inner iteration.
* **f-step** (Sec. 4.2, Eq. 12-13): L1-regularised least squares on all the
  derivatives of :math:`\Theta` with their weights
  (:meth:`~classicdeblur.operators.kernel.KernelSystem.solve_l1`).
* **Schedules** (Sec. 5): :math:`\lambda_1` and :math:`\lambda_2` are
  divided by :math:`\kappa_1 \in [1.1, 1.4]` and :math:`\kappa_2 = 1.5` after
  every outer iteration (the paper starts them in [0.002, 0.5] and [10, 25];
  see :func:`shan2008` for the default of :math:`\lambda_1`).
* **Final step**: the hyper-Laplacian non-blind deconvolution
  (:func:`~classicdeblur.solvers.fourier.hyper_laplacian` with ``lam=1e3``;
  the paper's own L-step is :func:`latent_step`).

All energies are evaluated in gray levels (the image times 255), the units
in which the paper's constants were fitted. Every array operation is written
against the array module of the input (NumPy or CuPy); the per-pixel
:math:`\Psi` update is a handful of vectorised ``where`` operations.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .._validation import check_count as _count
from .._validation import check_positive as _positive
from ..backend import get_namespace, get_ndimage
from ..operators import gradients as grad_ops
from ..operators.kernel import KernelSystem
from ..operators.periodic import PeriodicBlur
from .framework import Estimator, run_blind
from .method import blind_method

__all__ = ["PRIOR_CONSTANTS", "latent_step", "phi", "shan2008", "smooth_mask", "update_psi"]

#: The paper's fit of the logarithmic gradient density (Eq. 5): ``k, a, b, l_t`` (gray levels).
PRIOR_CONSTANTS = (2.7, 6.1e-4, 5.0, 1.852)

#: Derivatives of the likelihood (Eq. 3) with their order ``q``; the weight is ``50 / 2**q``.
_THETA = (("d0", 0), ("dx", 1), ("dy", 1), ("dxx", 2), ("dxy", 2), ("dyy", 2))
_GRAY = 255.0


def phi(x, constants=PRIOR_CONSTANTS):
    r"""The global prior :math:`\Phi(x)` of Eq. 5 (a log-density, so non-positive).

    Examples
    --------
    >>> import numpy as np
    >>> phi(np.array([0.0, 1.0, 1.852, 10.0])).round(3).tolist()
    [-0.0, -2.7, -5.0, -5.061]
    """
    xp = get_namespace(x)
    k, a, b, lt = constants
    ax = xp.abs(x)
    return xp.where(ax <= lt, -k * ax, -(a * x * x + b))


def update_psi(dl, di, mask, lambda1, lambda2, gamma, constants=PRIOR_CONSTANTS):
    r"""Per-pixel minimiser of Eq. 9, vectorised.

    .. math::
        \Psi^* = \arg\min_\psi \lambda_1 |\Phi(\psi)| + \lambda_2 M (\psi - \partial I)^2
                 + \gamma (\psi - \partial L)^2 .

    :math:`|\Phi|` is convex on each of the four intervals
    :math:`(-\infty, -l_t], [-l_t, 0], [0, l_t], [l_t, \infty)`, so the minimum
    on each is the unconstrained minimiser of its quadratic clamped to the
    interval; the energy is continuous and the best of the four candidates is
    the global minimum.

    Parameters
    ----------
    dl, di : ndarray
        A derivative (``dx`` or ``dy``) of the latent and of the blurred image, in gray levels.
    mask : ndarray
        1 in the smooth region :math:`\Omega`, 0 elsewhere.
    lambda1, lambda2, gamma : float

    Returns
    -------
    ndarray, like ``dl``.

    Examples
    --------
    >>> import numpy as np
    >>> d = np.array([-40.0, -1.0, 0.2, 1.0, 40.0])
    >>> update_psi(d, np.zeros(5), np.zeros(5), 0.5, 20.0, 2.0).round(4).tolist()
    [-39.9939, -0.6625, 0.0, 0.6625, 39.9939]
    """
    xp = get_namespace(dl)
    k, a, b, lt = constants
    m = lambda2 * mask
    num = m * di + gamma * dl
    den = m + gamma
    # quadratic piece |psi| >= l_t: lambda1 (a psi^2 + b)
    q = num / (a * lambda1 + den)
    c_hi, c_lo = xp.maximum(q, lt), xp.minimum(q, -lt)
    # linear pieces: lambda1 k |psi| on [0, l_t] and [-l_t, 0]
    c_pos = xp.clip((num - 0.5 * lambda1 * k) / den, 0.0, lt)
    c_neg = xp.clip((num + 0.5 * lambda1 * k) / den, -lt, 0.0)

    def fit(c):
        return m * (c - di) ** 2 + gamma * (c - dl) ** 2

    e_hi = lambda1 * (a * c_hi * c_hi + b) + fit(c_hi)
    e_lo = lambda1 * (a * c_lo * c_lo + b) + fit(c_lo)
    e_pos = lambda1 * k * c_pos + fit(c_pos)
    e_neg = -lambda1 * k * c_neg + fit(c_neg)
    best, e_best = c_hi, e_hi
    for c, e in ((c_lo, e_lo), (c_pos, e_pos), (c_neg, e_neg)):
        better = e < e_best
        best = xp.where(better, c, best)
        e_best = xp.where(better, e, e_best)
    return best


def smooth_mask(image, window, threshold):
    r"""The smooth region :math:`\Omega` of the local prior (Eq. 6).

    1 where the standard deviation of ``image`` in the ``window`` x ``window``
    neighbourhood is below ``threshold`` (same units as ``image``), else 0.

    Examples
    --------
    >>> import numpy as np
    >>> img = np.zeros((9, 9)); img[:, 5:] = 100.0
    >>> smooth_mask(img, 3, 5.0)[4].tolist()
    [1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 1.0]
    """
    xp = get_namespace(image)
    ndi = get_ndimage(xp)
    mean = ndi.uniform_filter(image, window, mode="reflect")
    mean2 = ndi.uniform_filter(image * image, window, mode="reflect")
    var = xp.maximum(mean2 - mean * mean, 0)
    return (var < threshold * threshold).astype(image.dtype)


def _trimmed(name, g):
    """Zero the rows/columns of a circular derivative that wrap around the image."""
    g = g.copy()
    if name in ("dx", "dxy"):
        g[:, -1] = 0
    if name in ("dy", "dxy"):
        g[-1, :] = 0
    if name == "dxx":
        g[:, 0] = 0
        g[:, -1] = 0
    if name == "dyy":
        g[0, :] = 0
        g[-1, :] = 0
    return g


def _taper(shape, width, xp, dtype):
    """Separable raised-cosine window falling to 0 over ``width`` pixels at each border."""
    out = None
    for n in shape:
        w = xp.ones(n, dtype=dtype)
        r = min(width, n // 2)
        if r > 0:
            t = (xp.arange(r, dtype=dtype) + 0.5) / r
            ramp = 0.5 - 0.5 * xp.cos(math.pi * t)
            w[:r] = ramp
            w[n - r :] = ramp[::-1]
        out = w[:, None] if out is None else out * w[None, :]
    return out


class _Splitting:
    r"""The padded problem of the L-step (Sec. 4.1) for one blurred image and kernel.

    Everything that does not change between inner iterations is computed
    once: the blurred image on its periodic extension (Liu & Jia,
    :class:`~classicdeblur.operators.periodic.PeriodicBlur`), its gradients,
    the smooth-region mask and the likelihood weight :math:`\Delta` of Eq. 11.
    """

    def __init__(self, y, k, weights, window, threshold):
        p = PeriodicBlur(y * _GRAY, k, "smooth")  # gray levels
        xp, dtype = p.xp, p.dtype
        self.p = p
        self.mask = smooth_mask(p.y, window, threshold * _GRAY)
        self.dix, self.diy = grad_ops.dx(p.y), grad_ops.dy(p.y)
        # Delta = sum over Theta of w |F(d*)|^2 (Eq. 11); d0 is the identity
        delta = xp.full(p.otf.shape, weights[0], dtype=dtype)
        for name, q in _THETA[1:]:
            delta = delta + weights[q] * xp.abs(grad_ops.filter_otf(name, p.shape, xp, dtype)) ** 2
        self.delta = delta

    def solve(self, x0, lambda1, lambda2, gamma, inner):
        """``inner`` alternations of the Psi-step (Eq. 9) and the L-step (Eq. 11), gamma doubling."""
        p = self.p
        latent = p.y.copy()
        if x0 is not None:
            ph, pw = p.widths
            latent[ph : ph + x0.shape[0], pw : pw + x0.shape[1]] = x0 * _GRAY
        for _ in range(inner):
            psi_x = update_psi(grad_ops.dx(latent), self.dix, self.mask, lambda1, lambda2, gamma)
            psi_y = update_psi(grad_ops.dy(latent), self.diy, self.mask, lambda1, lambda2, gamma)
            # Eq. 11: L = F^-1[(conj(F(f)) F(I) Delta + gamma (conj(F(dx)) F(psi_x) + conj(F(dy)) F(psi_y)))
            #                  / (|F(f)|^2 Delta + gamma (|F(dx)|^2 + |F(dy)|^2))]
            latent = p.solve(gamma, p.gradient_adjoint_spectrum(psi_x, psi_y), data_weight=self.delta)
            gamma *= 2.0
        return p.crop(latent) / _GRAY


def latent_step(y, k, x0=None, *, lambda1, lambda2, gamma=2.0, inner=10, threshold=5 / 255, window=None,
                weights=(50.0, 25.0, 12.5)):
    r"""The L-step of Sec. 4.1: minimise Eq. 8 over :math:`\Psi` and L for a fixed kernel.

    Parameters
    ----------
    y : ndarray of shape (M, N) or (M, N, C)
        Blurred image in [0, 1] (a colour image is solved channel by channel).
    k : ndarray
        Odd kernel.
    x0 : ndarray, optional
        Starting latent image (default: the blurred image).
    lambda1, lambda2 : float
        Weights of the global and the local prior (Eq. 7).
    gamma : float
        Initial weight of :math:`\|\Psi - \nabla L\|^2`, doubled ``inner`` times.
    inner : int
        Number of (:math:`\Psi`, L) alternations.
    threshold, window :
        Smooth-region test of Eq. 6 (window default: the kernel size).
    weights : tuple of 3 floats
        Likelihood weights of the derivative orders 0, 1, 2 (Eq. 3: ``50 / 2**q``).

    Returns
    -------
    ndarray
        The latent image (not clipped), same shape as ``y``.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(0).random((24, 24))
    >>> out = latent_step(x, np.ones((1, 1)), lambda1=1e-3, lambda2=0.0)
    >>> bool(np.abs(out - x).max() < 1e-3)
    True
    """
    window = window or max(k.shape)
    if y.ndim == 3:
        xp = get_namespace(y)
        return xp.stack([latent_step(y[..., c], k, None if x0 is None else x0[..., c], lambda1=lambda1,
                                     lambda2=lambda2, gamma=gamma, inner=inner, threshold=threshold,
                                     window=window, weights=weights) for c in range(y.shape[2])], axis=2)
    return _Splitting(y, k, weights, window, threshold).solve(x0, lambda1, lambda2, gamma, inner)


@dataclass
class _ShanLevel:
    """The prior weights of the current outer iteration at one pyramid level (Sec. 5 schedules)."""

    lambda1: float
    lambda2: float


class _ShanEstimator(Estimator):
    """The L-step (Sec. 4.1) and the f-step (Sec. 4.2) as x- and k-steps of the framework."""

    def __init__(self, *, lambda1, lambda2, kappa1, kappa2, gamma, inner, threshold, window, kernel_l1,
                 iterations, weights, intensity):
        self.lambda1, self.lambda2 = lambda1, lambda2
        self.kappa1, self.kappa2 = kappa1, kappa2
        self.gamma, self.inner = gamma, inner
        self.threshold, self.window = threshold, window
        self.kernel_l1 = kernel_l1
        self.iterations = iterations
        self.min_iterations = iterations
        self.weights = weights
        self.intensity = intensity
        self.level: _ShanLevel | None = None

    def _weight(self, q):
        return self.weights[q]

    def start_level(self, state):
        # the lambda schedules restart on every level (Sec. 5)
        self.level = _ShanLevel(self.lambda1, self.lambda2)

    # ------------------------------------------------------------------ L-step (Sec. 4.1)

    def x_step(self, state):
        lv = self.level
        split = _Splitting(state.y, state.k, self.weights, self.window or state.level.kernel_size, self.threshold)
        x = split.solve(state.x, lv.lambda1, lv.lambda2, self.gamma, self.inner)
        # the lambda schedules of Sec. 5
        lv.lambda1 = lv.lambda1 / self.kappa1
        lv.lambda2 = lv.lambda2 / self.kappa2
        return x

    # ------------------------------------------------------------------ f-step (Sec. 4.2)

    def k_step(self, state):
        xp = state.xp
        pairs = []
        x, y = state.x, state.y
        for name, q in _THETA:
            w = self._weight(q) * _GRAY**2
            if name == "d0":
                if not self.intensity:
                    continue
                # intensities: remove the mean and taper the borders, where the
                # zero-padded linear model of KernelSystem does not hold
                win = _taper(x.shape, state.level.kernel_size, xp, x.dtype)
                pairs.append(((x - x.mean()) * win, (y - y.mean()) * win, w))
            else:
                pairs.append((_trimmed(name, grad_ops.apply(name, x)), _trimmed(name, grad_ops.apply(name, y)), w))
        system = KernelSystem(pairs, state.level.kernel_size)
        # Eq. 12: the data term is in gray levels, ||f||_1 is weighted as for images on [0, 1].
        # IRLS starts from the L2 solution, not from the previous (thresholded) kernel, whose
        # zeros would get infinite reweighting weights and could never grow back.
        return system.solve_l1(self.kernel_l1 * _GRAY**2)


@blind_method(
    "shan2008",
    description="Shan, Jia & Agarwala 2008: piecewise log-gradient prior, local prior, L1 kernel",
    final=("hyper_laplacian", {"lam": 1e3}),
)
def shan2008(image, options, *, kernel_size=None, rng=None, target=None, lambda1=2e3, lambda2=25.0, kappa1=1.2,
             kappa2=1.5, gamma=2.0, inner=14, threshold=5 / 255, window=None, kernel_l1=5.0, iterations=3,
             intensity=True):
    r"""Blind deblurring of Shan, Jia & Agarwala (SIGGRAPH 2008).

    The kernel is estimated coarse to fine on the luminance by the alternation
    of Sec. 4 (the :math:`\Psi`/L-step and the L1 kernel step, see the module
    notes); the image is then restored with the final kernel by the
    hyper-Laplacian non-blind step (Krishnan & Fergus 2009) rather than the
    paper's own L-step (:func:`latent_step`), which with the true kernel is
    about 3 dB worse on 1%-noise faces.

    Parameters
    ----------
    image : ndarray of shape (M, N) or (M, N, C)
        Blurred image, floats in [0, 1] (NumPy or CuPy).
    kernel_size : int, optional
        Odd kernel size (default: 31, or a quarter of the smaller side).
    rng : int or numpy.random.Generator, optional
        Unused (the method is deterministic); accepted for the common interface.
    target : ndarray, optional
        The image the final step restores (default ``image``; see
        :func:`~classicdeblur.blind.framework.run_blind`).
    lambda1 : float
        Initial weight of the global prior (Eq. 7), in gray-level units. The
        paper's range [0.002, 0.5] leaves the prior negligible against the
        likelihood weights ``50 / 2**q`` at 1% noise (the latent stays noisy and
        the kernel collapses); 2e3 was measured best on 256x256 faces. At this
        weight the prior acts like a truncated L0 penalty of ``5 lambda1``.
    lambda2 : float
        Initial weight of the local prior (Eq. 7; paper range [10, 25]).
    kappa1, kappa2 : float
        :math:`\lambda_1` and :math:`\lambda_2` are divided by these after every
        outer iteration (Sec. 5: :math:`\kappa_1 \in [1.1, 1.4]`, :math:`\kappa_2 = 1.5`);
        the schedules restart at every pyramid level.
    gamma : float
        Initial weight of the :math:`\Psi \approx \nabla L` penalty (Eq. 8; 2 in the
        paper), doubled on every inner iteration.
    inner : int
        Inner (:math:`\Psi`, L) iterations per L-step (the paper iterates to
        convergence; 14 doublings take :math:`\gamma` to about 3e4).
    threshold : float
        Standard-deviation threshold ``t`` of the smooth region :math:`\Omega`
        (Eq. 6; 5 gray levels, i.e. 5/255 on [0, 1] images).
    window : int, optional
        Side of the window of that standard deviation (default: the kernel
        size of the pyramid level, as in the paper).
    kernel_l1 : float
        Weight of :math:`\|f\|_1` in the kernel step (Eq. 12), relative to the
        data term on [0, 1] images (1 in the paper; 5 measured best).
    iterations : int
        Outer (L-step, f-step) iterations per pyramid level (more iterations
        let the kernel drift to sparser, smaller supports).
    intensity : bool
        Include the zero-order term :math:`\partial_0` (the intensities, mean
        removed and borders tapered) in the kernel step, as Eq. 12 does.
    final, final_params, pixel_screening, screening_params, engine
        The shared keywords of every blind method (:mod:`~classicdeblur.blind.method`).
        The final step defaults to ``"hyper_laplacian"`` with ``{"lam": 1e3}``
        (:func:`~classicdeblur.solvers.fourier.hyper_laplacian`; a data weight
        more regularised than its default 2e3 forgives kernel errors better).
        The old ``final_lam=`` still works, with a :class:`DeprecationWarning`.
        ``engine`` reaches only the final step (the method's own steps are
        plain array code).

    Returns
    -------
    image : ndarray
        Restored image, same shape as the input, in [0, 1].
    kernel : ndarray
        Estimated kernel (odd, non-negative, sums to 1).
    info : dict
        Levels, iterations, history and timings (see :func:`~classicdeblur.blind.framework.run_blind`).

    References
    ----------
    .. [1] Q. Shan, J. Jia and A. Agarwala, "High-quality motion deblurring
       from a single image", ACM Transactions on Graphics (SIGGRAPH) 27(3), 2008.

    Examples
    --------
    >>> import numpy as np
    >>> from classicdeblur.degrade import degrade
    >>> from classicdeblur.psf import make_kernel
    >>> rng = np.random.default_rng(0)
    >>> sharp = np.kron(rng.random((6, 6)), np.ones((8, 8)))
    >>> k = make_kernel("motion", length=5, angle=0)
    >>> out, kernel, info = shan2008(degrade(sharp, k, rng=0), kernel_size=7, iterations=2)
    >>> out.shape, kernel.shape, bool(np.isclose(kernel.sum(), 1))
    ((48, 48), (7, 7), True)
    """
    lambda1 = _positive("lambda1", lambda1)
    lambda2 = float(lambda2)
    if not (lambda2 >= 0 and math.isfinite(lambda2)):
        raise ValueError(f"lambda2 must be a non-negative finite number; got {lambda2!r}")
    kappa1, kappa2 = float(kappa1), float(kappa2)
    for name, value in (("kappa1", kappa1), ("kappa2", kappa2)):
        if not (value >= 1 and math.isfinite(value)):
            raise ValueError(f"{name} must be a finite number >= 1; got {value!r}")
    gamma = _positive("gamma", gamma)
    inner = _count("inner", inner, 1)
    threshold = float(threshold)
    if not (threshold >= 0 and math.isfinite(threshold)):
        raise ValueError(f"threshold must be a non-negative finite number; got {threshold!r}")
    if window is not None:
        window = _count("window", window, 1)
    kernel_l1 = float(kernel_l1)
    if not (kernel_l1 >= 0 and math.isfinite(kernel_l1)):
        raise ValueError(f"kernel_l1 must be a non-negative finite number; got {kernel_l1!r}")
    iterations = _count("iterations", iterations, 1)
    est = _ShanEstimator(lambda1=lambda1, lambda2=lambda2, kappa1=kappa1, kappa2=kappa2, gamma=gamma, inner=inner,
                         threshold=threshold, window=window, kernel_l1=kernel_l1, iterations=iterations,
                         weights=tuple(50.0 / 2**q for q in range(3)), intensity=bool(intensity))
    return run_blind(image, est, options, kernel_size=kernel_size, rng=rng, target=target)
