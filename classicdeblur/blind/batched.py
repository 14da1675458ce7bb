r"""Batched blind deblurring: the coarse-to-fine alternation for ``B`` equal-size faces at once.

:func:`deblur_stack` runs :func:`~classicdeblur.blind.framework.run_blind`'s
alternation on a stack of images ``(B, M, N)`` (or ``(B, M, N, C)``, the
kernel estimated on the luminance) with a leading batch axis through every
step: the pyramid, the x-step and the k-step are array operations on the
whole stack (batched FFTs over the last two axes,
:mod:`classicdeblur.operators.stack`), each image has its own kernel, its own
thresholds and its own stopping (a mask of the images still running: an
image whose level stops early, or whose kernel is not finite, keeps its
latent image and kernel while the others go on). The final non-blind step
restores the stack at once (:func:`classicdeblur.solvers.stack.deconvolve_stack`).

Methods with a batched alternation (:data:`BATCHED`):

* ``xu2010`` (Phase 1 and the ISD refinement of Phase 2, TV-L1 final step);
* ``anwar2018`` (Xu & Jia's alternation with the class prior's band
  restoration; the prior is resampled once per level for the whole stack);
* ``cho2009`` (prediction, CG kernel, Gaussian deconvolution, early stop per image).

Every step performs, for each image, the floating-point operations of the
single-image code in the same order, so on NumPy a face of the batch gets
exactly what :func:`classicdeblur.deblur` gives it alone (tested image by
image, bit for bit; a colour stack's final step differs by rounding in the
border band only). What the batch does not do: pixel screening, face guidance
(``face_guided``), a restore ``target`` other than the input, and the data
term of the history (each image's history has its level, iteration and
kernel change). Engines: the per-pixel filters that run once per level
(``rmap``) and the bilateral filter of ``cho2009`` run image by image with the
engine the single-image path uses (``numba`` on the CPU); the shock filter and
the shrinkages run on the whole stack (every engine computes them alike).

Host<->device traffic does not depend on the iteration count: the images go
in, the restored stack stays on the device, the kernels and the history come
back once.
"""

from __future__ import annotations

import math
import time

import numpy as np

from .. import backend
from ..backend import get_namespace, get_ndimage
from ..engines import resolve_engine
from ..errors import InvalidParameterError
from ..filters import _reference
from ..filters import bilateral as _bilateral_one
from ..filters import orientation_threshold as _orientation_one
from ..filters import rmap as _rmap_one
from ..filters import shock_filter as _shock_one
from ..operators import gradients as grad_ops
from ..operators import stack as st
from ..operators.stack import KernelSystemStack, PeriodicBlurStack
from ..solvers.stack import deconvolve_stack
from . import registry
from .framework import FLAT_STD, default_kernel_size, gray
from .pyramid import kernel_grid, schedule

__all__ = ["BATCHED", "deblur_stack", "run_blind_stack", "project_kernels", "recenter_kernels", "shift_images",
           "orientation_thresholds"]

#: Methods whose alternation runs batched (the others run image by image in :func:`classicdeblur.deblur_batch`).
BATCHED = ("xu2010", "anwar2018", "cho2009")


def _col(v):
    """``(B,)`` -> ``(B, 1, 1)``."""
    return v[:, None, None]


# --------------------------------------------------------------------------------------
# the framework's helpers on stacks (pyramid, kernel constraints)
# --------------------------------------------------------------------------------------


def resize_images(images, shape):
    """:func:`~classicdeblur.blind.pyramid.resize` of every image of a ``(B, M, N)`` stack."""
    ndi = get_ndimage(get_namespace(images))
    M, N = images.shape[1:3]
    fy, fx = shape[0] / M, shape[1] / N
    if (M, N) == tuple(shape[:2]):
        return images
    if min(fy, fx) < 1:
        sig = [0.0] + [max(0.0, (1 / f - 1) / 2) for f in (fy, fx)]
        images = ndi.gaussian_filter(images, sig, mode="nearest")
    out = ndi.zoom(images, (1, fy, fx), order=1, mode="nearest", grid_mode=True)
    return out.astype(images.dtype, copy=False)


def resize_kernels(kernels, size):
    """:func:`~classicdeblur.blind.pyramid.resize_kernel` of every kernel of a ``(B, h, h)`` stack."""
    xp = get_namespace(kernels)
    B, h = kernels.shape[0], kernels.shape[1]
    if h == size:
        return kernels
    ndi = get_ndimage(xp)
    grid = kernel_grid(xp, h, size, kernels.dtype)
    rows, cols = xp.meshgrid(grid, grid, indexing="ij")
    batch = xp.broadcast_to(xp.arange(B, dtype=kernels.dtype)[:, None, None], (B, size, size))
    coords = xp.stack([batch, xp.broadcast_to(rows, (B, size, size)), xp.broadcast_to(cols, (B, size, size))])
    out = ndi.map_coordinates(kernels, coords, order=1, mode="constant", cval=0.0)
    out = xp.maximum(out, 0)
    s = out.sum(axis=(1, 2))
    good = s > 0
    return xp.where(_col(good), out / _col(xp.where(good, s, 1)), out).astype(kernels.dtype, copy=False)


def _delta(B, size, xp, dtype):
    k = xp.zeros((B, size, size), dtype=dtype)
    k[:, size // 2, size // 2] = 1
    return k


def project_kernels(kernels, *, threshold=0.05, min_component=0.1):
    """:func:`~classicdeblur.blind.constraints.project_kernel` of every kernel of a ``(B, h, w)`` stack.

    The connected components are labelled on the whole stack at once (a 3-D
    structure that connects nothing across the batch axis); a component's
    mass is compared with its own kernel's total.
    """
    xp = get_namespace(kernels)
    B = kernels.shape[0]
    k = xp.maximum(kernels, 0)
    peak = k.max(axis=(1, 2))
    if threshold > 0:
        k = xp.where(_col(peak > 0) & (k < _col(threshold * peak)), 0, k)
    total = k.sum(axis=(1, 2))
    if min_component > 0:
        ndi = get_ndimage(xp)
        structure = xp.zeros((3, 3, 3))
        structure[1] = 1
        labels, n = ndi.label(k > 0, structure=structure)
        n = int(n)
        if n > 1:
            index = xp.arange(1, n + 1)
            mass = ndi.sum_labels(k, labels, index=index)
            owner = ndi.maximum(xp.broadcast_to(xp.arange(B)[:, None, None], k.shape), labels, index=index)
            owner = owner.astype(xp.int64)
            count = xp.bincount(owner, minlength=B)
            # as the single-image code: the rule applies to kernels with more than one component
            keep = (mass >= min_component * total[owner]) | (count[owner] <= 1)
            keep = xp.concatenate([xp.zeros(1, dtype=bool), keep])
            k = xp.where(keep[labels], k, 0)
        total = k.sum(axis=(1, 2))
    good = total > 0
    out = (k / _col(xp.where(good, total, 1))).astype(kernels.dtype, copy=False)
    return xp.where(_col(good), out, _delta(B, kernels.shape[1], xp, kernels.dtype))


def recenter_kernels(kernels):
    """:func:`~classicdeblur.blind.constraints.recenter` of every kernel: ``(kernels, shifts (B, 2) int)``."""
    xp = get_namespace(kernels)
    B, h, w = kernels.shape
    total = kernels.sum(axis=(1, 2))
    good = total > 0
    safe = xp.where(good, total, 1)
    rows = xp.arange(h, dtype=kernels.dtype)
    cols = xp.arange(w, dtype=kernels.dtype)
    cy = (kernels.sum(axis=2) * rows).sum(axis=1) / safe
    cx = (kernels.sum(axis=1) * cols).sum(axis=1) / safe
    dy = xp.where(good, xp.rint(h // 2 - cy), 0).astype(xp.int64)
    dx = xp.where(good, xp.rint(w // 2 - cx), 0).astype(xp.int64)
    moved = (dy != 0) | (dx != 0)
    ii = xp.arange(h)[None, :] - dy[:, None]
    jj = xp.arange(w)[None, :] - dx[:, None]
    inside = ((ii >= 0) & (ii < h))[:, :, None] & ((jj >= 0) & (jj < w))[:, None, :]
    src = kernels[xp.arange(B)[:, None, None], xp.clip(ii, 0, h - 1)[:, :, None], xp.clip(jj, 0, w - 1)[:, None, :]]
    out = xp.where(inside, src, 0)
    s = out.sum(axis=(1, 2))
    take = moved & (s > 0)
    out = xp.where(_col(take), out / _col(xp.where(take, s, 1)), kernels)
    return out, xp.stack([dy, dx], axis=1)


def shift_images(images, shifts):
    """:func:`~classicdeblur.blind.constraints.shift_image` of every image by its own ``(dy, dx)`` (edge replicated)."""
    xp = get_namespace(images)
    B, H, W = images.shape[:3]
    rows = xp.clip(xp.arange(H)[None, :] - shifts[:, 0:1], 0, H - 1)
    cols = xp.clip(xp.arange(W)[None, :] - shifts[:, 1:2], 0, W - 1)
    return images[xp.arange(B)[:, None, None], rows[:, :, None], cols[:, None, :]]


def orientation_thresholds(gx, gy, min_pixels, bins):
    """:func:`classicdeblur.filters.orientation_threshold` of every image of a stack: a ``(B,)`` array.

    The ``min_pixels``-th largest magnitude of each orientation bin is one
    ``partition`` of the stack (bins with fewer pixels give their smallest
    one), the threshold is the smallest over the bins; ``inf`` when every bin
    is empty.
    """
    xp = get_namespace(gx)
    B = gx.shape[0]
    if xp is np:  # on the CPU the single-image function on each image is faster (it partitions each bin only)
        return np.array([_orientation_one(gx[i], gy[i], min_pixels=min_pixels, bins=bins) for i in range(B)])
    mag = xp.sqrt(gx * gx + gy * gy).reshape(B, -1)
    angle = xp.mod(xp.arctan2(gy, gx), math.pi).reshape(B, -1)
    index = xp.clip(xp.floor(angle * (bins / math.pi)).astype(np.int64), 0, bins - 1)
    P = mag.shape[1]
    best = xp.full(B, math.inf, dtype=mag.dtype)
    for b in range(bins):
        inbin = index == b
        count = inbin.sum(axis=1)
        kth = max(P - min_pixels, 0)
        # the min_pixels-th largest of the bin: position P - min_pixels of the row with the others at -inf
        top = xp.partition(xp.where(inbin, mag, -math.inf), kth, axis=1)[:, kth]
        low = xp.where(inbin, mag, math.inf).min(axis=1)  # a bin of fewer pixels keeps them all
        value = xp.where(count >= min_pixels, top, low)
        best = xp.where(count > 0, xp.minimum(best, value), best)
    return best


def _gradients(x):
    """Xu & Jia's forward differences of every image, the wrap-around row/column zeroed."""
    gx, gy = st.dx(x), st.dy(x)
    gx[..., -1] = 0
    gy[..., -1, :] = 0
    return gx, gy


def _shock(images, iterations, dt, engine):
    """The shock filter of every image (:func:`classicdeblur.filters.shock_filter`; all engines compute it alike)."""
    xp = get_namespace(images)
    if _per_image(engine, images):
        return xp.stack([_shock_one(images[i], iterations=iterations, dt=dt, engine=engine)
                         for i in range(images.shape[0])])
    _, m, n = images.shape
    rows = xp.clip(xp.arange(-1, m + 1), 0, m - 1)
    cols = xp.clip(xp.arange(-1, n + 1), 0, n - 1)
    out = images.astype(np.float64, copy=True)
    for _ in range(iterations):
        p = out[:, rows][:, :, cols]
        c = p[:, 1:-1, 1:-1]
        up, down, left, right = p[:, :-2, 1:-1], p[:, 2:, 1:-1], p[:, 1:-1, :-2], p[:, 1:-1, 2:]
        lap = (up + down) + (left + right) - 4.0 * c
        gx = _reference._minmod(xp, right - c, c - left)
        gy = _reference._minmod(xp, down - c, c - up)
        out = c - xp.sign(lap) * xp.sqrt(gx * gx + gy * gy) * dt
    return out.astype(images.dtype, copy=False)


def _per_image(engine, like):
    """True when the filters must run image by image to match the single-image path (the ``numba`` engine)."""
    return resolve_engine(engine, like, stacklevel=3) == "numba"


def _rmap(gx, gy, window, engine):
    xp = get_namespace(gx)
    if _per_image(engine, gx):
        return xp.stack([_rmap_one(gx[i], gy[i], window=window, engine=engine) for i in range(gx.shape[0])])
    # the vectorised reference on the stack (box sums by cumulative sums along each image axis)
    half = window // 2

    def box(a, axis):
        m = a.shape[axis]
        c = xp.concatenate([xp.zeros_like(xp.take(a, [0], axis=axis)), xp.cumsum(a, axis=axis)], axis=axis)
        i = xp.arange(m)
        return xp.take(c, xp.minimum(i + half + 1, m), axis=axis) - xp.take(c, xp.maximum(i - half, 0), axis=axis)

    gx, gy = gx.astype(np.float64), gy.astype(np.float64)
    sx = box(box(gx, 1), 2)
    sy = box(box(gy, 1), 2)
    sm = box(box(xp.sqrt(gx * gx + gy * gy), 1), 2)
    return xp.sqrt(sx * sx + sy * sy) / (sm + _reference.RMAP_EPS)


def _bilateral(images, sigma_spatial, sigma_range, radius, engine):
    xp = get_namespace(images)
    if _per_image(engine, images):
        return xp.stack([_bilateral_one(images[i], sigma_spatial=sigma_spatial, sigma_range=sigma_range,
                                        radius=radius, engine=engine) for i in range(images.shape[0])])
    radius = math.ceil(2.0 * sigma_spatial) if radius is None else int(radius)
    weights = _reference.spatial_weights(sigma_spatial, radius)
    inv_two_var = 0.5 / (sigma_range * sigma_range)
    image = images.astype(np.float64, copy=False)
    _, m, n = image.shape
    r = radius
    padded = image[:, _reference._reflect_index(xp, -r, m + r, m)][:, :, _reference._reflect_index(xp, -r, n + r, n)]
    num = xp.zeros_like(image)
    den = xp.zeros_like(image)
    for a in range(2 * r + 1):
        for b in range(2 * r + 1):
            v = padded[:, a : a + m, b : b + n]
            d = v - image
            w = float(weights[a, b]) * xp.exp(-(d * d) * inv_two_var)
            num += w * v
            den += w
    return (num / den).astype(images.dtype, copy=False)


# --------------------------------------------------------------------------------------
# the batched alternation
# --------------------------------------------------------------------------------------


class StackState:
    """What the batched x- and k-steps see at one level (:class:`~.framework.LevelState` with a batch axis).

    ``y``, ``x`` are ``(B, m, n)``, ``k`` is ``(B, s, s)``; ``active`` is the
    ``(B,)`` mask of the images still iterating at this level.
    """

    def __init__(self, level, index, n_levels, y, x, k, active):
        self.level, self.index, self.n_levels = level, index, n_levels
        self.y, self.x, self.k, self.active = y, x, k, active
        self.iteration = 0

    @property
    def xp(self):
        return get_namespace(self.y)

    @property
    def finest(self):
        return self.index == self.n_levels - 1


def run_blind_stack(lum, estimator, size, *, max_levels=None):
    """The alternation of :func:`~.framework.run_blind` on a ``(B, M, N)`` stack of luminances.

    ``estimator`` is a batched estimator (x- and k-steps on stacks, the
    single-image estimator's parameters). Returns the kernels ``(B, s, s)``
    and a per-image history (the list of ``(level, iteration)`` of its
    alternations and ``kernel_change`` values), read back from the device once.
    """
    xp = get_namespace(lum)
    B = lum.shape[0]
    levels = schedule(lum.shape[1:3], size, max_levels=max_levels)
    k0 = estimator.init_kernel(levels[0].kernel_size, xp, lum.dtype)
    k = xp.broadcast_to(k0, (B,) + k0.shape).copy()
    x = None
    log = []  # (level, iteration, recorded mask, change, stop reason code) on the device
    for i, lv in enumerate(levels):
        y = resize_images(lum, lv.shape)
        x = y.copy() if x is None else resize_images(x, lv.shape)
        k = project_kernels(resize_kernels(k, lv.kernel_size), threshold=estimator.kernel_threshold,
                            min_component=estimator.min_component)
        state = StackState(lv, i, len(levels), y, x, k, xp.ones(B, dtype=bool))
        estimator.start_level(state)
        everyone = True  # no image has stopped at this level: no masking needed
        for it in range(estimator.iterations):
            state.iteration = it
            x_new = estimator.x_step(state)
            state.x = x_new if everyone else xp.where(_col(state.active), x_new, state.x)
            k_new = estimator.k_step(state)
            finite = xp.isfinite(k_new).all(axis=(1, 2))
            k_new = xp.where(_col(finite), k_new, state.k)
            k_new = project_kernels(k_new, threshold=estimator.kernel_threshold, min_component=estimator.min_component)
            k_new, shift = recenter_kernels(k_new)
            moved = state.active & finite & (shift != 0).any(axis=1)
            if bool(moved.any()):
                state.x = xp.where(_col(moved), shift_images(state.x, -shift), state.x)
                estimator.on_shift(state, shift, moved)
            change = st.norm(k_new - state.k) / xp.maximum(st.norm(state.k), 1e-12)
            ok = state.active & finite
            state.k = xp.where(_col(ok), k_new, state.k)
            stop = ok & (it + 1 >= estimator.min_iterations) & (change < estimator.tol)
            log.append((i, it, ok, change, state.active & ~finite))
            state.active = ok & ~stop
            everyone = False
            if not bool(state.active.any()):
                break
            everyone = bool(state.active.all())
        x, k = state.x, state.k
    history = [[] for _ in range(B)]
    if log:
        rec = backend.to_numpy(xp.stack([xp.stack([a.astype(change.dtype), change, bad.astype(change.dtype)])
                                         for _, _, a, change, bad in log]))
        for (lvl, it, *_), row in zip(log, rec):
            for b in np.flatnonzero(row[0]):
                history[b].append({"level": lvl, "iteration": it, "kernel_change": float(row[1, b])})
            for b in np.flatnonzero(row[2]):
                history[b].append({"level": lvl, "iteration": it, "stopped": "non-finite kernel"})
    return k, history, levels


class _XuStack:
    """Xu & Jia's x- and k-steps (:class:`~.xu2010.XuJiaEstimator`) on stacks, with its parameters."""

    def __init__(self, est):
        self.est = est
        for name in ("iterations", "min_iterations", "tol", "kernel_threshold", "min_component"):
            setattr(self, name, getattr(est, name))
        self.init_kernel = est.init_kernel
        self.level = None
        self.isd_iterations_used = None

    def start_level(self, state):
        e, xp = self.est, state.xp
        gxb, gyb = _gradients(state.y)
        r = _rmap(gxb, gyb, e.window, e.engine)
        P_I = state.y[0].size
        P_k = state.level.kernel_size**2
        mag = xp.sqrt(gxb * gxb + gyb * gyb)
        scale = r / xp.where(mag > 0, mag, 1)
        tau_r = orientation_thresholds(gxb * scale, gyb * scale, max(1, int(0.5 * math.sqrt(P_I * P_k))), 4)
        delta = _delta(state.y.shape[0], state.level.kernel_size, xp, state.y.dtype)
        self.level = {"gb": (gxb, gyb), "gb_spectra": (st.rfft2(gxb), st.rfft2(gyb)), "r": r, "tau_r": tau_r,
                      "tau_s": None,
                      "min_s": max(1, int(2 * math.sqrt(P_k))), "problem": PeriodicBlurStack(state.y, delta, "smooth"),
                      "selection": None, "stale": False, "used": None}

    def _select(self, x, tau_r, tau_s):
        e, lv = self.est, self.level
        ndi = get_ndimage(get_namespace(x))
        smooth = ndi.gaussian_filter(x, (0, e.sigma, e.sigma), mode="nearest") if e.sigma > 0 else x
        sharp = _shock(smooth, e.shock_iterations, e.shock_dt, e.engine)
        gx, gy = _gradients(sharp)
        mask = lv["r"] > _col(tau_r)  # Eq. 3
        if tau_s is None:
            tau_s = orientation_thresholds(gx * mask, gy * mask, lv["min_s"], 4)
            lv["tau_s"] = tau_s
        keep = mask & (gx * gx + gy * gy >= _col(tau_s * tau_s))  # Eq. 4
        lv["selection"], lv["stale"] = (gx * keep, gy * keep), False
        return gx * keep, gy * keep

    def on_shift(self, state, shift, moved):
        self.level["stale"] = True  # the selection was made on the image before re-centring

    def x_step(self, state):
        e, lv = self.est, self.level
        if lv["used"] is None:
            return state.x
        tau_r, tau_s = lv["used"]
        sx, sy = self._select(state.x, tau_r, tau_s) if lv["stale"] else lv["selection"]
        op = lv["problem"].with_kernel(state.k)
        latent = op.solve(e.lam, op.gradient_adjoint_spectrum(op.extend(sx), op.extend(sy)))  # Eq. 8
        lv["tau_r"], lv["tau_s"] = tau_r / e.decay, tau_s / e.decay
        return state.xp.ascontiguousarray(op.crop(latent))

    def k_step(self, state):
        e, lv, xp = self.est, self.level, state.xp
        sx, sy = self._select(state.x, lv["tau_r"], lv["tau_s"])
        lv["used"] = (lv["tau_r"], lv["tau_s"])
        gxb, gyb = lv["gb"]
        pairs = [(sx, gxb), (sy, gyb)]
        edges = (sx != 0).any(axis=(1, 2)) | (sy != 0).any(axis=(1, 2))
        k = st.fourier_kernel(pairs, state.level.kernel_size, e.gamma, spectra=lv["gb_spectra"])  # Eq. 6
        if state.finest and state.iteration == self.iterations - 1 and e.isd_iterations > 0:
            k0 = project_kernels(k, threshold=self.kernel_threshold, min_component=self.min_component)
            k = self._isd(pairs, k0)
        return xp.where(_col(edges), k, state.k)  # no edge selected: keep the kernel

    def _isd(self, pairs, k):
        """Phase 2 (iterative support detection) for every kernel; each stops on its own criterion."""
        e = self.est
        xp = get_namespace(k)
        system = KernelSystemStack(pairs, k.shape[1])
        active = xp.ones(k.shape[0], dtype=bool)
        used = xp.zeros(k.shape[0], dtype=xp.int64)
        for s in range(1, e.isd_iterations + 1):
            # S^s = {j : k^{s-1}_j > eps^{s-1}} (the first support from k^0, with s = 1 in Eq. 9), as in xu2010
            eps = _first_significant_jump(k, max(s - 1, 1))
            free = k > _col(eps)
            weight = xp.where(free, 0, e.isd_gamma / xp.maximum(xp.abs(k), 1e-5)).astype(k.dtype)
            k_new, _ = st.conjugate_gradient(lambda v: system.normal(v) + weight * v, system.rhs, k, maxiter=40,
                                             tol=1e-6)
            k_new = xp.maximum(k_new, 0)
            total = k_new.sum(axis=(1, 2))
            ok = active & (total > 0)
            k_new = k_new / _col(xp.where(ok, total, 1))
            change = st.norm(k_new - k) / xp.maximum(st.norm(k), 1e-12)
            k = xp.where(_col(ok), k_new, k)
            used = used + ok
            active = ok & ~(change <= e.isd_tol)
            if not bool(active.any()):
                break
        self.isd_iterations_used = used
        return k


def _first_significant_jump(k, iteration):
    """:func:`~.xu2010.first_significant_jump` of every kernel of a stack: ``(B,)``."""
    xp = get_namespace(k)
    B = k.shape[0]
    v = xp.sort(xp.abs(k).reshape(B, -1), axis=1)
    jump = v[:, -1] / (2 * k.shape[2] * max(int(iteration), 1))
    hit = (v[:, 1:] - v[:, :-1]) > jump[:, None]
    first = xp.argmax(hit, axis=1)
    return xp.where(hit.any(axis=1), v[xp.arange(B), first], v[:, -1])


class _AnwarStack(_XuStack):
    """Anwar et al.'s class-prior restoration after every latent-image step, on stacks."""

    def start_level(self, state):
        super().start_level(state)
        from .anwar2018 import _LevelPrior

        e = self.est
        self.class_level = None
        if e.prior is None or e.mu == 0:
            return
        xp = state.xp
        _, M, N = state.y.shape
        frame = (e.face_size if e.face_size else min(e.full_shape)) * state.level.scale
        lp = _LevelPrior(e.prior, (M, N), frame, xp)
        if not lp.active:
            return
        py, _ = _periodic_component(state.y.astype(xp.float64))
        Y = xp.fft.rfft2(py - _col(py.mean(axis=(1, 2))), axes=(-2, -1)) / (M * N)
        noise2 = _noise_sigma(state.y) ** 2 / (M * N)
        self.class_level = (lp, xp.abs(Y) ** 2, noise2)

    def _class_image(self, state, x):
        e = self.est
        lp, Ymag2, noise2 = self.class_level
        xp = state.xp
        B, M, N = state.y.shape
        K = xp.abs(st.psf2otf(state.k, (M, N)))
        pred2 = _predict(lp, Ymag2, K, noise2, e.coef_reg) ** 2
        px, sx = _periodic_component(x.astype(xp.float64))
        X = xp.fft.rfft2(px, axes=(-2, -1))
        mag2 = xp.abs(X / (M * N)) ** 2
        filt = xp.broadcast_to(1.0 - lp.coverage, X.shape)
        for H in lp.H:
            for sec in lp.sectors:
                w = H * sec
                g = xp.sqrt((w * pred2).sum(axis=(1, 2)) / xp.maximum((w * mag2).sum(axis=(1, 2)), 1e-30))
                filt = filt + w * _col(xp.clip(g, 1.0, e.gain))
        filt[:, 0, 0] = 1.0
        xc = xp.fft.irfft2(X * filt, s=(M, N), axes=(-2, -1)) + sx
        return xc.astype(state.y.dtype, copy=False)

    def x_step(self, state):
        x = super().x_step(state)
        if self.class_level is not None and self.level["used"] is not None:
            x = x + self.est.mu * (self._class_image(state, x) - x)
        return x


def _periodic_component(u):
    """:func:`~.anwar2018.periodic_component` of every image of a stack."""
    xp = get_namespace(u)
    _, M, N = u.shape
    v = xp.zeros_like(u)
    dr = u[:, -1, :] - u[:, 0, :]
    dc = u[:, :, -1] - u[:, :, 0]
    v[:, 0, :] += dr
    v[:, -1, :] -= dr
    v[:, :, 0] += dc
    v[:, :, -1] -= dc
    q = xp.arange(M, dtype=u.dtype)[:, None]
    r = xp.arange(N // 2 + 1, dtype=u.dtype)[None, :]
    den = 2 * xp.cos(2 * math.pi * q / M) + 2 * xp.cos(2 * math.pi * r / N) - 4
    den[0, 0] = 1.0
    S = st.rfft2(v) / den
    S[:, 0, 0] = 0
    s = st.irfft2(S, s=(M, N)).astype(u.dtype, copy=False)
    return u - s, s


def _noise_sigma(y):
    """:func:`~.anwar2018._noise_sigma` of every image: ``(B,)``."""
    xp = get_namespace(y)
    M, N = (y.shape[1] // 2) * 2, (y.shape[2] // 2) * 2
    d = (y[:, 0:M:2, 0:N:2] - y[:, 1:M:2, 0:N:2] - y[:, 0:M:2, 1:N:2] + y[:, 1:M:2, 1:N:2]) / 2
    return xp.median(xp.abs(d).reshape(y.shape[0], -1), axis=1) / 0.6745


def _predict(lp, Ymag2, Kmag, noise2, coef_reg):
    """:meth:`~.anwar2018._LevelPrior.predict` for every image (batched least squares, one per band)."""
    xp = get_namespace(Ymag2)
    B = Ymag2.shape[0]
    ymag = xp.sqrt(xp.maximum(Ymag2 - _col(noise2), 0))
    pred = xp.zeros(Ymag2.shape)
    flat_k = Kmag.reshape(B, -1)
    for idx, mu, U, wv, res, H in zip(lp.index, lp.mean, lp.basis, lp.weights, lp.residual, lp.H):
        obs = xp.ascontiguousarray((H * ymag).reshape(B, -1)[:, idx])
        k = xp.ascontiguousarray(flat_k[:, idx])
        # the design of each image laid out as the single-image code lays it out (Fortran order), so that
        # each product below is the BLAS call of the single-image code
        Dt = xp.concatenate([(k * mu.ravel()[idx])[:, :, None], (k[:, None] * U.reshape(U.shape[0], -1)[:, idx][None])
                             .swapaxes(1, 2)], axis=2)
        D = Dt.swapaxes(1, 2)
        w = wv * (res + noise2)[:, None] * coef_reg
        prior_mean = xp.zeros(D.shape[1])
        prior_mean[0] = 1.0
        G = D @ Dt + w[:, :, None] * xp.eye(D.shape[1])
        c = xp.linalg.solve(G, ((D @ obs[:, :, None])[:, :, 0] + w * prior_mean)[:, :, None])[:, :, 0]
        c = xp.ascontiguousarray(c)
        pred = pred + xp.maximum(_col(c[:, 0]) * mu + xp.matmul(c[:, None, 1:], U.reshape(U.shape[0], -1))
                                 .reshape(Ymag2.shape), 0)
    return pred


class _ChoStack:
    """Cho & Lee's x- and k-steps (:class:`~.cho2009.Cho2009`) on stacks, with its parameters."""

    def __init__(self, est):
        self.est = est
        for name in ("iterations", "min_iterations", "tol", "kernel_threshold", "min_component"):
            setattr(self, name, getattr(est, name))
        self.init_kernel = est.init_kernel

    def start_level(self, state):
        import scipy.fft

        xp = state.xp
        B, M, N = state.y.shape
        ks = state.k.shape[1]
        ph = min((scipy.fft.next_fast_len(M + 2 * ks) - M + 1) // 2, M)
        pw = min((scipy.fft.next_fast_len(N + 2 * ks) - N + 1) // 2, N)
        problem = PeriodicBlurStack(state.y, _delta(B, ks, xp, state.y.dtype), "smooth", widths=(ph, pw))

        def power(name):
            otf = grad_ops.filter_otf(name, problem.shape, xp, problem.dtype)
            return otf.real**2 + otf.imag**2

        from .cho2009 import DERIVATIVE_WEIGHTS as w

        regulariser = power("dx") + power("dy")
        delta = (w[0] + w[1] * (power("dx") + power("dy")) + w[2] * (power("dxx") + power("dxy") + power("dyy")))
        blurred = _blurred_pairs(state.y)  # the B_* of Eq. (5), fixed per level
        self.level = {"problem": problem, "regulariser": regulariser, "delta": delta,
                      "data": problem.y_spectrum * delta, "threshold": None,
                      "blurred": blurred, "spectra": KernelSystemStack.spectra_of(blurred, ks)}

    def on_shift(self, state, shift, moved):
        pass

    def x_step(self, state):
        if state.index == 0 and state.iteration == 0:
            return state.x
        lv = self.level
        op = lv["problem"].with_kernel(state.k)
        return op.crop(op.solve(self.est.alpha, data=lv["data"], data_weight=lv["delta"],
                                regulariser=lv["regulariser"]))

    def k_step(self, state):
        e, lv, xp = self.est, self.level, state.xp
        it = state.iteration
        scale = e.decay**it
        threshold = None
        if it == 0:
            min_pixels = max(1, round(e.r * math.sqrt(state.y[0].size * state.k[0].size)))
        else:
            min_pixels = None
            threshold = lv["threshold"] * e.decay
        p = _bilateral(state.x, e.sigma_spatial, e.sigma_range * scale, e.radius, e.engine)
        p = _shock(p, e.shock_iterations, e.dt * scale, e.engine)
        mask = _border(xp, p.shape[1:], p.dtype)
        gx, gy = st.dx(p) * mask, st.dy(p) * mask
        if threshold is None:
            threshold = orientation_thresholds(gx, gy, int(min_pixels), 4)
        keep = xp.sqrt(gx * gx + gy * gy) >= _col(threshold)
        lv["threshold"] = threshold
        system = KernelSystemStack(_kernel_pairs(gx * keep, gy * keep, lv["blurred"]), state.k.shape[1],
                                   spectra=lv["spectra"])  # Eq. (5)
        return system.solve_l2(e.beta, state.k, maxiter=e.cg_iterations)


def _border(xp, shape, dtype):
    m = xp.ones(shape, dtype=dtype)
    m[-2:, :] = 0
    m[:, -2:] = 0
    return m


def _blurred_pairs(blurred):
    """The blurred image's side of :func:`~.cho2009.kernel_pairs` for every image (fixed at a level)."""
    xp = get_namespace(blurred)
    mask = _border(xp, blurred.shape[1:], blurred.dtype)
    bx, by = st.dx(blurred), st.dy(blurred)
    dx, dy = st.dx, st.dy
    return [bx * mask, by * mask, dx(bx) * mask, dy(by) * mask, 0.5 * (dx(by) + dy(bx)) * mask]


def _kernel_pairs(px, py, blurred):
    """:func:`~.cho2009.kernel_pairs` of every image, with the blurred side from :func:`_blurred_pairs`."""
    from .cho2009 import DERIVATIVE_WEIGHTS as weights

    mask = _border(get_namespace(px), px.shape[1:], px.dtype)
    w1, w2 = float(weights[1]), float(weights[2])
    dx, dy = st.dx, st.dy
    parts = [px * mask, py * mask, dx(px) * mask, dy(py) * mask, 0.5 * (dx(py) + dy(px)) * mask]
    return [(p, b, w) for p, b, w in zip(parts, blurred, (w1, w1, w2, w2, w2))]


def _estimator(method, image, options, paper):
    """The single-image estimator of ``method`` (its parameters checked) and its batched steps."""
    if method == "xu2010":
        from .xu2010 import make_estimator

        return _XuStack(make_estimator(image, options, **paper))
    if method == "anwar2018":
        from .anwar2018 import make_estimator

        return _AnwarStack(make_estimator(image, options, **paper))
    from .cho2009 import Cho2009

    return _ChoStack(Cho2009(**paper, engine=options.engine))


def deblur_stack(images, method, *, kernel_size=None, workers=None, **params):
    """Blind deblurring of every image of a stack with one batched alternation.

    Parameters
    ----------
    images : ndarray of shape (B, M, N) or (B, M, N, C)
        Float images in [0, 1], NumPy or CuPy (checked by the caller,
        :func:`classicdeblur.deblur_batch`).
    method : {"xu2010", "anwar2018", "cho2009"}
    kernel_size : int, optional
        Odd kernel size (the method's default otherwise).
    workers : int, optional
        CPU threads, each running the batched alternation on a chunk of the
        images (default 1; on a GPU one batch already fills the device).
        Results do not depend on it.
    **params
        The method's parameters and shared keywords (``final``,
        ``final_params``, ``engine``; ``face_box="whole"`` is accepted for
        ``anwar2018``, whose prior does not depend on the face's position).

    Returns
    -------
    images : ndarray
        The restored stack (same shape, on the input's device).
    kernels : ndarray of shape (B, s, s)
        The estimated kernels (on the input's device).
    infos : list of dict
        Per image: ``kernel_size``, ``levels``, ``iterations``, ``history``,
        ``final``, ``batch`` (the batch size) and the batch's ``timings``.

    Raises
    ------
    InvalidParameterError
        A method without a batched alternation, unknown parameters, or
        keywords the batch does not handle (pixel screening, face guidance).
    """
    if method not in BATCHED:
        raise InvalidParameterError(f"no batched alternation for {method!r}; batched methods: {', '.join(BATCHED)}")
    fn = registry().get(method)
    params = dict(params)
    if params.get("face_box") == "whole" and method == "anwar2018":
        params.pop("face_box")
    options, paper = fn.split(params)
    if options.pixel_screening or options.face_guided or options.face_box is not None or \
            getattr(options, "edge_predictor", None) is not None:
        raise InvalidParameterError("batched deblurring does not do pixel screening, face guidance, face boxes or "
                                    "edge predictors; deblur those images one by one")
    paper = {**fn.paper_defaults, **paper}
    xp = get_namespace(images)
    B = images.shape[0]
    size = default_kernel_size(images.shape[1:3], kernel_size)
    _estimator(method, images[0], options, paper)  # the parameters checked before any work
    if workers is None:
        workers = 1
    workers = max(1, min(int(workers), B))
    if workers == 1:
        return _deblur_chunk(images, method, options, paper, size)
    # CPU: the images in ``workers`` chunks, each a batched alternation in its own thread (NumPy, SciPy's FFT
    # and Numba's engines release the GIL in their loops); the chunks are independent, so the results are those
    # of one batch
    from concurrent.futures import ThreadPoolExecutor

    chunks = [c for c in np.array_split(np.arange(B), workers) if c.size]
    with ThreadPoolExecutor(workers) as pool:
        parts = list(pool.map(lambda c: _deblur_chunk(images[c[0] : c[-1] + 1], method, options, paper, size),
                              chunks))
    infos = [info for part in parts for info in part[2]]
    for info in infos:
        info["batch"] = B
    return xp.concatenate([p[0] for p in parts]), xp.concatenate([p[1] for p in parts]), infos


def _deblur_chunk(images, method, options, paper, size):
    """:func:`deblur_stack` of one chunk of images (one batched alternation)."""
    xp = get_namespace(images)
    B = images.shape[0]
    t0 = time.perf_counter()
    lum = xp.stack([gray(images[i]) for i in range(B)]) if images.ndim == 4 else images
    estimator = _estimator(method, images[0], options, paper)
    stds = backend.to_numpy(lum.std(axis=(1, 2)))
    edges = np.flatnonzero(stds >= FLAT_STD)
    kernels = _delta(B, size, xp, lum.dtype)
    histories = [[] for _ in range(B)]
    levels = []
    if edges.size:
        run = backend.asarray_on(xp, edges) if edges.size < B else slice(None)
        k, hist, levels = run_blind_stack(lum[run], estimator, size)
        if edges.size < B:
            kernels[run] = k
            for j, b in enumerate(edges):
                histories[b] = hist[j]
        else:
            kernels, histories = k, hist
    t_est = time.perf_counter()
    final = options.final
    if images.ndim == 3:
        restored = deconvolve_stack(images, kernels, final.method, **final.params)
    else:
        restored = xp.stack([deconvolve_stack(xp.ascontiguousarray(images[..., c]), kernels, final.method,
                                              **final.params) for c in range(images.shape[3])], axis=-1)
    flat = np.flatnonzero(stds < FLAT_STD)
    if flat.size:  # flat images come back as they are, with a delta kernel (as framework.flat_result)
        sel = backend.asarray_on(xp, flat)
        restored[sel] = images[sel]
    t_end = time.perf_counter()
    timings = {"estimate": t_est - t0, "final": t_end - t_est, "total": t_end - t0}
    isd = getattr(estimator, "isd_iterations_used", None)
    isd = backend.to_numpy(isd) if isd is not None else None
    infos = []
    flat_set, edge_pos = set(flat.tolist()), {int(b): j for j, b in enumerate(edges)}
    for b in range(B):
        hist = histories[b]
        info = {"kernel_size": size, "levels": [(lv.shape, lv.kernel_size) for lv in levels],
                "iterations": sum(1 for h in hist if "kernel_change" in h), "history": hist, "final": final.method,
                "batch": B, "timings": timings}
        if b in flat_set:
            info.update(levels=[], warning="flat image: no edges to estimate a kernel from")
        if isd is not None and b in edge_pos:
            info["isd_iterations"] = int(isd[edge_pos[b]])
        infos.append(info)
    return restored, kernels, infos
