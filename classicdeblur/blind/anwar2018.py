r"""Anwar, Huynh & Porikli 2018: image deblurring with a class-specific prior.

Generic priors (sparse gradients, edges) only help to recover the
frequencies near the high end; the mid frequencies that a blur kernel
suppresses are lost to them. Anwar et al. (ICCV 2015, TPAMI 2018) learn,
from sharp images of one class (here: aligned faces), the *subspace of the
responses to a bank of band-pass filters*, one subspace per band, and use it
to restore the attenuated frequencies, both while the kernel is estimated and
in the final deconvolution (METHODS.md section 3).

What comes from the paper and what is ours
-------------------------------------------
The authors' code could not be read here; the abstracts of both papers were.
From the paper: a bank of band-pass filters :math:`f_b`; a class subspace of
the filtered training images per band, learnt in the Fourier domain; the
latent image's band responses are represented in those subspaces to recover
the frequencies attenuated by the kernel; the prior is used in the kernel
estimation and the final non-blind step (a sparse-gradient deconvolution,
the authors build on Levin et al. 2007). The details below are **ours**, chosen
so that the prior is small, translation invariant and independent of the
resolution:

* **Filter bank.** ``B`` radial Butterworth band-passes of order ``n``,
  :math:`H_b(r) = L(r; e_{b+1}) - L(r; e_b)` with
  :math:`L(r; c) = 1 / (1 + (r/c)^{2n})`, half-octave edges :math:`e_b` from
  2 to ``S/2`` cycles per face frame (``S`` = 128: 10 bands). The bands
  telescope, so :math:`\sum_b H_b \approx 1` between 2 and ``S/2`` cycles.
* **Subspace per band, on Fourier magnitudes.** Each aligned training face
  ``t`` (its periodic component, Moisan 2011, so that the frame's borders
  add no spurious cross to the spectrum) gives
  :math:`a_b = H_b |\mathcal{F}(t)| / S^2`, sampled on a polar grid of
  log-spaced radii (cycles per frame) and angles in :math:`[0, \pi)`.
  Magnitudes are invariant to translation, so the input face need not be
  aligned with the exemplars. Per band: the mean :math:`\mu_b`, the first
  ``r`` principal components :math:`U_b`, their variances :math:`\lambda_b`
  and the residual variance :math:`s_b^2`. Stored in float32 (< 1 MB).
* **Band statistics** (the TPAMI paper's "intensity distributions" of the
  band responses): the standard deviation of each band's spatial response,
  ``energy``, kept for reference.
* **Using the prior** (x-step). With the current kernel ``K`` and the blurred
  image ``Y`` at a pyramid level, the blurred band magnitudes follow
  :math:`H_b |Y| \approx |K| (\alpha_b \mu_b + U_b c_b)`; the coefficients
  :math:`(\alpha_b, c_b)` are the MAP estimate under the learnt Gaussian
  (ridge :math:`(s_b^2 + \sigma^2) / \lambda_b` times ``coef_reg``;
  :math:`\alpha_b` pulled towards 1), fitted on the noise-corrected
  :math:`|Y|` (:math:`\sigma` from the median absolute Haar detail) -- the
  frequencies the kernel keeps predict, through the class correlations, those
  it removes. The predicted sharp magnitude
  :math:`\hat m = \sum_b (\alpha_b \mu_b + U_b c_b)` gives, per band and per
  orientation sector (8 sectors over :math:`[0, \pi)`), the ratio of the
  predicted to the current energy of the latent image ``x``; its square root,
  clipped to ``[1, gain]``, is a smooth zero-phase gain ``G`` (bands and
  sectors are partitions of unity), and the latent image becomes
  :math:`x \leftarrow x + \mu (G x - x)`. Only attenuated energy is restored
  (gains below 1 are not applied): the latent image of the alternation is
  deliberately over-sharpened, and measured on faces-256, lowering it hurt.
  The phase is that of ``x``: magnitudes alone cannot place edges, and a
  class term that fixed the phase too (a target image built from ``Y``)
  drove the kernel to a delta in our trials.
* **The rest of the alternation** (ours: the generic part of the paper's
  estimation is not specified here) is Xu & Jia 2010's Phase 1 and 2
  (:mod:`~classicdeblur.blind.xu2010`): r-map and shock-filter edge selection
  from the class-restored latent image, Gaussian kernel prior in Fourier,
  latent image with the spatial prior :math:`\|\nabla x - \nabla x^s\|^2`, ISD
  kernel refinement at the finest level.
* **Final step**: TV-:math:`\ell_1` deconvolution as Xu & Jia
  (:func:`~classicdeblur.solvers.fourier.tv_l1`), or any non-blind method
  (``final`` / ``final_params``; the authors used Levin et al. 2007's sparse
  deconvolution, our ``irls``).

Resolution: frequencies are measured in cycles per *face frame*
(``face_size`` pixels, by default the smaller side of the image) and
magnitudes are normalised by the frame's pixel count, so the same prior is
resampled to every pyramid level and image size; frequencies above the
prior's ``S/2`` cycles get no class term.

Where the face is: nowhere in this method. The prior is on Fourier
magnitudes, which do not depend on where the face lies in the frame, so the
method never locates the face and does not use ``face_box``; only the size
of the face frame matters (``face_size``). On a whole photo, the whole-photo
path (:mod:`classicdeblur.blind.photo`) uses ``face_box`` to crop the face
region that the method then sees.

This module is longer than the package's ~500-line guide because it keeps
the prior's learning (:func:`learn_prior`, run once when the exemplar
database is built) next to its only reader, the estimator, so that the
prior's format (:data:`PRIOR_KEYS`) is defined in one place.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .. import backend
from .._validation import check_count as _integer
from .._validation import check_positive as _positive
from ..backend import asarray_on, get_namespace
from ..errors import ClassicDeblurError
from ..operators.functional import psf2otf
from .framework import run_blind
from .method import blind_method
from .xu2010 import XuJiaEstimator

__all__ = ["learn_prior", "anwar2018", "PRIOR_KEYS", "band_filters", "periodic_component", "make_estimator"]

#: Keys of a prior dictionary (see :func:`learn_prior`).
PRIOR_KEYS = ("frame", "edges", "order", "radii", "angles", "mean", "basis", "variance", "residual", "energy")


# --------------------------------------------------------------------------------------
# Fourier helpers
# --------------------------------------------------------------------------------------


def periodic_component(u):
    r"""The periodic component of ``u`` (Moisan 2011, "Periodic plus smooth image decomposition").

    ``u = p + s`` with ``s`` smooth and ``p`` free of the jumps at the frame's
    borders, so that :math:`|\mathcal{F}(p)|` has no cross artefact.

    Returns
    -------
    p, s : ndarray
        Periodic and smooth components (same shape as the 2-D ``u``).

    Examples
    --------
    >>> import numpy as np
    >>> u = np.add.outer(np.arange(8.0), np.arange(8.0))  # a ramp: maximal border jumps
    >>> p, s = periodic_component(u)
    >>> bool(np.allclose(p + s, u)), bool(abs(p[0] - p[-1]).max() < abs(u[0] - u[-1]).max())
    (True, True)
    """
    xp = get_namespace(u)
    M, N = u.shape
    v = xp.zeros_like(u)
    dr = u[-1, :] - u[0, :]
    dc = u[:, -1] - u[:, 0]
    v[0, :] += dr
    v[-1, :] -= dr
    v[:, 0] += dc
    v[:, -1] -= dc
    q = xp.arange(M, dtype=u.dtype)[:, None]
    r = xp.arange(N // 2 + 1, dtype=u.dtype)[None, :]
    den = 2 * xp.cos(2 * math.pi * q / M) + 2 * xp.cos(2 * math.pi * r / N) - 4
    den[0, 0] = 1.0
    S = backend.rfft2(v) / den
    S[0, 0] = 0
    s = backend.irfft2(S, s=(M, N)).astype(u.dtype, copy=False)
    return u - s, s


def band_filters(radius, edges, order):
    r"""Radial Butterworth band-passes :math:`H_b(r) = L(r; e_{b+1}) - L(r; e_b)`.

    Parameters
    ----------
    radius : ndarray
        Radial frequency (any unit; the same as ``edges``).
    edges : sequence of float
        ``B + 1`` increasing cut-offs.
    order : int
        Butterworth order ``n`` of :math:`L(r; c) = 1 / (1 + (r / c)^{2n})`.

    Returns
    -------
    ndarray of shape (B,) + radius.shape

    Examples
    --------
    >>> import numpy as np
    >>> H = band_filters(np.array([1.0, 6.0, 40.0]), [2, 4, 8, 16], 2)
    >>> H.shape, round(float(H[:, 1].sum()), 2), int(H[:, 1].argmax())
    ((3, 3), 0.97, 1)
    """
    xp = get_namespace(radius)
    n2 = 2 * int(order)
    low = [1.0 / (1.0 + (radius / float(c)) ** n2) for c in edges]
    return xp.stack([low[b + 1] - low[b] for b in range(len(edges) - 1)])


def _polar_sample(mag, radii, angles):
    """Bilinear samples of a centred (fftshifted) magnitude at polar points (cycles per frame)."""
    import scipy.ndimage as ndi

    M, N = mag.shape
    rr, aa = np.meshgrid(radii, angles, indexing="ij")
    rows = M // 2 + rr * np.sin(aa)
    cols = N // 2 + rr * np.cos(aa)
    return ndi.map_coordinates(mag, [rows, cols], order=1, mode="nearest")


# --------------------------------------------------------------------------------------
# learning
# --------------------------------------------------------------------------------------


def learn_prior(db, *, components=8, order=2, n_radii=40, n_angles=16, bands_per_octave=2):
    r"""Learn the class-specific band subspaces from aligned sharp faces.

    Parameters
    ----------
    db : ExemplarDB or any object with ``faces``
        ``db.faces``: float (N, S, S) aligned gray faces in [0, 1]
        (:class:`classicdeblur.faces.exemplars.ExemplarDB`).
    components : int
        Principal components ``r`` kept per band (at most N - 1).
    order : int
        Butterworth order of the band-passes.
    n_radii, n_angles : int
        Polar sampling of the magnitudes: log-spaced radii from 1 to ``S/2``
        cycles per frame, angles in :math:`[0, \pi)`.
    bands_per_octave : int
        Band edges per octave between 2 and ``S/2`` cycles per frame.

    Returns
    -------
    dict of str to ndarray
        float32 arrays: ``frame`` (1,) the training size ``S``; ``edges``
        (B + 1,) band cut-offs in cycles per frame; ``order`` (1,);
        ``radii`` (R,), ``angles`` (A,); ``mean`` (B, R, A) mean band
        magnitude :math:`\mu_b`; ``basis`` (B, r, R, A) orthonormal
        components :math:`U_b`; ``variance`` (B, r) their variances;
        ``residual`` (B,) mean squared residual per sample; ``energy`` (B,)
        standard deviation of each band's spatial response.

    Raises
    ------
    ValueError
        No faces, faces not square, or bad parameters.

    Examples
    --------
    >>> import numpy as np
    >>> from types import SimpleNamespace
    >>> rng = np.random.default_rng(0)
    >>> yy, xx = np.mgrid[-1:1:32j, -1:1:32j]
    >>> faces = np.stack([np.exp(-(xx**2 + (yy / (1 + 0.2 * s)) ** 2) * 3) + 0.05 * rng.random((32, 32))
    ...                   for s in rng.random(6)]).astype(np.float32)
    >>> prior = learn_prior(SimpleNamespace(faces=faces, resolution=32), components=3)
    >>> prior["mean"].shape, prior["basis"].shape, prior["basis"].dtype
    ((6, 40, 16), (6, 3, 40, 16), dtype('float32'))
    """
    faces = np.asarray(getattr(db, "faces", None) if not isinstance(db, np.ndarray) else db, dtype=np.float64)
    if faces.ndim != 3 or faces.shape[0] < 2 or faces.shape[1] != faces.shape[2]:
        raise ValueError(f"learn_prior needs db.faces of shape (N, S, S) with N >= 2; got {faces.shape}")
    components = _integer("components", components, 1)
    order = _integer("order", order, 1)
    n_radii = _integer("n_radii", n_radii, 4)
    n_angles = _integer("n_angles", n_angles, 4)
    bands_per_octave = _integer("bands_per_octave", bands_per_octave, 1)
    n, S, _ = faces.shape
    top = S / 2
    octaves = math.log2(top / 2)
    if octaves < 1:
        raise ValueError(f"faces of {S}x{S} pixels are too small for a band-pass prior (at least 8)")
    nb = max(1, int(round(octaves * bands_per_octave)))
    edges = 2.0 * (top / 2) ** (np.arange(nb + 1) / nb)
    radii = np.geomspace(1.0, top, n_radii)
    angles = np.arange(n_angles) * math.pi / n_angles
    H = band_filters(radii, edges, order)[:, :, None]  # (B, R, 1)
    # band filters on the S x S grid, for the spatial statistics
    f = np.fft.fftfreq(S) * S
    rad_grid = np.hypot(f[:, None], f[None, :])
    H_grid = band_filters(rad_grid, edges, order)
    samples = np.empty((n, n_radii, n_angles))
    energy = np.zeros(nb)
    for i in range(n):
        p, _ = periodic_component(faces[i])
        F = np.fft.fft2(p - p.mean())
        mag = np.fft.fftshift(np.abs(F)) / (S * S)
        samples[i] = _polar_sample(mag, radii, angles)
        for b in range(nb):
            energy[b] += np.mean(np.fft.ifft2(F * H_grid[b]).real ** 2)
    energy = np.sqrt(energy / n)
    r = min(components, n - 1)
    mean = np.empty((nb, n_radii, n_angles))
    basis = np.zeros((nb, r, n_radii, n_angles))
    variance = np.zeros((nb, r))
    residual = np.zeros(nb)
    for b in range(nb):
        a = (samples * H[b]).reshape(n, -1)
        mean[b] = a.mean(axis=0).reshape(n_radii, n_angles)
        c = a - a.mean(axis=0)
        _, sv, vt = np.linalg.svd(c, full_matrices=False)
        # deterministic signs: the largest entry of each component is positive
        sign = np.sign(vt[np.arange(vt.shape[0]), np.abs(vt).argmax(axis=1)])
        vt = vt * sign[:, None]
        basis[b] = vt[:r].reshape(r, n_radii, n_angles)
        variance[b] = sv[:r] ** 2 / (n - 1)
        support = float((H[b, :, 0] > 1e-3).sum() * n_angles)
        residual[b] = float((sv[r:] ** 2).sum()) / ((n - 1) * max(support, 1.0))
    out = {
        "frame": np.array([S]), "edges": edges, "order": np.array([order]), "radii": radii, "angles": angles,
        "mean": mean, "basis": basis, "variance": variance, "residual": residual, "energy": energy,
    }
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in out.items()}


def _check_prior(prior):
    if not isinstance(prior, dict):
        raise ClassicDeblurError(f"prior must be a dict from learn_prior; got {type(prior).__name__}")
    missing = [k for k in PRIOR_KEYS if k not in prior]
    if missing:
        raise ClassicDeblurError(
            f"the anwar2018 prior is missing {', '.join(missing)} (expected keys: {', '.join(PRIOR_KEYS)}); "
            "learn it with classicdeblur.blind.anwar2018.learn_prior or rebuild the exemplar database "
            "with `classicdeblur exemplars build`"
        )
    B, r, R, A = np.shape(prior["basis"])
    if np.shape(prior["mean"]) != (B, R, A) or np.shape(prior["edges"]) != (B + 1,) or \
            np.shape(prior["variance"]) != (B, r) or np.shape(prior["radii"]) != (R,) or \
            np.shape(prior["angles"]) != (A,):
        raise ClassicDeblurError("the anwar2018 prior's arrays have inconsistent shapes; relearn it with learn_prior")
    return {k: np.asarray(prior[k], dtype=np.float64) for k in PRIOR_KEYS}


# --------------------------------------------------------------------------------------
# the prior at one pyramid level
# --------------------------------------------------------------------------------------


class _LevelPrior:
    """The prior resampled on the rfft2 grid of an ``(M, N)`` level whose face frame is ``frame`` pixels.

    Computed with NumPy once per level, then moved to the array module ``xp``
    (the device of the image) with the flat indices of the band masks, so that
    :meth:`predict` runs on the device with neither transfers nor syncs.
    """

    def __init__(self, prior, shape, frame, xp=np):
        M, N = shape
        S = float(prior["frame"][0])
        # cycles per face frame, in the prior's units
        fy = np.fft.fftfreq(M)[:, None] * frame
        fx = np.fft.rfftfreq(N)[None, :] * frame
        rad = np.hypot(fy, fx)
        ang = np.mod(np.arctan2(fy, fx), math.pi)
        radii, angles = prior["radii"], prior["angles"]
        R, A = radii.size, angles.size
        lr = np.log(np.clip(rad, radii[0], radii[-1]))
        ir = (lr - math.log(radii[0])) / (math.log(radii[-1]) - math.log(radii[0])) * (R - 1)
        ia = ang / (math.pi / A)
        r0 = np.clip(np.floor(ir).astype(int), 0, R - 2)
        wr = ir - r0
        a0 = np.floor(ia).astype(int) % A
        a1 = (a0 + 1) % A
        wa = ia - np.floor(ia)

        def interp(arr):  # arr (..., R, A) -> (..., M, N//2+1)
            return ((1 - wr) * (1 - wa) * arr[..., r0, a0] + (1 - wr) * wa * arr[..., r0, a1]
                    + wr * (1 - wa) * arr[..., r0 + 1, a0] + wr * wa * arr[..., r0 + 1, a1])

        inside = (rad >= radii[0]) & (rad <= S / 2)
        H = band_filters(rad, prior["edges"], int(prior["order"][0]))  # (B, M, Nh)
        active = [b for b in range(H.shape[0]) if float(H[b][inside].max(initial=0)) > 0.05]
        self.active = active
        self.mask = [(H[b] > 1e-3) & inside for b in active]
        self.mean = [interp(prior["mean"][b]) * m for b, m in zip(active, self.mask)]
        self.basis = [interp(prior["basis"][b]) * m for b, m in zip(active, self.mask)]
        self.H = [H[b] for b in active]
        self.variance = [prior["variance"][b] for b in active]
        self.residual = [prior["residual"][b] for b in active]
        self.coverage = np.clip(sum(self.H, np.zeros_like(rad)) * inside, 0, 1) if active else np.zeros_like(rad)
        self.shape = shape
        # orientation sectors (smooth partition of unity over [0, pi))
        n_sec = 8
        d = np.mod(ang[None] - (np.arange(n_sec) * math.pi / n_sec)[:, None, None] + math.pi / 2, math.pi) - math.pi / 2
        tri = np.maximum(1 - np.abs(d) / (math.pi / n_sec), 0)
        self.sectors = list(tri / np.maximum(tri.sum(axis=0), 1e-12))
        # per band: the weights of the design's prior (Eq. of predict) and the prior mean of the coefficients
        self.weights = [np.concatenate([[1.0 / 0.25], 1.0 / np.maximum(var, 1e-30)]) for var in self.variance]
        self.index = [np.flatnonzero(m) for m in self.mask]
        if xp is not np and active:
            # once per level, one transfer per kind of array: everything predict and the band gains read
            def on(arrays):
                return list(asarray_on(xp, np.stack(arrays)))

            self.mean, self.basis, self.H = on(self.mean), on(self.basis), on(self.H)
            self.weights, self.sectors = on(self.weights), on(self.sectors)
            self.coverage = asarray_on(xp, self.coverage)
            ends = np.cumsum([i.size for i in self.index])
            flat = asarray_on(xp, np.concatenate(self.index))
            self.index = [flat[e - i.size : e] for e, i in zip(ends, self.index)]

    def predict(self, Ymag2, Kmag, noise2, coef_reg):
        """Predicted sharp magnitude (normalised units) on the rfft grid, from ``|Y|^2`` and ``|K|``.

        On the array module of ``Ymag2`` (the level's arrays must be there, see
        the class docstring); the masked entries are gathered by flat index
        (the same entries, in the same order, as a boolean mask gives).
        """
        xp = get_namespace(Ymag2)
        ymag = xp.sqrt(xp.maximum(Ymag2 - noise2, 0))
        pred = xp.zeros(self.shape[0:1] + (self.shape[1] // 2 + 1,))
        flat_k = Kmag.ravel()
        for idx, mu, U, wv, res, H in zip(self.index, self.mean, self.basis, self.weights, self.residual, self.H):
            obs = (H * ymag).ravel()[idx]
            k = flat_k[idx]
            # design: [|K| mu, |K| U_1 .. |K| U_r]
            D = xp.concatenate([(k * mu.ravel()[idx])[None], k[None] * U.reshape(U.shape[0], -1)[:, idx]], axis=0)
            w = wv * (res + noise2) * coef_reg
            prior_mean = xp.zeros(D.shape[0])
            prior_mean[0] = 1.0
            G = D @ D.T + xp.diag(w)
            c = xp.linalg.solve(G, D @ obs + w * prior_mean)
            pred = pred + xp.maximum(c[0] * mu + xp.tensordot(c[1:], U, axes=1), 0)
        return pred


# --------------------------------------------------------------------------------------
# the estimator
# --------------------------------------------------------------------------------------


def _noise_sigma(y):
    """Noise standard deviation from the median absolute diagonal Haar detail (Donoho 1995)."""
    M, N = (y.shape[0] // 2) * 2, (y.shape[1] // 2) * 2
    d = (y[0:M:2, 0:N:2] - y[1:M:2, 0:N:2] - y[0:M:2, 1:N:2] + y[1:M:2, 1:N:2]) / 2
    xp = get_namespace(d)
    return float(xp.median(xp.abs(d))) / 0.6745


@dataclass
class _ClassLevel:
    """The class prior at one pyramid level, and what it is fitted to."""

    #: The prior resampled on the level's Fourier grid.
    prior: _LevelPrior
    #: :math:`|Y|^2` of the blurred level (periodic component, mean removed, normalised by the pixel count).
    Ymag2: np.ndarray
    #: Noise variance in the same normalised units.
    noise2: float


class _Anwar(XuJiaEstimator):
    """Xu & Jia's edge-based alternation with the class band-energy restoration after every latent-image step."""

    def __init__(self, prior, *, mu, gain, coef_reg, face_size, full_shape, **xu_params):
        super().__init__(**xu_params)
        self.prior, self.mu, self.gain, self.coef_reg = prior, mu, gain, coef_reg
        self.face_size, self.full_shape = face_size, full_shape
        #: The class prior of the current level (None: no class term at this level).
        self.class_level: _ClassLevel | None = None

    def start_level(self, state):
        super().start_level(state)
        self.class_level = None
        if self.prior is None or self.mu == 0:
            return
        y = state.y
        M, N = y.shape
        frame = (self.face_size if self.face_size else min(self.full_shape)) * state.level.scale
        xp = state.xp
        lp = _LevelPrior(self.prior, (M, N), frame, xp)
        if not lp.active:
            return
        py, _ = periodic_component(y.astype(xp.float64))
        Y = xp.fft.rfft2(py - py.mean()) / (M * N)
        self.class_level = _ClassLevel(prior=lp, Ymag2=xp.abs(Y) ** 2, noise2=_noise_sigma(y) ** 2 / (M * N))

    def _class_image(self, state, x):
        """``x`` with its band energies raised towards the class prediction (a zero-phase filter).

        Runs on the device of ``x`` (no transfer, no sync: the gains stay 0-d device arrays).
        """
        cl = self.class_level
        lp = cl.prior
        xp = state.xp
        M, N = state.y.shape
        K = xp.abs(psf2otf(state.k, (M, N)))
        pred2 = lp.predict(cl.Ymag2, K, cl.noise2, self.coef_reg) ** 2
        px, sx = periodic_component(x.astype(xp.float64))
        X = xp.fft.rfft2(px)
        mag2 = xp.abs(X / (M * N)) ** 2
        # band b, orientation sector s: gain sqrt(E_pred / E_current), clipped to [1, gain] (the latent image
        # of the alternation is deliberately over-sharpened: only attenuated energy is restored)
        filt = 1.0 - lp.coverage
        for H in lp.H:
            for sec in lp.sectors:
                w = H * sec
                g = xp.sqrt((w * pred2).sum() / xp.maximum((w * mag2).sum(), 1e-30))
                filt = filt + w * xp.clip(g, 1.0, self.gain)
        filt[0, 0] = 1.0
        xc = xp.fft.irfft2(X * filt, s=(M, N)) + sx
        return xc.astype(state.y.dtype, copy=False)

    def x_step(self, state):
        x = super().x_step(state)
        if self.class_level is not None and self.level.used is not None:
            x = x + self.mu * (self._class_image(state, x) - x)
        return x


def _load_prior(exemplars):
    """The ``anwar2018`` prior of the exemplar database (imported lazily: it needs the faces tools)."""
    try:
        from ..faces.exemplars import as_database
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise ClassicDeblurError(
            f"anwar2018 needs a prior: pass prior=learn_prior(db) or install the exemplar database ({exc})"
        ) from exc
    return as_database(exemplars).prior("anwar2018")


# --------------------------------------------------------------------------------------
# the method
# --------------------------------------------------------------------------------------


@blind_method(
    "anwar2018",
    description="Anwar, Huynh & Porikli 2018 class-specific prior: per-band Fourier subspaces of aligned faces "
    "restore the band energies the kernel attenuates, inside Xu & Jia's edge-based coarse-to-fine estimation",
    final=("tv_l1", None),
    face=True,
    edges=True,
    learn=learn_prior,
)
def anwar2018(
    image,
    options,
    *,
    kernel_size=None,
    rng=None,
    target=None,
    prior=None,
    mu=0.5,
    gain=4.0,
    coef_reg=1.0,
    face_size=None,
    iterations=5,
    gamma=10.0,
    lam=2e-3,
    isd_iterations=10,
):
    r"""Blind face deblurring with a class-specific band-pass prior (Anwar et al., TPAMI 2018).

    Coarse to fine, after every latent-image step the band energies of the
    latent image are raised towards those that the learnt per-band face
    subspaces predict from the frequencies the current kernel keeps; the
    kernel is re-estimated from the salient edges of that image (Xu & Jia
    2010's edge selection, Gaussian kernel prior and ISD refinement). See
    :mod:`classicdeblur.blind.anwar2018` for the equations and for what is
    from the paper and what is ours.

    Parameters
    ----------
    image : ndarray of shape (M, N) or (M, N, C)
        Blurred face, float in [0, 1] (the kernel is estimated on the
        luminance), framed like the training faces (the face filling most of
        the frame, as the CelebA / FFHQ crops); it need not be aligned.
    kernel_size : int, optional
        Odd kernel size (default: 31, shrunk for small images).
    rng : int or numpy.random.Generator, optional
        Unused (the method is deterministic); passed to the framework.
    target : ndarray, optional
        The image the final step restores (default ``image``; see
        :func:`~classicdeblur.blind.framework.run_blind`).
    prior : dict, optional
        A prior from :func:`learn_prior`.
    mu : float
        Weight in [0, 1] of the class-consistent image in the latent image
        (0 turns the class prior off: plain Xu & Jia 2010).
    gain : float
        Largest factor (>= 1) by which a band's magnitude may be raised.
    coef_reg : float
        Multiplier of the Gaussian prior on the subspace coefficients.
    face_size : float, optional
        Side in pixels of the face frame (the training faces' framing);
        default: the smaller side of the image.
    iterations, gamma, lam, isd_iterations
        Passes per level, kernel prior weight, spatial prior weight and ISD
        iterations of :func:`~classicdeblur.blind.xu2010.xu2010`.
    final, final_params, pixel_screening, screening_params, engine, face_box, exemplars, edge_predictor
        The shared keywords of every blind method (:mod:`~classicdeblur.blind.method`).
        ``edge_predictor`` replaces Xu & Jia's Gaussian + shock filter in the
        edge selection from the class-restored latent image (as in
        :func:`~classicdeblur.blind.xu2010.xu2010`; default None: unchanged).
        The final step defaults to ``"tv_l1"`` (Xu & Jia's Eq. 12,
        :func:`~classicdeblur.solvers.fourier.tv_l1`). ``exemplars`` is the
        exemplar database whose ``anwar2018`` prior is used when ``prior`` is
        not given (:func:`classicdeblur.faces.exemplars.load_database`).
        ``face_box`` is not used by the method (see the module notes: the
        prior does not depend on where the face is); the whole-photo path
        uses it to crop the face region.

    Returns
    -------
    image : ndarray
        Restored image, same shape as the input, in [0, 1].
    kernel : ndarray
        Estimated kernel (odd, non-negative, sums to 1, centred).
    info : dict
        That of :func:`~classicdeblur.blind.framework.run_blind`, plus
        ``isd`` and ``final``.

    Raises
    ------
    ValueError
        Bad parameter values, unknown final method, or a prior dict with
        missing or inconsistent arrays.

    References
    ----------
    .. [1] S. Anwar, C. P. Huynh and F. Porikli, "Image deblurring with a
       class-specific prior", IEEE TPAMI 41(9), 2019 (online 2018).
    .. [2] S. Anwar, C. P. Huynh and F. Porikli, "Class-specific image
       deblurring", ICCV 2015.

    Examples
    --------
    >>> import numpy as np
    >>> from types import SimpleNamespace
    >>> import classicdeblur as cd
    >>> from classicdeblur.degrade import degrade
    >>> yy, xx = np.mgrid[-1:1:48j, -1:1:48j]
    >>> faces = np.stack([np.exp(-(xx**2 + (yy / s) ** 2) * 3) for s in (0.9, 1.0, 1.1, 1.2)])
    >>> prior = learn_prior(SimpleNamespace(faces=faces, resolution=48), components=2)
    >>> y = degrade(faces[1], cd.resolve_kernel("motion:length=5,angle=0"), noise=None, rng=0)
    >>> out, kernel, info = anwar2018(y, kernel_size=7, prior=prior, iterations=2)
    >>> out.shape, kernel.shape, round(float(kernel.sum()), 6)
    ((48, 48), (7, 7), 1.0)
    """
    est = make_estimator(image, options, prior=prior, mu=mu, gain=gain, coef_reg=coef_reg, face_size=face_size,
                         iterations=iterations, gamma=gamma, lam=lam, isd_iterations=isd_iterations)
    restored, k, info = run_blind(image, est, options, kernel_size=kernel_size, rng=rng, target=target)
    info["isd"] = est.isd_history
    return restored, k, info


def make_estimator(image, options, *, prior, mu, gain, coef_reg, face_size, iterations, gamma, lam, isd_iterations):
    """The paper's parameters of :func:`anwar2018` checked, and its estimator for ``image`` (the prior loaded).

    Shared by :func:`anwar2018` and the batched alternation (:mod:`~classicdeblur.blind.batched`).
    """
    mu = float(mu)
    if not 0 <= mu <= 1:
        raise ValueError(f"mu must be a number in [0, 1]; got {mu}")
    gain = _positive("gain", gain)
    if gain < 1:
        raise ValueError(f"gain must be >= 1; got {gain}")
    coef_reg = _positive("coef_reg", coef_reg)
    if face_size is not None:
        face_size = _positive("face_size", face_size)
    iterations = _integer("iterations", iterations, 1)
    gamma, lam = _positive("gamma", gamma), _positive("lam", lam)
    isd_iterations = _integer("isd_iterations", isd_iterations, 0)
    if prior is None and mu > 0:
        prior = _load_prior(options.exemplars)
    prior = _check_prior(prior) if prior is not None else None
    return _Anwar(prior, mu=mu, gain=gain, coef_reg=coef_reg, face_size=face_size, full_shape=image.shape[:2],
                  iterations=iterations, gamma=gamma, lam=lam, window=5, decay=1.1, sigma=1.0, shock_iterations=1,
                  shock_dt=0.5, isd_gamma=1.0, isd_iterations=isd_iterations, isd_tol=1e-3, engine=options.engine,
                  edge_predictor=options.edge_predictor)
