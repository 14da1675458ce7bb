r"""Xu & Jia 2010: two-phase kernel estimation for robust motion deblurring.

Strong edges do not always help kernel estimation: structures narrower than
the kernel (thin lines, texture) are blurred into shapes that a wrong kernel
explains as well as the right one. The method therefore estimates the kernel
only from gradients that are *useful*, in two phases.

**Phase 1: kernel initialisation** (Algorithm 1), coarse to fine, with
a fixed number ``iterations`` of passes per pyramid level:

* *Usefulness of the gradients* (the r-map, paper Eq. 2) of the blurred
  image ``B``, computed once per level over a ``window`` x ``window``
  neighbourhood :math:`N_h` (:func:`classicdeblur.filters.rmap`):

  .. math:: r(x) = \frac{\|\sum_{y \in N_h(x)} \nabla B(y)\|}{\sum_{y \in N_h(x)} \|\nabla B(y)\| + 0.5}

* *Edge selection*: the current latent image is smoothed by a Gaussian
  (``sigma``) and shock filtered (:func:`classicdeblur.filters.shock_filter`)
  into :math:`\tilde I`; with the mask :math:`M = H(r - \tau_r)` (Eq. 3,
  :math:`H` the Heaviside step), the selected edges are (Eq. 4)

  .. math:: \nabla I^s = \nabla \tilde I \cdot H(M \|\nabla \tilde I\|_2 - \tau_s).

  The initial thresholds are set adaptively as in Cho & Lee 2009: the
  gradient directions are quantised into four groups, :math:`\tau_r` keeps at
  least :math:`0.5\sqrt{P_I P_k}` pixels of every group in the mask and
  :math:`\tau_s` keeps at least :math:`2\sqrt{P_k}` masked pixels of every group
  (:math:`P_I`, :math:`P_k`: pixels of the image and of the kernel at this
  level; :func:`classicdeblur.filters.orientation_threshold`). Both thresholds
  are divided by ``decay`` (1.1) after every pass, so that more and more
  edges take part.

* *Kernel with a Gaussian prior*, closed form in Fourier (paper Eq. 6,
  :func:`~classicdeblur.operators.kernel.fourier_kernel`):

  .. math::
     k = \mathcal{F}^{-1}\Big(\frac{\overline{\mathcal{F}(\partial_x I^s)}\mathcal{F}(\partial_x B)
     + \overline{\mathcal{F}(\partial_y I^s)}\mathcal{F}(\partial_y B)}
     {|\mathcal{F}(\partial_x I^s)|^2 + |\mathcal{F}(\partial_y I^s)|^2 + \gamma}\Big),

  minimising :math:`\|\nabla I^s \otimes k - \nabla B\|^2 + \gamma\|k\|^2`
  (Eq. 5); it is then made non-negative and normalised by the framework.

* *Latent image with the spatial prior* :math:`\|\nabla I - \nabla I^s\|^2`
  (Eqs. 7 and 8), closed form in Fourier on the wrap-padded image (Liu & Jia
  2008):

  .. math::
     I = \mathcal{F}^{-1}\Big(\frac{\overline{\mathcal{F}(k)}\mathcal{F}(B)
     + \lambda(\overline{\mathcal{F}(\partial_x)}\mathcal{F}(\partial_x I^s)
     + \overline{\mathcal{F}(\partial_y)}\mathcal{F}(\partial_y I^s))}
     {|\mathcal{F}(k)|^2 + \lambda(|\mathcal{F}(\partial_x)|^2 + |\mathcal{F}(\partial_y)|^2)}\Big).

  The latent image from which the last pass of a level selected its edges is
  upsampled to start the next level.

**Phase 2: ISD kernel refinement** (Algorithm 2), at the finest level
after the last pass, from the Phase-1 kernel :math:`k^0` and the selected edges
:math:`\nabla I^s`. Iterative support detection (Wang & Yin 2010) keeps the
large kernel elements free and applies an :math:`\ell_1` penalty only to the
others (Eq. 10):

.. math::
   E(k) = \tfrac12 \|\nabla I^s \otimes k - \nabla B\|^2 + \gamma_2 \sum_{j \notin S^s} |k_j|,

where the support :math:`S^{s+1} = \{j : k^s_j > \epsilon^s\}` is found by the
*first significant jump* (Eq. 9): with the kernel values sorted in ascending
order, :math:`\epsilon^s` is the value just before the first difference of
consecutive values larger than :math:`\|k^s\|_\infty / (2 h s)` (``h`` the
kernel width, ``s`` the ISD iteration). Eq. 10 is minimised by iteratively
reweighted least squares (Eq. 11),
:math:`[A^T A + \gamma_2\,\mathrm{diag}(\bar S / \Psi)]\,k = A^T b` with
:math:`\Psi = \max(|k^{t-1}|, 10^{-5})`, solved by conjugate gradients on the
kernel's normal equations (:class:`~classicdeblur.operators.kernel.KernelSystem`);
each result is made non-negative and normalised. The iteration stops when
:math:`\|k^{s+1} - k^s\| / \|k^s\| \le \epsilon_k` (``isd_tol``) or after
``isd_iterations``.

**Final step** (Algorithm 3): TV-:math:`\ell_1` deconvolution of the
full-resolution input (every channel of a colour image),

.. math:: E(I) = \|I \otimes k - B\|_1 + \lambda_d \|\nabla I\|_2 \quad (\text{Eq. 12}),

by half-quadratic splitting with the auxiliary residual :math:`v` and gradient
:math:`w` (Eqs. 13-18):
:math:`\|v\|_1 + \tfrac{1}{2\beta}\|I \otimes k - B - v\|^2 + \lambda_d\|w\|_2 + \tfrac{1}{2\theta}\|\nabla I - w\|^2`,
alternating soft thresholding of :math:`v`, isotropic shrinkage of :math:`w`
and a closed-form Fourier step for :math:`I`, while :math:`\beta` and
:math:`\theta` are halved (:func:`classicdeblur.solvers.fourier.tv_l1`, registered
as the non-blind method ``"tv_l1"``). ``final`` may name any non-blind method
of :data:`~classicdeblur.solvers.nonblind.NONBLIND` instead.

**Parameters** (as given in the paper): :math:`\lambda = 2\cdot10^{-3}` (Eq. 8),
:math:`\gamma = 10` (Eq. 6), :math:`\gamma_2 = 1` (Eq. 10),
:math:`\lambda_d = 2\cdot10^{-2}` (Eq. 12); the thresholds decay by 1.1.
Not given in the paper (our choices): the Gaussian ``sigma`` and the shock
filter's steps, the number of passes per level, the ISD tolerance and iteration
cap, and the continuation of the TV-:math:`\ell_1` solver. The authors released
only binaries. The paper's shock filter (Eq. 1) takes the second derivative
along the gradient; :func:`classicdeblur.filters.shock_filter` uses the
5-point Laplacian (Cho & Lee 2009). The initial thresholds are re-set
adaptively at every pyramid level (carrying them over from the level below
lost 0.7 dB on faces).

References
----------
.. [1] L. Xu and J. Jia, "Two-phase kernel estimation for robust motion
   deblurring", ECCV 2010, LNCS 6311, pp. 157-170.
.. [2] S. Cho and S. Lee, "Fast motion deblurring", SIGGRAPH Asia 2009.
.. [3] Y. Wang and W. Yin, "Sparse signal reconstruction via iterative support
   detection", SIAM J. Imaging Sciences 3(3), 2010.
.. [4] R. Liu and J. Jia, "Reducing boundary artifacts in image
   deconvolution", ICIP 2008.
"""

from __future__ import annotations

import math

from dataclasses import dataclass

from .._validation import check_count as _integer
from .._validation import check_positive as _positive
from ..backend import get_namespace, get_ndimage
from ..filters import orientation_threshold, rmap, shock_filter
from ..operators import gradients as grad_ops
from ..operators.cg import conjugate_gradient
from ..operators.kernel import KernelSystem, fourier_kernel
from ..operators.periodic import PeriodicBlur
from .constraints import project_kernel
from .framework import Estimator, run_blind
from .guidance import face_guide
from .method import blind_method

__all__ = ["xu2010", "XuJiaEstimator", "XuJiaLevel", "first_significant_jump", "make_estimator"]


# --------------------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------------------


def first_significant_jump(k, iteration):
    r"""Support threshold :math:`\epsilon^s` of ISD by the "first significant jump" (paper Eq. 9).

    The kernel values are sorted in ascending order; :math:`\epsilon^s` is the
    value just before the first gap between consecutive values that exceeds
    :math:`\|k\|_\infty / (2 h s)`, with ``h`` the kernel width and
    ``s = iteration`` (1-based). Elements above it form the support.

    Parameters
    ----------
    k : ndarray of shape (h, h)
        Current kernel.
    iteration : int
        ISD iteration ``s >= 1``: the jump criterion loosens as it grows.

    Returns
    -------
    float
        The threshold (the largest value when no jump is significant: empty support).

    Examples
    --------
    >>> import numpy as np
    >>> k = np.array([[0.0, 0.01, 0.02], [0.3, 0.02, 0.01], [0.0, 0.34, 0.3]])
    >>> first_significant_jump(k, 1)   # 0.02 -> 0.3 is the first gap above 0.34 / 6
    0.02
    """
    xp = get_namespace(k)
    v = xp.sort(xp.abs(k).ravel())
    jump = float(v[-1]) / (2 * k.shape[1] * max(int(iteration), 1))
    d = v[1:] - v[:-1]
    hits = xp.nonzero(d > jump)[0]
    if hits.size == 0:
        return float(v[-1])
    return float(v[int(hits[0])])


# --------------------------------------------------------------------------------------
# the estimator
# --------------------------------------------------------------------------------------


@dataclass
class XuJiaLevel:
    """What Xu & Jia's steps keep at one pyramid level."""

    #: Gradients of the blurred image B (wrap-around row/column zeroed).
    gb: tuple
    #: The r-map of Eq. 2.
    r: object
    #: Current thresholds (Eqs. 3-4); ``tau_s`` is set by the first selection.
    tau_r: float
    tau_s: float | None
    #: Masked pixels to keep per orientation when ``tau_s`` is first set.
    min_s: int
    #: The wrap-padded problem of the latent-image step (Eq. 8).
    problem: PeriodicBlur
    #: The last selection: (image, tau_r, tau_s, gx, gy), reused while the image is the same.
    selection: tuple | None = None
    #: The thresholds of the last k-step, from which the next x-step re-selects.
    used: tuple | None = None


class XuJiaEstimator(Estimator):
    """Phase 1 (Algorithm 1) as x/k-steps of the framework; Phase 2 (ISD) in the last k-step.

    Public so that methods built on Xu & Jia's alternation
    (:mod:`~classicdeblur.blind.anwar2018`) can extend its steps.
    """

    min_component = 0.1
    kernel_threshold = 0.05

    def __init__(self, *, iterations, gamma, lam, window, decay, sigma, shock_iterations, shock_dt,
                 isd_gamma, isd_iterations, isd_tol, engine, edge_predictor=None):
        # Algorithm 1 runs a fixed number of passes per level (no early stop)
        self.iterations = self.min_iterations = iterations
        self.tol = 0.0
        self.gamma, self.lam, self.window, self.decay = gamma, lam, window, decay
        self.sigma, self.shock_iterations, self.shock_dt = sigma, shock_iterations, shock_dt
        self.isd_gamma, self.isd_iterations, self.isd_tol = isd_gamma, isd_iterations, isd_tol
        self.engine = engine
        #: An edge predictor (:mod:`~classicdeblur.blind.edges`) replacing the Gaussian + shock filter, or None.
        self.edge_predictor = edge_predictor
        self.isd_history: list = []
        self.level: XuJiaLevel | None = None

    # ---- per level -------------------------------------------------------------------

    def start_level(self, state):
        xp = state.xp
        gxb, gyb = grad_ops.cut_gradient(state.y)
        # Eq. 2: usefulness of the gradients of B (the r-map), once per level
        r = rmap(gxb, gyb, window=self.window, engine=self.engine)
        P_I = state.y.size
        P_k = state.level.kernel_size**2
        # tau_r: at least 0.5 sqrt(P_I P_k) pixels of each of 4 gradient directions keep M = 1
        mag = xp.sqrt(gxb * gxb + gyb * gyb)
        scale = r / xp.where(mag > 0, mag, 1)
        tau_r = orientation_threshold(gxb * scale, gyb * scale, min_pixels=max(1, int(0.5 * math.sqrt(P_I * P_k))),
                                      bins=4)
        # the wrap-padded problem of the latent-image step (Eq. 8), reused by every pass of the level
        delta = xp.zeros((state.level.kernel_size,) * 2, dtype=state.y.dtype)
        delta[state.level.kernel_size // 2, state.level.kernel_size // 2] = 1
        self.level = XuJiaLevel(gb=(gxb, gyb), r=r, tau_r=tau_r, tau_s=None, min_s=max(1, int(2 * math.sqrt(P_k))),
                                problem=PeriodicBlur(state.y, delta, "smooth"))

    # ---- edge selection (Eqs. 3-4; Algorithm 1, step a) ----------------------------------

    def _select(self, state, x, tau_r, tau_s):
        lv = self.level
        if self.edge_predictor is None:
            ndi = get_ndimage(state.xp)
            smooth = ndi.gaussian_filter(x, self.sigma, mode="nearest") if self.sigma > 0 else x
            sharp = shock_filter(smooth, iterations=self.shock_iterations, dt=self.shock_dt, engine=self.engine)
            gx, gy = grad_ops.cut_gradient(sharp)
        else:
            # the predicted sharp edges of the latent image replace the Gaussian + shock filter
            em = self.edge_predictor.predict(x)
            gx, gy = em.gx, em.gy
        mask = lv.r > tau_r  # Eq. 3: M = H(r - tau_r)
        if tau_s is None:
            # tau_s: at least 2 sqrt(P_k) masked pixels in each of 4 gradient directions
            tau_s = orientation_threshold(gx * mask, gy * mask, min_pixels=lv.min_s, bins=4)
            lv.tau_s = tau_s
        keep = mask & (gx * gx + gy * gy >= tau_s * tau_s)  # Eq. 4: H(M ||grad I~|| - tau_s)
        return gx * keep, gy * keep, tau_s

    def _selection(self, state, tau_r, tau_s):
        """The selected edges of ``state.x``, cached by identity of the image and thresholds."""
        lv = self.level
        c = lv.selection
        if c is not None and c[0] is state.x and c[1] == tau_r and (tau_s is None or c[2] == tau_s):
            return c[3], c[4]
        gx, gy, tau_s = self._select(state, state.x, tau_r, tau_s)
        lv.selection = (state.x, tau_r, tau_s, gx, gy)
        return gx, gy

    # ---- x-step: latent image with the spatial prior (Eq. 8), then step (d) ----------

    def x_step(self, state):
        lv = self.level
        if lv.used is None:
            # first pass of a level: the blurred image (coarsest) or the upsampled latent image
            return state.x
        # the edges of the previous k-step, from the (possibly re-centred) current image
        tau_r, tau_s = lv.used
        sx, sy = self._selection(state, tau_r, tau_s)
        # Eq. 8: the latent image with the spatial prior lam ||grad I - grad I^s||^2, closed form in Fourier
        op = lv.problem.with_kernel(state.k)
        latent = op.solve(self.lam, op.gradient_adjoint_spectrum(op.extend(sx), op.extend(sy)))
        # step (d): relax both thresholds
        lv.tau_r = tau_r / self.decay
        lv.tau_s = tau_s / self.decay
        return state.xp.ascontiguousarray(op.crop(latent))

    # ---- k-step: Gaussian-prior kernel (Eq. 6); ISD refinement at the very end -------

    def k_step(self, state):
        lv = self.level
        sx, sy = self._selection(state, lv.tau_r, lv.tau_s)
        lv.used = (lv.tau_r, lv.tau_s)
        gxb, gyb = lv.gb
        pairs = self.guided(state, [(sx, gxb), (sy, gyb)])
        if not bool((sx != 0).any() | (sy != 0).any()):
            return state.k  # no edge selected (flat level): keep the kernel
        k = fourier_kernel(pairs, state.level.kernel_size, self.gamma)
        if state.finest and state.iteration == self.iterations - 1 and self.isd_iterations > 0:
            k0 = project_kernel(k, threshold=self.kernel_threshold, min_component=self.min_component)
            k = self._isd(pairs, k0)
        return k

    def _isd(self, pairs, k):
        """Phase 2 (Algorithm 2): iterative support detection, Eq. 10 by IRLS (Eq. 11)."""
        xp = get_namespace(k)
        system = KernelSystem(pairs, k.shape[0])
        self.isd_history = []
        for s in range(1, self.isd_iterations + 1):
            # S^s = {j : k^{s-1}_j > eps^{s-1}} (the first support, from k^0, with s = 1 in Eq. 9)
            eps = first_significant_jump(k, max(s - 1, 1))
            free = k > eps  # no penalty on the large elements
            # Eq. 11: [A^T A + gamma_2 diag(S-bar / Psi)] k = A^T b, Psi = max(|k|, 1e-5)
            weight = xp.where(free, 0, self.isd_gamma / xp.maximum(xp.abs(k), 1e-5)).astype(k.dtype)
            k_new, _ = conjugate_gradient(lambda v: system.normal(v) + weight * v, system.rhs, k,
                                          maxiter=40, tol=1e-6)
            k_new = xp.maximum(k_new, 0)
            total = float(k_new.sum())
            if not total > 0:
                break
            k_new = k_new / total
            change = float(xp.linalg.norm(k_new - k) / max(float(xp.linalg.norm(k)), 1e-12))
            self.isd_history.append({"iteration": s, "support": int(free.sum()), "change": change})
            k = k_new
            if change <= self.isd_tol:
                break
        return k


# --------------------------------------------------------------------------------------
# the method
# --------------------------------------------------------------------------------------


@blind_method(
    "xu2010",
    description="Xu & Jia 2010 two-phase kernel estimation: r-map edge selection, Gaussian-prior "
    "initialisation, ISD refinement, TV-L1 deconvolution",
    final=("tv_l1", None),
    guided=True,
    edges=True,
)
def xu2010(
    image,
    options,
    *,
    kernel_size=None,
    rng=None,
    target=None,
    iterations=5,
    gamma=10.0,
    lam=2e-3,
    window=5,
    decay=1.1,
    sigma=1.0,
    shock_iterations=1,
    shock_dt=0.5,
    isd_gamma=1.0,
    isd_iterations=10,
    isd_tol=1e-3,
):
    r"""Blind deblurring by two-phase kernel estimation (Xu & Jia, ECCV 2010).

    Phase 1 estimates a kernel coarse to fine from the *useful* edges only
    (r-map, shock filter, Gaussian kernel prior, latent image with a spatial
    prior); Phase 2 refines it at full resolution by iterative support
    detection; the image is finally restored by TV-:math:`\ell_1`
    deconvolution. See :mod:`classicdeblur.blind.xu2010` for the equations.

    Parameters
    ----------
    image : ndarray of shape (M, N) or (M, N, C)
        Blurred image, float in [0, 1], NumPy or CuPy (the kernel is estimated
        on the luminance).
    kernel_size : int, optional
        Odd kernel size (default: 31, shrunk for small images).
    rng : int or numpy.random.Generator, optional
        Unused by the method itself (it is deterministic); passed to the framework.
    target : ndarray, optional
        The image the final step restores (default ``image``; see
        :func:`~classicdeblur.blind.framework.run_blind`).
    iterations : int
        Passes of Algorithm 1 per pyramid level (``m``; not given in the paper).
    gamma : float
        Weight :math:`\gamma` of the Gaussian kernel prior, Eq. 5-6 (paper: 10).
    lam : float
        Weight :math:`\lambda` of the spatial prior :math:`\|\nabla I - \nabla I^s\|^2`,
        Eq. 7-8 (paper: 2e-3).
    window : int
        Odd side of the window :math:`N_h` of the r-map, Eq. 2.
    decay : float
        Both thresholds :math:`\tau_r, \tau_s` are divided by this after every
        pass (Algorithm 1, step d; paper: 1.1). Must be >= 1.
    sigma : float
        Standard deviation of the Gaussian pre-smoothing before the shock
        filter (0 disables it).
    shock_iterations, shock_dt : int, float
        Steps and time step of the shock filter.
    isd_gamma : float
        Weight :math:`\gamma` of the :math:`\ell_1` term of ISD, Eq. 10 (paper: 1).
    isd_iterations : int
        Maximum ISD iterations (Algorithm 2); 0 skips Phase 2.
    isd_tol : float
        ISD stops when :math:`\|k^{s+1} - k^s\| / \|k^s\| \le` ``isd_tol`` (:math:`\epsilon_k`).
    final, final_params, pixel_screening, screening_params, engine, face_guided, face_box, exemplars, edge_predictor
        The shared keywords of every blind method (:mod:`~classicdeblur.blind.method`).
        ``edge_predictor`` (e.g. ``"learned"``) replaces the Gaussian + shock
        filter of the edge selection: the predicted sharp edges of the latent
        image pass through the r-map mask and the thresholds :math:`\tau_r,
        \tau_s` as the shock-filtered ones do (default None: the paper's).
        The final step defaults to ``"tv_l1"``, the paper's Eq. 12
        (:func:`~classicdeblur.solvers.fourier.tv_l1`: ``lam``, the TV weight
        :math:`\lambda`, 2e-2 as in the paper, and its continuation).

    Returns
    -------
    image : ndarray
        Restored image, same shape as the input, in [0, 1].
    kernel : ndarray
        Estimated kernel (odd, non-negative, sums to 1, centred).
    info : dict
        That of :func:`~classicdeblur.blind.framework.run_blind`, plus
        ``isd`` (one dict per ISD iteration: support size, relative change)
        and ``final`` (the final method).

    References
    ----------
    .. [1] L. Xu and J. Jia, "Two-phase kernel estimation for robust motion
       deblurring", ECCV 2010.

    Examples
    --------
    >>> import numpy as np
    >>> import classicdeblur as cd
    >>> from classicdeblur.degrade import degrade
    >>> x = np.zeros((48, 48)); x[12:36, 12:36] = 0.8; x[20:28, 6:42] = 0.3
    >>> k = cd.resolve_kernel("motion:length=5,angle=0")
    >>> y = degrade(x, k, noise=None, rng=0)
    >>> out, kernel, info = xu2010(y, kernel_size=7)
    >>> out.shape, kernel.shape, round(float(kernel.sum()), 6)
    ((48, 48), (7, 7), 1.0)
    """
    est = make_estimator(image, options, iterations=iterations, gamma=gamma, lam=lam, window=window, decay=decay,
                         sigma=sigma, shock_iterations=shock_iterations, shock_dt=shock_dt, isd_gamma=isd_gamma,
                         isd_iterations=isd_iterations, isd_tol=isd_tol)
    if options.face_guided:
        est.guide = face_guide(image, face_box=options.face_box, exemplars=options.exemplars)
    restored, k, info = run_blind(image, est, options, kernel_size=kernel_size, rng=rng, target=target)
    info["isd"] = est.isd_history
    return restored, k, info


def make_estimator(image, options, *, iterations, gamma, lam, window, decay, sigma, shock_iterations, shock_dt,
                   isd_gamma, isd_iterations, isd_tol):
    """The paper's parameters of :func:`xu2010` checked, and its estimator (without a face guide).

    Shared by :func:`xu2010` and the batched alternation (:mod:`~classicdeblur.blind.batched`).
    """
    iterations = _integer("iterations", iterations, 1)
    gamma, lam = _positive("gamma", gamma), _positive("lam", lam)
    window = _integer("window", window, 1)
    if window % 2 == 0:
        raise ValueError(f"window must be odd; got {window}")
    decay = _positive("decay", decay)
    if decay < 1:
        raise ValueError(f"decay must be >= 1; got {decay}")
    sigma = float(sigma)
    if not (sigma >= 0 and math.isfinite(sigma)):
        raise ValueError(f"sigma must be a finite number >= 0; got {sigma}")
    shock_iterations = _integer("shock_iterations", shock_iterations, 0)
    shock_dt = _positive("shock_dt", shock_dt)
    isd_gamma = _positive("isd_gamma", isd_gamma)
    isd_iterations = _integer("isd_iterations", isd_iterations, 0)
    isd_tol = _positive("isd_tol", isd_tol)
    return XuJiaEstimator(iterations=iterations, gamma=gamma, lam=lam, window=window, decay=decay, sigma=sigma,
                          shock_iterations=shock_iterations, shock_dt=shock_dt, isd_gamma=isd_gamma,
                          isd_iterations=isd_iterations, isd_tol=isd_tol, engine=options.engine,
                          edge_predictor=options.edge_predictor)
