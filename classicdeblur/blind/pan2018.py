r"""Pan, Ren, Hu & Yang (TPAMI 2018), "Learning to deblur images with exemplars": learned sharp edges of faces.

Pan et al. 2014 (:mod:`~classicdeblur.blind.exemplar`) estimate a face's
kernel from the salient structures of the best-matching sharp exemplar. Their
TPAMI 2018 extension replaces the exemplar search by a convolutional network
that *predicts the sharp salient edges* of the face from the blurred face;
the predicted edges :math:`\nabla S` stand where the exemplar structure stood
in the kernel step, so the blur model (the data term on :math:`\nabla B`)
still decides the kernel, coarse to fine.

What is the paper's and what is ours
------------------------------------
Only the paper's introduction and abstract could be read here. **From the
paper:** the idea (a CNN predicts sharp edges from the blurred face, in place
of the exemplar search and of hand-made edge selection); the kernel step of
Pan et al. 2014 (Eq. 7 there), :math:`\min_k \|\nabla S * k - \nabla B\|^2 + \gamma\|k\|^2`,
with those edges; coarse-to-fine estimation and a final non-blind
deconvolution with a sparse prior. **Ours:** the network (a small U-Net of
:mod:`classicdeblur.learned.network`, trained here on CelebA faces blurred
by the project's kernel generators, :mod:`classicdeblur.learned.data`); that
it predicts the sharp *image* (its gradients are :math:`\nabla S`) and is
trained on blurred faces *and* on latent images of an unfinished alternation;
the alternation below and every parameter value.

The alternation (per pyramid level, ``iterations`` times)
----------------------------------------------------------
1. **x-step**: at the very first iteration of the coarsest level, the blurred
   image itself; at the first iteration of a finer level, the latent image
   :math:`x = \arg\min_x \|k * x - y\|^2 + \lambda\|\nabla x\|^2` with the
   upsampled kernel; afterwards Xu & Jia's spatial prior towards the last
   predicted edges, :math:`x = \arg\min_x \|k * x - y\|^2 + \mu\|\nabla x -
   \nabla S\|^2` (their Eq. 8). Both in closed form in Fourier on Liu &
   Jia's periodic extension
   (:class:`~classicdeblur.operators.periodic.PeriodicBlur`).
2. **Edge prediction**: :math:`\nabla S` = the predictor's sharp gradients of
   :math:`x` (``edge_predictor``; default the shipped network,
   :class:`~classicdeblur.blind.edges.LearnedEdges`). A confidence map, when
   the predictor gives one, weights the data term.
3. **k-step** (Eq. 7 of Pan et al. 2014): conjugate gradients on the kernel's
   normal equations (:class:`~classicdeblur.operators.kernel.KernelSystem`)
   over *all* pixels (no edge threshold: the network already suppresses
   what is not a sharp edge), with :math:`\gamma` relative to the energy of
   :math:`\nabla S` (``gamma``), warm started from the current kernel; the
   framework then projects (non-negative, sums to one, 5% threshold, small
   components dropped) and re-centres it.

Final step: the hyper-Laplacian deconvolution of the full-resolution input
(:data:`FINAL_PARAMS`), or any non-blind method (``final``).

What was tried and measured (ours)
----------------------------------
On held-out CelebA validation faces and subsets of ``faces-256`` (never used for
training): the network applied once per level to the blurred image only (the paper's
reading) gave kernels worse than Xu & Jia's; a first network (226,593 parameters,
trained on blurred faces only) barely sharpened anything (+0.5 dB) and its edges gave
poor kernels, so the shipped one (122,033 parameters, batch normalisation) is also
trained on latent images of unfinished alternations and applied to the latent image at
every iteration; Cho & Lee's edge threshold on the predicted edges, Xu & Jia's ISD
refinement after the k-step, a shock filter on the prediction and flip-averaged
predictions all measured worse or no better; :math:`\gamma` between 0.3 and 3
(relative) and 3 to 7 iterations changed the mean by less than 0.3 dB.

Measured (``benchmarks/faces.py``, ``benchmarks/edges.py``; README): on ``faces-256`` x
the 8 Levin kernels (16 faces, 128 cases) 29.41 dB against 29.76 for ``xu2010`` and
33.10 with the true kernel; on ``yaleb-256`` (6 subjects, 48 cases) 32.33 dB against
30.82 for ``xu2010``. The same network in place of the edge prediction of ``cho2009``,
``xu2010``, ``exemplar`` or ``anwar2018`` (``edge_predictor="learned"``) lowers each of
them by 0.9 to 2.0 dB on ``faces-256``: their thresholds and masks were made for
shock-filtered edges.

References
----------
.. [1] J. Pan, W. Ren, Z. Hu and M.-H. Yang, "Learning to deblur images with
   exemplars", IEEE TPAMI 41(6), 2019 (online 2018).
.. [2] J. Pan, Z. Hu, Z. Su and M.-H. Yang, "Deblurring face images with
   exemplars", ECCV 2014.
"""

from __future__ import annotations

from dataclasses import dataclass

from .._validation import check_count, check_positive
from ..operators.kernel import KernelSystem
from ..operators.periodic import PeriodicBlur
from .constraints import shift_image
from .edges import resolve_edge_predictor, sharp_gradients
from .framework import Estimator, run_blind
from .method import blind_method

__all__ = ["pan2018", "Pan2018", "FINAL_PARAMS"]

#: Parameters of the final hyper-Laplacian restoration.
FINAL_PARAMS = {"lam": 1e3}


@dataclass
class _Level:
    problem: PeriodicBlur
    gb: tuple
    #: The last predicted edges at this level (None before the first k-step).
    edges: tuple | None = None


class Pan2018(Estimator):
    """The x- and k-steps of :func:`pan2018` for :func:`~classicdeblur.blind.framework.run_blind`.

    Parameters
    ----------
    predictor : EdgePredictor
        Where :math:`\\nabla S` comes from (:mod:`~classicdeblur.blind.edges`).
    iterations, gamma, lam, mu, cg_iterations
        See :func:`pan2018`.
    """

    kernel_threshold = 0.05
    min_component = 0.1

    def __init__(self, predictor, *, iterations=5, gamma=1.0, lam=3e-2, mu=2e-3, cg_iterations=30):
        self.predictor = predictor
        self.iterations = self.min_iterations = check_count("iterations", iterations, 1)
        self.tol = 0.0
        self.gamma = check_positive("gamma", gamma)
        self.lam = check_positive("lam", lam)
        self.mu = check_positive("mu", mu)
        self.cg_iterations = check_count("cg_iterations", cg_iterations, 1)
        self.level: _Level | None = None

    def start_level(self, state):
        xp = state.xp
        ks = state.level.kernel_size
        point = xp.zeros((ks, ks), dtype=state.y.dtype)
        point[ks // 2, ks // 2] = 1
        self.level = _Level(PeriodicBlur(state.y, point, "smooth"), sharp_gradients(state.y))

    def x_step(self, state):
        if state.index == 0 and state.iteration == 0:
            return state.x  # the blurred image
        op = self.level.problem.with_kernel(state.k)
        if self.level.edges is None:
            latent = op.solve(self.lam)  # Tikhonov, with the kernel upsampled from the level below
        else:
            sx, sy = self.level.edges  # Xu & Jia's Eq. 8 towards the predicted edges
            latent = op.solve(self.mu, op.gradient_adjoint_spectrum(op.extend(sx), op.extend(sy)))
        return state.xp.ascontiguousarray(op.crop(latent))

    def on_shift(self, state, shift):
        if self.level.edges is not None:  # keep the predicted edges aligned with the re-centred kernel
            self.level.edges = tuple(shift_image(g, (-shift[0], -shift[1])) for g in self.level.edges)

    def k_step(self, state):
        em = self.predictor.predict(state.x)
        gbx, gby = self.level.gb
        sx, sy = em.gx, em.gy
        self.level.edges = (sx, sy)
        if em.confidence is not None:
            c = em.confidence
            sx, sy, gbx, gby = sx * c, sy * c, gbx * c, gby * c
        pairs = self.guided(state, [(sx, gbx), (sy, gby)])
        energy = sum(float((p[0] * p[0]).sum()) for p in pairs)
        if not energy > 0:
            return state.k  # nothing predicted: keep the kernel
        # Eq. 7 of Pan et al. 2014, gamma relative to the energy of the predicted edges
        return KernelSystem(pairs, state.level.kernel_size).solve_l2(self.gamma * energy, state.k,
                                                                      maxiter=self.cg_iterations)


@blind_method(
    "pan2018",
    description="Pan et al. TPAMI 2018 learned face edges: a small network trained here predicts the sharp face "
    "from the blurred (and latent) face; its gradients give the kernel (Eq. 7), coarse to fine",
    final=("hyper_laplacian", FINAL_PARAMS),
    face=True,
    edges=True,
)
def pan2018(image, options, *, kernel_size=None, rng=None, target=None, iterations=5, gamma=1.0, lam=3e-2,
            mu=2e-3, cg_iterations=30):
    r"""Blind face deblurring with learned sharp edges (Pan, Ren, Hu & Yang, TPAMI 2018).

    See :mod:`classicdeblur.blind.pan2018` for the alternation and for what is
    the paper's and what is ours.

    Parameters
    ----------
    image : ndarray of shape (M, N) or (M, N, C)
        Blurred face, float in [0, 1], NumPy or CuPy (the kernel is estimated
        on the luminance), framed like the training faces (the face filling
        most of the image).
    kernel_size : int, optional
        Odd kernel size (default 31, shrunk for small images).
    rng : int or numpy.random.Generator, optional
        Unused (the method is deterministic).
    target : ndarray, optional
        The image the final step restores (default ``image``).
    iterations : int
        x-step / prediction / k-step rounds per pyramid level.
    gamma : float
        Weight of :math:`\|k\|^2` in the k-step, relative to the energy of
        the predicted edges.
    lam : float
        Weight of :math:`\|\nabla x\|^2` in the first latent-image step of a level.
    mu : float
        Weight of :math:`\|\nabla x - \nabla S\|^2` in the later latent-image steps
        (Xu & Jia's :math:`\lambda` of Eq. 8, whose 2e-3 it keeps).
    cg_iterations : int
        Conjugate-gradient iterations of each k-step.
    final, final_params, pixel_screening, screening_params, engine, face_box, exemplars, edge_predictor
        The shared keywords of every blind method (:mod:`~classicdeblur.blind.method`).
        ``edge_predictor`` defaults to ``"learned"`` (the shipped edge
        network); the final step to the hyper-Laplacian with
        :data:`FINAL_PARAMS`. ``face_box`` and ``exemplars`` are not used by
        the method itself (the whole-photo path crops the face with
        ``face_box``).

    Returns
    -------
    image, kernel : ndarray
    info : dict
        That of :func:`~classicdeblur.blind.framework.run_blind`, plus
        ``edge_predictor`` (its name).

    References
    ----------
    .. [1] J. Pan, W. Ren, Z. Hu and M.-H. Yang, "Learning to deblur images
       with exemplars", IEEE TPAMI, 2018.

    Examples
    --------
    >>> import numpy as np
    >>> import classicdeblur as cd
    >>> from classicdeblur.degrade import degrade
    >>> x = np.zeros((48, 48)); x[12:36, 12:36] = 0.8; x[20:28, 6:42] = 0.3
    >>> y = degrade(x, cd.resolve_kernel("motion:length=5,angle=0"), noise=None, rng=0)
    >>> out, kernel, info = pan2018(y, kernel_size=7)
    >>> out.shape, kernel.shape, round(float(kernel.sum()), 6), info["edge_predictor"]
    ((48, 48), (7, 7), 1.0, 'learned')
    """
    predictor = options.edge_predictor if options.edge_predictor is not None else resolve_edge_predictor("learned")
    est = Pan2018(predictor, iterations=iterations, gamma=gamma, lam=lam, mu=mu, cg_iterations=cg_iterations)
    restored, k, info = run_blind(image, est, options, kernel_size=kernel_size, rng=rng, target=target)
    info["edge_predictor"] = getattr(predictor, "name", type(predictor).__name__)
    return restored, k, info
