"""The shared coarse-to-fine framework: constraints, pyramid, k-step solvers, run_blind."""

import numpy as np
import pytest

import classicdeblur as cd
from classicdeblur.blind.constraints import project_kernel, recenter, shift_image
from classicdeblur.blind.framework import Estimator, default_kernel_size, gradient_pairs, run_blind
from classicdeblur.blind.pyramid import resize, resize_kernel, schedule
from classicdeblur.degrade import degrade
from classicdeblur.errors import InvalidKernelError
from classicdeblur.metrics import kernel_similarity
from classicdeblur.operators import convolve
from classicdeblur.operators.kernel import GradientDataTerm, KernelSystem, fourier_kernel


# ------------------------------------------------------------------ constraints


@pytest.mark.parametrize("seed", range(5))
def test_project_kernel_properties(seed):
    rng = np.random.default_rng(seed)
    k = rng.normal(size=(9, 9))
    p = project_kernel(k)
    assert p.min() >= 0 and np.isclose(p.sum(), 1)
    assert (p[p > 0] >= 0.05 * p.max() - 1e-12).all()


def test_project_kernel_drops_small_components_and_handles_empty():
    k = np.zeros((9, 9))
    k[4, 2:7] = 1.0
    k[0, 0] = 0.3  # isolated, 0.3 / 5.3 < 0.1 of the mass
    p = project_kernel(k)
    assert p[0, 0] == 0 and np.isclose(p[4, 2:7].sum(), 1)
    empty = project_kernel(-np.ones((5, 5)))
    assert empty[2, 2] == 1 and empty.sum() == 1


def test_recenter_keeps_the_product():
    rng = np.random.default_rng(0)
    x = rng.random((40, 40))
    k = np.zeros((9, 9))
    k[1, 5:8] = [0.2, 0.5, 0.3]
    c, (dy, dx) = recenter(k)
    assert (dy, dx) == (3, -2)
    r, s = np.array(np.nonzero(c)).mean(axis=1), np.array(np.nonzero(c))
    assert np.allclose(r, [4, 4], atol=0.5) and s.size
    before = convolve(x, k, boundary="circular")
    after = convolve(np.roll(x, (-dy, -dx), axis=(0, 1)), c, boundary="circular")
    np.testing.assert_allclose(before, after, atol=1e-12)
    assert shift_image(x, (0, 0)) is not None and np.array_equal(shift_image(x, (0, 0)), x)


# ------------------------------------------------------------------ pyramid


def test_schedule_is_coarse_to_fine_and_odd():
    levels = schedule((256, 200), 27)
    sizes = [lv.kernel_size for lv in levels]
    assert sizes[0] == 3 and sizes[-1] == 27 and sizes == sorted(sizes)
    assert all(s % 2 for s in sizes) and levels[-1].shape == (256, 200)
    assert schedule((64, 64), 3) == schedule((64, 64), 3)[:1]


def test_resize_and_resize_kernel():
    img = np.random.default_rng(0).random((50, 60))
    small = resize(img, (25, 30))
    assert small.shape == (25, 30) and abs(small.mean() - img.mean()) < 0.01
    k = np.zeros((7, 7))
    k[3, :] = 1 / 7
    for size in (3, 11, 15):
        r = resize_kernel(k, size)
        assert r.shape == (size, size) and np.isclose(r.sum(), 1) and r.min() >= 0
        c, half = size // 2, -(-size // 7)  # a 1-px line magnified by size/7 spans about that many rows
        assert r[max(c - half, 0) : c + half + 1].sum() > 0.99  # still a horizontal line


# ------------------------------------------------------------------ k-step


def _explicit_matrix(x, size):
    """A[p, j] of the zero-padded linear model k -> k * x (all output pixels of the full convolution)."""
    h = size // 2
    xp = np.pad(x, 2 * h)
    M, N = x.shape
    rows = []
    for j in range(size * size):
        e = np.zeros((size, size))
        e.flat[j] = 1
        full = convolve(xp, e, boundary="circular", method="direct")
        rows.append(full.ravel())
    return np.array(rows).T


def test_kernel_system_matches_explicit_normal_equations():
    rng = np.random.default_rng(1)
    x, y = rng.random((12, 11)), rng.random((12, 11))
    size = 5
    S = KernelSystem([(x, y, 2.0)], size)
    A = _explicit_matrix(x, size)
    yp = np.pad(y, 2 * (size // 2)).ravel()
    k = rng.random((size, size))
    np.testing.assert_allclose(S.normal(k).ravel(), 2.0 * A.T @ (A @ k.ravel()), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(S.rhs.ravel(), 2.0 * A.T @ yp, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(S.data_term(k), 2.0 * np.sum((A @ k.ravel() - yp) ** 2), rtol=1e-9)


def test_kernel_system_normal_is_self_adjoint():
    rng = np.random.default_rng(2)
    S = KernelSystem(gradient_pairs(rng.random((30, 30)), rng.random((30, 30))), 7)
    a, b = rng.random((7, 7)), rng.random((7, 7))
    assert np.isclose(np.vdot(S.normal(a), b), np.vdot(a, S.normal(b)))


def test_kstep_recovers_a_kernel_from_the_true_image(face):
    k = cd.resolve_kernel("motion:length=9,angle=30")
    y = degrade(face, k, rng=0)
    S = KernelSystem(gradient_pairs(face, y), k.shape[0])
    l2 = project_kernel(S.solve_l2(1e-3))
    l1 = project_kernel(S.solve_l1(1e-3))
    four = project_kernel(fourier_kernel(gradient_pairs(face, y), k.shape[0], 1e-2))
    # measured 0.99, 0.99 and 0.97
    assert kernel_similarity(l2, k) > 0.97
    assert kernel_similarity(l1, k) > 0.97
    assert kernel_similarity(four, k) > 0.95


# ------------------------------------------------------------------ run_blind


class _Oracle(Estimator):
    """x-step returns the (resampled) sharp image; records each kernel it is given."""

    iterations = 4

    def __init__(self, sharp, noise=0.0):
        self.sharp, self.noise, self.seen = sharp, noise, []

    def x_step(self, state):
        self.seen.append(state.k.copy())
        return resize(self.sharp, state.level.shape)

    def k_step(self, state):
        k = KernelSystem(gradient_pairs(state.x, state.y), state.level.kernel_size).solve_l2(1e-3, state.k)
        # a deliberately bad raw estimate: negative values and noise the constraints must remove
        return k + self.noise * state.rng.normal(size=k.shape)


def test_run_blind_recovers_kernel_with_an_oracle_x_step(face):
    k = cd.resolve_kernel("motion:length=9,angle=30")
    y = degrade(face, k, rng=0)
    out, est, info = run_blind(y, _Oracle(face), kernel_size=11)
    assert est.shape == (11, 11)
    assert kernel_similarity(est, k) > 0.95  # measured 0.98
    assert info["levels"][-1] == ((96, 96), 11) and info["iterations"] == len(info["history"])
    assert set(info["timings"]) >= {"x_step", "k_step", "final", "total"}
    mse = lambda a: np.mean((a - face) ** 2)  # noqa: E731
    assert mse(out) < mse(y) / 2


def test_constraints_hold_after_every_k_step(face):
    k = cd.resolve_kernel("motion:length=7,angle=0")
    oracle = _Oracle(face, noise=0.02)
    _, final, _ = run_blind(degrade(face, k, rng=1), oracle, kernel_size=9, rng=0)
    kernels = oracle.seen[1:] + [final]
    assert len(kernels) > 5
    for kk in kernels:
        assert kk.min() >= 0 and np.isclose(kk.sum(), 1)
        assert (kk[kk > 0] >= 0.05 * kk.max() - 1e-12).all()
        yy, xx = np.nonzero(kk)
        c = kk.shape[0] // 2
        w = kk[yy, xx]
        assert abs((yy * w).sum() - c) <= 0.5 + 1e-9 and abs((xx * w).sum() - c) <= 0.5 + 1e-9


def test_run_blind_colour_flat_and_seed(face_rgb):
    k = cd.resolve_kernel("motion:length=5,angle=45")
    y = degrade(face_rgb, k, rng=0)
    gray = face_rgb.mean(axis=2)
    a = run_blind(y, _Oracle(gray, noise=0.01), kernel_size=7, rng=3)
    b = run_blind(y, _Oracle(gray, noise=0.01), kernel_size=7, rng=3)
    assert a[0].shape == y.shape and np.array_equal(a[1], b[1]) and np.array_equal(a[0], b[0])
    flat_img, flat_k, info = run_blind(np.full((40, 40), 0.5), _Oracle(gray), kernel_size=7)
    assert np.all(flat_img == 0.5) and flat_k[3, 3] == 1 and "flat image" in info["warning"]


def test_kernel_size_rules():
    assert default_kernel_size((256, 256)) == 31 and default_kernel_size((40, 40)) == 9
    with pytest.raises(InvalidKernelError, match="odd"):
        default_kernel_size((64, 64), 8)
    with pytest.raises(InvalidKernelError, match="larger than the image"):
        default_kernel_size((20, 20), 31)


@pytest.mark.parametrize("shape", [(20, 17), (16, 16)])
def test_history_data_term_equals_the_gradient_residual(shape):
    from classicdeblur.operators import gradients

    rng = np.random.default_rng(0)
    x, y, k = rng.random(shape), rng.random(shape), rng.random((5, 5))
    ref = sum(((convolve(f(x), k, boundary="circular") - f(y)) ** 2).sum() for f in (gradients.dx, gradients.dy))
    assert np.isclose(GradientDataTerm(y)(x, k), ref)


def test_on_shift_reports_the_recentring(face):
    class OffCentre(Estimator):
        iterations, min_iterations = 1, 1

        def __init__(self):
            self.shifts = []

        def x_step(self, state):
            return state.y

        def k_step(self, state):
            k = np.zeros_like(state.k)
            k[0, state.level.kernel_size // 2] = 1  # a delta at the top edge: re-centring moves it down
            return k

        def on_shift(self, state, shift):
            self.shifts.append((state.level.kernel_size, shift))

    est = OffCentre()
    _, k, _ = run_blind(face, est, kernel_size=7, max_levels=2)
    assert k[3, 3] == 1
    assert est.shifts == [(size, (size // 2, 0)) for size, _ in est.shifts] and len(est.shifts) == 2
