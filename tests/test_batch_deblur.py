"""Batched blind deblurring (``classicdeblur.deblur_batch``, ``classicdeblur.blind.batched``).

Each face of a batch must get what ``deblur`` gives it alone: bit for bit on
NumPy (the batched steps perform each image's floating-point operations in
the single-image order), on the CPU path (per-image engines and helpers) and
on the CuPy stand-in (the device path: every helper batched), with its
transfers independent of the iteration count. The speed-up is measured by
``benchmarks/batched.py``, not here.
"""

from __future__ import annotations

import numpy as np
import pytest

import classicdeblur as cd
import cupy_standin as cs
from classicdeblur.blind import batched
from classicdeblur.blind.constraints import project_kernel, recenter, shift_image
from classicdeblur.blind.cho2009 import Cho2009
from classicdeblur.degrade import degrade
from classicdeblur.errors import InvalidKernelError, InvalidParameterError
from classicdeblur.filters import orientation_threshold
from classicdeblur.operators import gradients, stack
from classicdeblur.operators.cg import conjugate_gradient
from classicdeblur.operators.functional import wrap_pad
from classicdeblur.operators.kernel import KernelSystem, fourier_kernel
from classicdeblur.operators.periodic import PeriodicBlur
from classicdeblur.solvers.nonblind import deconvolve
from classicdeblur.solvers.stack import deconvolve_stack

KERNELS = ["motion:length=7,angle=20", "motion:length=5,angle=80", "gaussian:sigma=1.2", "motion:length=9,angle=135"]


@pytest.fixture(scope="module")
def faces(face):
    """Four different 64x64 blurred face crops (a batch)."""
    crops = [face[16:80, 16:80], face[10:74, 20:84], face[30:94, 5:69], face[::-1][16:80, 16:80]]
    return np.stack([degrade(np.ascontiguousarray(c), cd.resolve_kernel(k), rng=i)
                     for i, (c, k) in enumerate(zip(crops, KERNELS))])


def _extra(method):
    return {"face_box": "whole"} if method == "anwar2018" else {}


def _same(results, singles):
    for r, s in zip(results, singles):
        np.testing.assert_array_equal(cd.backend.to_numpy(r.image), s.image)
        np.testing.assert_array_equal(r.kernel, s.kernel)
        assert r.info["iterations"] == s.info["iterations"]


@pytest.mark.parametrize("method", batched.BATCHED)
def test_batch_equals_one_by_one(method, faces):
    singles = [cd.deblur(y, method, kernel_size=9, **_extra(method)) for y in faces]
    res = cd.deblur_batch(faces, method, kernel_size=9, **_extra(method))
    assert len(res) == len(faces) and all(r.info["batched"] and r.info["batch"] == 4 for r in res)
    _same(res, singles)
    # threads over chunks of the batch: the same results
    _same(cd.deblur_batch(list(faces), method, kernel_size=9, workers=2, **_extra(method)), singles)


def test_per_image_early_stop(faces, monkeypatch):
    """Images stop their levels at different iterations (a looser tolerance) and still match."""
    monkeypatch.setattr(Cho2009, "tol", 0.05)
    singles = [cd.deblur(y, "cho2009", kernel_size=9) for y in faces]
    counts = {s.info["iterations"] for s in singles}
    assert len(counts) > 1 and max(counts) < 28  # some levels stopped early, not all alike
    _same(cd.deblur_batch(faces, "cho2009", kernel_size=9), singles)


def test_flat_image_in_a_batch(faces):
    stack_ = np.concatenate([faces[:2], np.full((1, 64, 64), 0.4)])
    res = cd.deblur_batch(stack_, "xu2010", kernel_size=9)
    assert np.array_equal(res[2].image, stack_[2]) and res[2].kernel[4, 4] == 1
    assert "warning" in res[2].info
    _same(res[:2], [cd.deblur(y, "xu2010", kernel_size=9) for y in faces[:2]])


def test_colour_batch(face_rgb):
    ys = np.stack([degrade(face_rgb, cd.resolve_kernel(k), rng=i) for i, k in enumerate(KERNELS[:2])])
    res = cd.deblur_batch(ys, "xu2010", kernel_size=7)
    for r, y in zip(res, ys):
        one = cd.deblur(y, "xu2010", kernel_size=7)
        np.testing.assert_array_equal(r.kernel, one.kernel)  # estimated on the luminance: identical
        # the final step restores the channels as a stack each: rounding in the border band only
        assert r.image.shape == y.shape and np.abs(r.image - one.image).max() <= 1e-5


def test_unbatched_methods_run_image_by_image(faces):
    res = cd.deblur_batch(faces[:2], "krishnan2011", kernel_size=9, iterations=2)
    assert not res[0].info["batched"]
    _same(res, [cd.deblur(y, "krishnan2011", kernel_size=9, iterations=2) for y in faces[:2]])


def test_batch_refusals(faces):
    with pytest.raises(InvalidParameterError, match="pixel screening"):
        cd.deblur_batch(faces, "xu2010", kernel_size=9, pixel_screening=True)
    with pytest.raises(InvalidParameterError, match="has no parameter 'magic'"):
        cd.deblur_batch(faces, "xu2010", magic=1)
    with pytest.raises(InvalidKernelError, match="not available|or None in a batch"):
        cd.deblur_batch(faces, "xu2010", kernel_size="auto")
    with pytest.raises(ValueError, match="one shape"):
        cd.deblur_batch([faces[0], faces[0][:60]], "xu2010")
    with pytest.raises(ValueError, match="stack"):
        cd.deblur_batch(faces[0], "xu2010")
    with pytest.raises(InvalidParameterError, match="no batched alternation"):
        batched.deblur_stack(faces, "krishnan2011")


# --------------------------------------------------------------------------------------
# the device path, on the CuPy stand-in
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", batched.BATCHED)
def test_batch_on_the_standin(method, faces):
    """Every helper batched (no per-image CPU shortcut), equal to NumPy; transfers do not grow with iterations."""
    ref = [cd.deblur(y, method, kernel_size=9, engine="numpy", iterations=2, **_extra(method)) for y in faces[:3]]
    with cs.installed() as xp:
        x = xp.asarray(faces[:3])

        def run(n):
            gradients._otf_cached.cache_clear()
            cs.COUNTS.reset()
            out = cd.deblur_batch(x, method, kernel_size=9, engine="numpy", iterations=n, **_extra(method))
            return out, cs.COUNTS.snapshot(), cs.COUNTS.report()

        res, c2, _ = run(2)
        assert all(type(r.image) is cs.ndarray and r.info["device"] == "gpu" for r in res)
        _same(res, ref)
        _, c8, report = run(8)
    assert c8["transfers"] == c2["transfers"], report
    print(f"\nbatched {method} (3 images): 2 iterations {c2}; 8 iterations {c8}")


# --------------------------------------------------------------------------------------
# the batched building blocks against their single-image twins
# --------------------------------------------------------------------------------------


def test_stack_operators_match_single(rng):
    y = rng.random((3, 30, 34))
    k = rng.random((3, 7, 7))
    k /= k.sum(axis=(1, 2), keepdims=True)
    np.testing.assert_array_equal(stack.dx(y)[1], gradients.dx(y[1]))
    np.testing.assert_array_equal(stack.divergence(y, y[:, ::-1])[2], gradients.divergence(y[2], y[2][::-1]))
    np.testing.assert_array_equal(stack.wrap_pad(y, (6, 5))[0], wrap_pad(y[0], (6, 5)))
    for boundary in ("smooth", "circular"):
        p = stack.PeriodicBlurStack(y, k, boundary)
        for i in range(3):
            one = PeriodicBlur(y[i], k[i], boundary)
            np.testing.assert_array_equal(p.solve(1e-2)[i], one.solve(1e-2))
            np.testing.assert_array_equal(p.A(p.y)[i], one.A(one.y))
    pairs = [(stack.dx(y), stack.dx(y[:, ::-1])), (stack.dy(y), stack.dy(y[:, ::-1]))]
    system = stack.KernelSystemStack(pairs, 7)
    x, used = stack.conjugate_gradient(lambda v: system.normal(v) + 0.1 * v, system.rhs, k, maxiter=30)
    for i in range(3):
        one_pairs = [(a[i], b[i]) for a, b in pairs]
        np.testing.assert_array_equal(stack.fourier_kernel(pairs, 7, 1.0)[i], fourier_kernel(one_pairs, 7, 1.0))
        one = KernelSystem(one_pairs, 7)
        ref, it = conjugate_gradient(lambda v: one.normal(v) + 0.1 * v, one.rhs, k[i], maxiter=30)
        np.testing.assert_array_equal(x[i], ref)
        assert int(used[i]) == it
    with pytest.raises(ValueError, match="not available on stacks"):
        stack.PeriodicBlurStack(y, k, "edgetaper")


def test_stack_deconvolution_matches_single(rng):
    y = rng.random((3, 24, 28))
    k = rng.random((3, 5, 5))
    for method in ("tv_l1", "hyper_laplacian", "wiener", "tikhonov", "richardson_lucy"):
        params = {"iterations": 3} if method == "richardson_lucy" else {}
        out = deconvolve_stack(y, k, method, **params)
        for i in range(3):
            np.testing.assert_array_equal(out[i], deconvolve(y[i], k[i], method=method, **params))


def test_kernel_constraints_match_single(rng):
    K = rng.standard_normal((40, 9, 9)) * (rng.random((40, 9, 9)) > 0.6)
    P = batched.project_kernels(K)
    R, shifts = batched.recenter_kernels(P)
    x = rng.random((40, 12, 12))
    X = batched.shift_images(x, -shifts)
    for i in range(40):
        p = project_kernel(K[i])
        np.testing.assert_array_equal(P[i], p)
        r, s = recenter(p)
        np.testing.assert_array_equal(R[i], r)
        assert tuple(int(v) for v in shifts[i]) == s
        np.testing.assert_array_equal(X[i], shift_image(x[i], (-s[0], -s[1])))
    g = rng.standard_normal((2, 3, 30, 30))
    with cs.installed() as xp:  # the device version (the CPU one calls the single-image function)
        t = batched.orientation_thresholds(xp.asarray(g[0]), xp.asarray(g[1]), 40, 4).get()
    for i in range(3):
        assert t[i] == orientation_threshold(g[0, i], g[1, i], min_pixels=40, bins=4)
