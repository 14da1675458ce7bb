r"""Cho & Lee (2009), "Fast motion deblurring": blind deblurring by edge prediction.

Each pyramid level of the coarse-to-fine framework (:func:`~.framework.run_blind`)
iterates the paper's three steps (Sec. 3, Fig. 2):

1. **Prediction** (Sec. 3.1). From the current latent image :math:`L`:

   * a bilateral filter (:func:`~classicdeblur.filters.bilateral`,
     :math:`\sigma_s = 2`, :math:`\sigma_r = 0.5`, 5x5 window) suppresses
     noise and small details;
   * one step of the shock filter (:func:`~classicdeblur.filters.shock_filter`),
     Eq. (2), :math:`I_{t+1} = I_t - \operatorname{sign}(\Delta I_t)\|\nabla I_t\|\,dt`
     with :math:`dt = 1`, restores step edges;
   * gradient-magnitude thresholding keeps only strong edges: gradient
     orientations are quantised in 4 bins of 45 degrees (opposite directions
     together), and the threshold keeps at least :math:`r\sqrt{P_I P_K}`
     pixels in every bin (:math:`P_I`, :math:`P_K` the numbers of image and
     kernel pixels at the current level;
     :func:`~classicdeblur.filters.orientation_threshold`). The threshold is
     set at the first iteration of a level and multiplied by 0.9 at every
     further iteration, so more gradients enter as the estimate improves;
     :math:`\sigma_r` and :math:`dt` shrink by the same factor.

   The result is the gradient map :math:`\{P_x, P_y\}`.

2. **Kernel estimation** (Sec. 3.3, Eq. 5),

   .. math::
       f_K(K) = \sum_{(P_*, B_*)} \omega_* \|K * P_* - B_*\|^2 + \beta \|K\|^2,

   over the pairs :math:`(P_x, B_x)`, :math:`(P_y, B_y)`,
   :math:`(\partial_x P_x, \partial_x B_x)`, :math:`(\partial_y P_y, \partial_y B_y)`
   and :math:`((\partial_x P_y + \partial_y P_x)/2, (\partial_x B_y + \partial_y B_x)/2)`,
   with the derivative weights of Shan et al. (2008), :math:`\omega = 50 / 2^q`
   for order :math:`q` (25 for the first, 12.5 for the second derivatives),
   and :math:`\beta = 5`. It is minimised by conjugate gradients whose
   matrix products are FFT correlations computed once per k-step
   (:class:`~classicdeblur.operators.kernel.KernelSystem`, the paper's Sec. 4 acceleration), warm
   started from the current kernel. Entries below 1/20 of the maximum are
   then set to zero and the kernel is normalised (done by the framework,
   :func:`~.constraints.project_kernel`).

3. **Deconvolution** (Sec. 3.2, Eqs. 3-4) with a Gaussian prior,

   .. math::
       f_L(L) = \sum_{\partial_*} \omega_* \|K * \partial_* L - \partial_* B\|^2 + \alpha \|\nabla L\|^2,
       \quad \partial_* \in \{\partial_o, \partial_x, \partial_y, \partial_{xx}, \partial_{xy}, \partial_{yy}\},

   solved in closed form in Fourier,

   .. math::
       L = \mathcal{F}^{-1}\!\left(\frac{\overline{\mathcal{F}(K)}\,\mathcal{F}(B)\,\Delta}
           {|\mathcal{F}(K)|^2\,\Delta + \alpha\,(|\mathcal{F}(\partial_x)|^2 + |\mathcal{F}(\partial_y)|^2)}\right),
       \quad \Delta = \sum_{\partial_*} \omega_* |\mathcal{F}(\partial_*)|^2,

   with :math:`\omega = 50 / 2^q` again; the image is first extended into a
   smooth periodic one (Liu & Jia 2008,
   :func:`~classicdeblur.operators.functional.wrap_pad`) and the step is
   :meth:`PeriodicBlur.solve <classicdeblur.operators.periodic.PeriodicBlur.solve>`
   with the data weight :math:`\Delta` (:class:`GaussianDeconvolver`). The
   result is deliberately sharp and ringing: the next prediction cleans it.

In the framework's terms the x-step is the deconvolution (the coarsest level
starts from the blurred image itself, as in the paper) and the k-step is
prediction followed by kernel estimation, so the optional pixel screening
acts on :math:`L` before its edges are predicted. After the finest level, the
full-resolution input is restored with a sparse prior (the shared keyword
``final``, hyper-Laplacian with :data:`FINAL_PARAMS` by default), as the paper
does for its final result.

Parameters and where they come from
-----------------------------------
The full text of the paper could not be consulted while writing this module;
the values were settled from the notes in METHODS.md and from the public
re-implementation in ImageStack (A. Adams, ``src/KernelEstimation.cpp`` and
``src/Deconvolution.cpp``, which cites the paper for them):

* :math:`\omega_q = 50 / 2^q` and :math:`\alpha = 0.1` (ImageStack:
  "omega_* = 50 / (2^q) where q is the order of the derivative, alpha = 0.1");
* bilateral :math:`\sigma_s = 2`, :math:`\sigma_r = 0.5` on a 5x5 window,
  shock :math:`dt = 1`, both shrunk by 0.9 per iteration (ImageStack);
* 4 orientation bins, :math:`r = 2`, threshold times 0.9 per iteration
  (METHODS.md);
* the 1/20 kernel threshold and the five derivative pairs of Eq. (5) (both).

**Deviations, measured** on 256x256 faces under the 8 Levin kernels (1% noise,
8-bit): with :math:`r = 2` the rule :math:`r\sqrt{P_I P_K}` keeps nearly every
pixel of a face (about 16,000 per bin at 256x256 with a 31x31 kernel), no edge
selection happens, and the result is barely above the blurred input; the
default here is :math:`r = 0.05` (about 400 pixels per bin at that size).
:math:`\alpha = 0.3` instead of 0.1 (less noise for the prediction to remove),
and the final hyper-Laplacian uses :math:`\lambda = 10^3` (:data:`FINAL_PARAMS`).
Every one of these is a parameter of :func:`cho2009`; ``r=2, alpha=0.1``
restores the values above.

References
----------
.. [1] S. Cho and S. Lee, "Fast motion deblurring", ACM Trans. Graph. 28(5)
   (SIGGRAPH Asia 2009), article 145.
.. [2] Q. Shan, J. Jia and A. Agarwala, "High-quality motion deblurring from
   a single image", SIGGRAPH 2008 (the derivative weights).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import scipy.fft

from .. import backend
from .._validation import check_count as _count
from .._validation import check_positive as _positive
from ..engines import check_engine
from ..filters import bilateral, orientation_threshold, shock_filter
from ..operators import gradients as grad_ops
from ..operators.kernel import KernelSystem
from ..operators.periodic import PeriodicBlur
from .framework import Estimator, run_blind
from .guidance import face_guide
from .method import blind_method

__all__ = [
    "DERIVATIVE_WEIGHTS",
    "FINAL_PARAMS",
    "Cho2009",
    "ChoLevel",
    "GaussianDeconvolver",
    "cho2009",
    "deconvolve_gaussian",
    "kernel_pairs",
    "predict",
    "select_edges",
]

#: Parameters of the final hyper-Laplacian restoration (lambda = 1e3: the estimated kernel is
#: never exact, and a stronger prior than the true-kernel optimum of 2e3 measured better here).
FINAL_PARAMS = {"lam": 1e3}

#: Shan et al. (2008) weights 50 / 2^q of the derivatives of order q, used by Eqs. (3) and (5).
DERIVATIVE_WEIGHTS = {0: 50.0, 1: 25.0, 2: 12.5}


class GaussianDeconvolver:
    r"""Cho & Lee's deconvolution step (Eqs. 3-4) for one blurred image and any kernel.

    Everything that does not depend on the kernel (the periodic extension of
    :math:`B`, its spectrum, :math:`\Delta` and the prior's spectrum) is
    computed once, so the repeated deconvolutions of a pyramid level cost one
    kernel OTF and one inverse FFT each.

    Parameters
    ----------
    blurred : ndarray of shape (M, N)
        Blurred image :math:`B` (NumPy or CuPy, float).
    kernel_size : int
        Largest kernel side to be used (sets the width of the border band).
    alpha : float
        Weight of :math:`\|\nabla L\|^2` (the paper's 0.1).
    weights : dict
        Weights :math:`\omega_q` of the derivatives of order ``q`` in 0, 1, 2.

    Attributes
    ----------
    problem : PeriodicBlur
        :math:`B` on its periodic extension; each call solves it with
        :meth:`~classicdeblur.operators.periodic.PeriodicBlur.solve` and the
        data weight :math:`\Delta`.
    widths : (int, int)
        The extension band.

    Notes
    -----
    The image is extended by about a kernel size into a smooth periodic image
    (Liu & Jia 2008) so that the circular model of the Fourier solution holds.
    The band is half the growth to a fast FFT length of ``M + 2 kernel_size``
    (this step's own rule, kept for its results).
    """

    def __init__(self, blurred, kernel_size, *, alpha=0.1, weights=DERIVATIVE_WEIGHTS):
        self.alpha = _positive("alpha", alpha)
        xp = backend.get_namespace(blurred)
        M, N = blurred.shape
        # a band of about one kernel size, widened to a fast FFT length
        ph = min((scipy.fft.next_fast_len(M + 2 * kernel_size) - M + 1) // 2, M)
        pw = min((scipy.fft.next_fast_len(N + 2 * kernel_size) - N + 1) // 2, N)
        point = xp.zeros((kernel_size, kernel_size), dtype=blurred.dtype)
        point[kernel_size // 2, kernel_size // 2] = 1
        self.problem = PeriodicBlur(blurred, point, "smooth", widths=(ph, pw))
        self.widths, self.shape = self.problem.widths, self.problem.shape

        def power(name):
            otf = grad_ops.filter_otf(name, self.shape, xp, self.problem.dtype)
            return otf.real**2 + otf.imag**2

        # the spectrum of the prior ||grad L||^2, weighted by alpha in the solve
        self.regulariser = power("dx") + power("dy")
        # Delta of Eq. (4): sum of w_* |F(d_*)|^2 over d_o, d_x, d_y, d_xx, d_xy, d_yy
        self.delta = (weights[0] + weights[1] * (power("dx") + power("dy"))
                      + weights[2] * (power("dxx") + power("dxy") + power("dyy")))
        self.data = self.problem.y_spectrum * self.delta

    def __call__(self, kernel):
        """The latent image :math:`L` for ``kernel`` (not clipped: its ringing is left to the prediction)."""
        op = self.problem.with_kernel(kernel)
        # Eq. (4): conj(K) F(B) Delta / (|K|^2 Delta + alpha (|F(dx)|^2 + |F(dy)|^2))
        return op.crop(op.solve(self.alpha, data=self.data, data_weight=self.delta, regulariser=self.regulariser))


def deconvolve_gaussian(blurred, kernel, *, alpha=0.1, weights=DERIVATIVE_WEIGHTS):
    r"""Cho & Lee's deconvolution step (Eqs. 3-4): a Gaussian gradient prior, closed form in Fourier.

    .. math::
        L = \mathcal{F}^{-1}\!\left(\frac{\overline{\mathcal{F}(K)}\,\mathcal{F}(B)\,\Delta}
            {|\mathcal{F}(K)|^2\,\Delta + \alpha\,(|\mathcal{F}(\partial_x)|^2 + |\mathcal{F}(\partial_y)|^2)}\right),
        \quad \Delta = \sum_{\partial_*} \omega_* |\mathcal{F}(\partial_*)|^2.

    Parameters
    ----------
    blurred : ndarray of shape (M, N)
        Blurred image :math:`B` (NumPy or CuPy, float).
    kernel : ndarray of shape (h, w)
        Odd kernel :math:`K`.
    alpha : float
        Weight of :math:`\|\nabla L\|^2` (the paper's 0.1).
    weights : dict
        Weights :math:`\omega_q` of the derivatives of order ``q`` in 0, 1, 2.

    Returns
    -------
    ndarray of shape (M, N)
        The latent image :math:`L`, not clipped.

    See Also
    --------
    GaussianDeconvolver : the same, with the kernel-independent part computed once.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(0).random((24, 24))
    >>> delta = np.zeros((3, 3)); delta[1, 1] = 1
    >>> bool(np.allclose(deconvolve_gaussian(x, delta, alpha=1e-9), x, atol=1e-6))
    True
    """
    return GaussianDeconvolver(blurred, max(kernel.shape), alpha=alpha, weights=weights)(kernel)


def _border_mask(xp, shape, dtype):
    """Zero the last two rows and columns, where forward differences (first and second) wrap around."""
    m = xp.ones(shape, dtype=dtype)
    m[-2:, :] = 0
    m[:, -2:] = 0
    return m


def predict(latent, *, threshold=None, min_pixels=None, sigma_spatial=2.0, sigma_range=0.5, radius=2,
            dt=1.0, shock_iterations=1, engine="auto"):
    """Cho & Lee's prediction step (Sec. 3.1): the strong-edge gradient map ``(P_x, P_y)`` of ``latent``.

    Parameters
    ----------
    latent : ndarray of shape (M, N)
        Current latent image.
    threshold : float, optional
        Gradient-magnitude threshold; computed with ``min_pixels`` when None.
    min_pixels : int, optional
        Pixels to keep per orientation bin when the threshold is computed
        (Cho & Lee: ``r sqrt(P_I P_K)``, ``r = 2``).
    sigma_spatial, sigma_range, radius : float, float, int
        Bilateral filter (spatial and range standard deviations, window half-width).
    dt, shock_iterations : float, int
        Shock filter time step and number of steps (Eq. 2).
    engine : {"auto", "numpy", "numba", "cuda"}
        Engine of the per-pixel filters.

    Returns
    -------
    px, py : ndarray
        Thresholded forward-difference gradients of the predicted image (zero
        where the magnitude is below the threshold and on the last two rows
        and columns, where the circular differences wrap around).
    threshold : float
        The threshold used.

    Examples
    --------
    >>> import numpy as np
    >>> img = np.zeros((32, 32)); img[8:24, 8:24] = 1.0
    >>> px, py, t = predict(img, min_pixels=10, engine="numpy")
    >>> bool(t > 0), bool((px != 0).sum() >= 10), bool(np.abs(px[16, :5]).max() == 0)
    (True, True, True)
    """
    xp = backend.get_namespace(latent)
    p = bilateral(latent, sigma_spatial=sigma_spatial, sigma_range=sigma_range, radius=radius, engine=engine)
    p = shock_filter(p, iterations=shock_iterations, dt=dt, engine=engine)
    mask = _border_mask(xp, p.shape, p.dtype)
    gx, gy = grad_ops.dx(p) * mask, grad_ops.dy(p) * mask
    if threshold is None:
        if min_pixels is None:
            raise ValueError("give threshold or min_pixels")
        threshold = orientation_threshold(gx, gy, min_pixels=int(min_pixels), bins=4)
    keep = xp.sqrt(gx * gx + gy * gy) >= threshold  # as orientation_threshold measures it
    return gx * keep, gy * keep, float(threshold)


def select_edges(gx, gy, *, threshold=None, min_pixels=None):
    """The thresholding of :func:`predict` applied to given gradients (those of an edge predictor).

    Gradients on the last two rows and columns are zeroed (the circular
    differences of the kernel pairs wrap around there); the threshold keeps
    at least ``min_pixels`` per orientation bin when it is not given.

    Examples
    --------
    >>> import numpy as np
    >>> g = np.random.default_rng(0).standard_normal((16, 16))
    >>> px, py, t = select_edges(g, g.T, min_pixels=5)
    >>> bool(t > 0), bool(px[-1].any() or px[:, -2:].any())
    (True, False)
    """
    xp = backend.get_namespace(gx)
    mask = _border_mask(xp, gx.shape, gx.dtype)
    gx, gy = gx * mask, gy * mask
    if threshold is None:
        if min_pixels is None:
            raise ValueError("give threshold or min_pixels")
        threshold = orientation_threshold(gx, gy, min_pixels=int(min_pixels), bins=4)
    keep = xp.sqrt(gx * gx + gy * gy) >= threshold
    return gx * keep, gy * keep, float(threshold)


def kernel_pairs(px, py, blurred, weights=DERIVATIVE_WEIGHTS):
    """The five weighted ``(P_*, B_*, w_*)`` pairs of Eq. (5).

    ``(P_x, B_x)``, ``(P_y, B_y)`` with weight ``w_1``; ``(dx P_x, dx B_x)``,
    ``(dy P_y, dy B_y)`` and ``((dx P_y + dy P_x) / 2, (dx B_y + dy B_x) / 2)``
    with weight ``w_2``. Every array is zero on the last two rows and columns,
    where the circular differences wrap around.

    Examples
    --------
    >>> import numpy as np
    >>> b = np.random.default_rng(0).random((8, 8))
    >>> pairs = kernel_pairs(np.ones((8, 8)), np.ones((8, 8)), b)
    >>> len(pairs), [w for _, _, w in pairs]
    (5, [25.0, 25.0, 12.5, 12.5, 12.5])
    """
    xp = backend.get_namespace(blurred)
    mask = _border_mask(xp, blurred.shape, blurred.dtype)
    bx, by = grad_ops.dx(blurred), grad_ops.dy(blurred)
    w1, w2 = float(weights[1]), float(weights[2])
    dx, dy = grad_ops.dx, grad_ops.dy
    return [
        (px * mask, bx * mask, w1),
        (py * mask, by * mask, w1),
        (dx(px) * mask, dx(bx) * mask, w2),
        (dy(py) * mask, dy(by) * mask, w2),
        (0.5 * (dx(py) + dy(px)) * mask, 0.5 * (dx(by) + dy(bx)) * mask, w2),
    ]


@dataclass
class ChoLevel:
    """What Cho & Lee's steps keep at one pyramid level."""

    #: The deconvolution step (Eqs. 3-4) on this level's blurred image.
    deconvolver: GaussianDeconvolver
    #: The edge threshold of the last prediction (set at the first k-step, then times ``decay``).
    threshold: float | None = None


class Cho2009(Estimator):
    """The x- and k-steps of Cho & Lee (2009) for :func:`~.framework.run_blind` (see the module docstring).

    Public so that methods built on Cho & Lee's steps
    (:mod:`~classicdeblur.blind.exemplar`) can extend them.
    """

    iterations = 7
    min_iterations = 3
    tol = 1e-3
    kernel_threshold = 0.05  # "elements smaller than 1/20 of the biggest one are set to zero"

    def __init__(self, *, alpha=0.3, beta=5.0, r=0.05, decay=0.9, sigma_spatial=2.0, sigma_range=0.5,
                 radius=2, dt=1.0, shock_iterations=1, cg_iterations=20, iterations=None, engine="auto",
                 edge_predictor=None):
        self.alpha = _positive("alpha", alpha)
        self.beta = _positive("beta", beta)
        self.r = _positive("r", r)
        self.decay = _positive("decay", decay)
        if self.decay > 1:
            raise ValueError(f"decay must be in (0, 1]; got {decay}")
        self.sigma_spatial = _positive("sigma_spatial", sigma_spatial)
        self.sigma_range = _positive("sigma_range", sigma_range)
        self.radius = _count("radius", radius, 0)
        self.dt = _positive("dt", dt)
        self.shock_iterations = _count("shock_iterations", shock_iterations, 0)
        self.cg_iterations = _count("cg_iterations", cg_iterations, 1)
        if iterations is not None:
            self.iterations = _count("iterations", iterations, 1)
            self.min_iterations = min(self.min_iterations, self.iterations)
        self.engine = check_engine(engine)
        #: An edge predictor (:mod:`~classicdeblur.blind.edges`) replacing the bilateral + shock filter, or None.
        self.edge_predictor = edge_predictor
        self.level: ChoLevel | None = None

    def start_level(self, state):
        self.level = ChoLevel(GaussianDeconvolver(state.y, state.k.shape[0], alpha=self.alpha))

    def x_step(self, state):
        # Eqs. (3)-(4). The very first latent image is the blurred input itself.
        if state.index == 0 and state.iteration == 0:
            return state.x
        return self.level.deconvolver(state.k)

    def k_step(self, state):
        lv = self.level
        it = state.iteration
        scale = self.decay**it
        threshold = None
        if it == 0:
            # r sqrt(P_I P_K) pixels per orientation bin, at this level's sizes
            min_pixels = max(1, round(self.r * math.sqrt(state.y.size * state.k.size)))
        else:
            min_pixels = None
            threshold = lv.threshold * self.decay
        if self.edge_predictor is None:
            px, py, lv.threshold = predict(state.x, threshold=threshold, min_pixels=min_pixels,
                                           sigma_spatial=self.sigma_spatial, sigma_range=self.sigma_range * scale,
                                           radius=self.radius, dt=self.dt * scale,
                                           shock_iterations=self.shock_iterations, engine=self.engine)
        else:
            em = self.edge_predictor.predict(state.x)
            px, py, lv.threshold = select_edges(em.gx, em.gy, threshold=threshold, min_pixels=min_pixels)
        system = KernelSystem(self.guided(state, kernel_pairs(px, py, state.y)), state.k.shape[0])  # Eq. (5)
        return system.solve_l2(self.beta, state.k, maxiter=self.cg_iterations)


@blind_method(
    "cho2009",
    description="Cho & Lee 2009: shock-filter edge prediction, L2 kernel by FFT-CG, Gaussian-prior deconvolution",
    final=("hyper_laplacian", FINAL_PARAMS),
    guided=True,
    edges=True,
)
def cho2009(image, options, *, kernel_size=None, rng=None, target=None, alpha=0.3, beta=5.0, r=0.05, decay=0.9,
            sigma_spatial=2.0, sigma_range=0.5, radius=2, dt=1.0, shock_iterations=1, cg_iterations=20,
            iterations=7):
    r"""Blind deblurring of Cho & Lee (2009), "Fast motion deblurring".

    Parameters
    ----------
    image : ndarray of shape (M, N) or (M, N, C)
        Float in [0, 1], NumPy or CuPy. The kernel is estimated on the luminance.
    kernel_size : int, optional
        Odd kernel size (default 31, shrunk on small images).
    rng : numpy.random.Generator, optional
        Unused (the method is deterministic); accepted for the common interface.
    target : ndarray, optional
        The image the final step restores (default ``image``; see
        :func:`~classicdeblur.blind.framework.run_blind`).
    alpha : float
        Gaussian prior weight of the deconvolution step, Eq. (3) (0.1 in
        ImageStack's reading of the paper; 0.3 measured better on faces).
    beta : float
        Tikhonov weight of the kernel, Eq. (5).
    r : float
        The threshold keeps at least ``r sqrt(P_I P_K)`` pixels per
        orientation bin (the paper's ``r = 2`` keeps nearly every pixel of a
        256x256 face; see the module notes).
    decay : float
        Factor applied to the threshold, the bilateral range sigma and the
        shock time step at every iteration of a level (paper: 0.9).
    sigma_spatial, sigma_range, radius : float, float, int
        Bilateral filter of the prediction (2.0, 0.5, 5x5 window).
    dt, shock_iterations : float, int
        Shock filter time step and steps per prediction (1.0, 1).
    cg_iterations : int
        Conjugate-gradient iterations of each kernel estimate.
    iterations : int
        Prediction / kernel / deconvolution rounds per pyramid level.
    final, final_params, pixel_screening, screening_params, engine, face_guided, face_box, exemplars, edge_predictor
        The shared keywords of every blind method (:mod:`~classicdeblur.blind.method`).
        ``edge_predictor`` (e.g. ``"learned"``) replaces the bilateral and
        shock filters of the prediction step: the predicted sharp edges of the
        latent image are thresholded as Cho & Lee's are (:func:`select_edges`)
        before Eq. (5) (default None: the paper's prediction).
        The final step defaults to the hyper-Laplacian with :data:`FINAL_PARAMS`
        (a sparse prior, as the paper's final result); another ``final``
        starts from no parameters. ``engine`` runs the bilateral and shock
        filters; pixel screening corrects the latent image before each
        prediction (Zhang et al. 2022).

    Returns
    -------
    image : ndarray
        Restored image, same shape, in [0, 1].
    kernel : ndarray
        Estimated kernel (odd, non-negative, sums to 1, centred).
    info : dict
        See :func:`~.framework.run_blind`.

    References
    ----------
    .. [1] S. Cho and S. Lee, "Fast motion deblurring", ACM Trans. Graph.
       28(5), 2009.

    Examples
    --------
    >>> import numpy as np
    >>> from classicdeblur.operators.functional import convolve
    >>> x = np.zeros((64, 64)); x[16:48, 20:44] = 1.0
    >>> k = np.zeros((7, 7)); k[3, 1:6] = 0.2
    >>> y = convolve(x, k, boundary="symmetric")
    >>> out, kest, info = cho2009(y, kernel_size=7)
    >>> kest.shape, round(float(kest.sum()), 6), out.shape, info["final"]
    ((7, 7), 1.0, (64, 64), 'hyper_laplacian')
    """
    est = Cho2009(alpha=alpha, beta=beta, r=r, decay=decay, sigma_spatial=sigma_spatial, sigma_range=sigma_range,
                  radius=radius, dt=dt, shock_iterations=shock_iterations, cg_iterations=cg_iterations,
                  iterations=iterations, engine=options.engine, edge_predictor=options.edge_predictor)
    if options.face_guided:
        est.guide = face_guide(image, face_box=options.face_box, exemplars=options.exemplars)
    return run_blind(image, est, options, kernel_size=kernel_size, rng=rng, target=target)
