"""Shan, Jia & Agarwala (2008): the per-pixel Psi step, the L-step and the blind method."""

import numpy as np
import pytest

import classicdeblur as cd
from classicdeblur.blind.shan2008 import (
    PRIOR_CONSTANTS,
    latent_step,
    phi,
    shan2008,
    smooth_mask,
    update_psi,
)
from classicdeblur.degrade import degrade
from classicdeblur.metrics import kernel_similarity, shift_psnr

# ------------------------------------------------------------------ building blocks


def test_phi_is_the_continuous_two_piece_fit_of_eq5():
    k, a, b, lt = PRIOR_CONSTANTS
    assert (k, a, b, lt) == (2.7, 6.1e-4, 5.0, 1.852)
    x = np.array([-300.0, -lt, -1.0, 0.0, 1.0, lt, 300.0])
    out = phi(x)
    assert out[3] == 0 and np.allclose(out, out[::-1])  # even, 0 at 0
    assert np.isclose(out[2], -k) and np.isclose(out[0], -(a * 300.0**2 + b))
    assert abs(phi(np.array([lt - 1e-9]))[0] - phi(np.array([lt + 1e-9]))[0]) < 0.01  # continuous at l_t


@pytest.mark.parametrize("lam1, lam2, gamma", [(0.5, 20.0, 2.0), (50.0, 0.0, 4.0), (2e3, 25.0, 64.0), (2e3, 5.0, 1.0)])
def test_update_psi_is_the_global_minimiser_of_eq9(lam1, lam2, gamma):
    rng = np.random.default_rng(0)
    dl = rng.normal(scale=15, size=200)
    di = dl + rng.normal(scale=5, size=200)
    mask = (rng.random(200) < 0.5).astype(float)
    psi = update_psi(dl, di, mask, lam1, lam2, gamma)
    grid = np.linspace(-100, 100, 40001)[None, :]

    def energy(v):
        return lam1 * np.abs(phi(v)) + lam2 * mask[:, None] * (v - di[:, None]) ** 2 + gamma * (v - dl[:, None]) ** 2

    brute = energy(grid).min(axis=1)
    ours = energy(psi[:, None])[:, 0]
    assert (ours <= brute + 1e-6 * (1 + brute)).all()


def test_update_psi_runs_on_cupy_like_inputs_without_python_loops(xp):
    dl = xp.asarray(np.linspace(-10, 10, 21))
    out = update_psi(dl, xp.zeros(21), xp.zeros(21), 1.0, 0.0, 2.0)
    assert out.shape == dl.shape and type(out) is type(dl)


def test_smooth_mask_marks_flat_regions():
    img = np.zeros((20, 20))
    img[:, 10:] = 1.0
    m = smooth_mask(img, 5, 5 / 255)
    assert m[:, :7].all() and not m[:, 8:12].any() and m[:, 13:].all()


def test_latent_step_with_the_true_kernel_deblurs(face):
    k = cd.resolve_kernel("motion:length=9,angle=30")
    y = degrade(face, k, rng=0)
    x = np.clip(latent_step(y, k, lambda1=2e3, lambda2=25.0, inner=14), 0, 1)
    assert shift_psnr(face, x, max_shift=5).value > shift_psnr(face, y, max_shift=5).value + 2


# ------------------------------------------------------------------ the blind method


@pytest.fixture(scope="module")
def blurred(face):
    k = cd.resolve_kernel("motion:length=9,angle=30")
    return degrade(face, k, rng=0), k


def test_recovers_a_motion_kernel(face, blurred):
    y, k = blurred
    out, est, info = shan2008(y, kernel_size=k.shape[0])
    assert est.shape == k.shape and np.isclose(est.sum(), 1) and est.min() >= 0
    # measured: kernel similarity 0.913, PSNR 26.60 dB (blurred input 22.03 dB)
    assert kernel_similarity(est, k) > 0.88
    assert shift_psnr(face, out, max_shift=5).value > 26.0
    assert info["iterations"] > 0 and info["timings"]["total"] > 0


def test_same_seed_same_result(blurred):
    y, k = blurred
    a = cd.deblur(y, "shan2008", kernel_size=k.shape[0], rng=3, device="cpu", iterations=2)
    b = cd.deblur(y, "shan2008", kernel_size=k.shape[0], rng=3, device="cpu", iterations=2)
    np.testing.assert_array_equal(a.kernel, b.kernel)
    np.testing.assert_array_equal(a.image, b.image)


def test_colour_input_gives_colour_output(face_rgb):
    k = cd.resolve_kernel("motion:length=7,angle=0")
    y = degrade(face_rgb, k, rng=0)
    out, est, _ = shan2008(y, kernel_size=9, iterations=2)
    assert out.shape == y.shape and out.dtype == y.dtype
    assert np.isfinite(out).all() and 0 <= out.min() and out.max() <= 1
    assert est.shape == (9, 9) and np.isclose(est.sum(), 1)


def test_sharp_and_flat_inputs_are_finite(face):
    out, est, _ = shan2008(face, kernel_size=7, iterations=2)
    assert np.isfinite(out).all() and np.isfinite(est).all() and np.isclose(est.sum(), 1)
    flat = np.full((48, 48), 0.4)
    out, est, info = shan2008(flat, kernel_size=7)
    assert np.allclose(out, flat) and est[3, 3] == 1 and "warning" in info


@pytest.mark.parametrize(
    "params",
    [
        {"lambda1": 0},
        {"lambda1": float("nan")},
        {"lambda2": -1},
        {"kappa1": 0.5},
        {"kappa2": float("inf")},
        {"gamma": -2},
        {"inner": 0},
        {"inner": 2.5},
        {"threshold": -0.1},
        {"window": 0},
        {"kernel_l1": -1},
        {"iterations": 0},
        {"iterations": True},
        {"final": "magic"},
        {"final_params": {"bogus": 1}},
        {"engine": "gpu"},
    ],
)
def test_invalid_parameters_raise(params):
    with pytest.raises(ValueError):
        shan2008(np.zeros((32, 32)) + 0.5, kernel_size=5, **params)


# ------------------------------------------------------------------ the shared keywords


@pytest.fixture(scope="module")
def small(face):
    return degrade(face[:48, :48], cd.resolve_kernel("motion:length=5,angle=0"), rng=0)


def test_default_final_is_hyper_laplacian_with_lam_1e3(small):
    from classicdeblur.solvers.nonblind import deconvolve

    out, k, info = shan2008(small, kernel_size=5, iterations=1, inner=4)
    assert info["final"] == "hyper_laplacian"
    np.testing.assert_array_equal(out, deconvolve(small, k, method="hyper_laplacian", lam=1e3))


def test_old_final_lam_still_works_with_a_deprecation_warning(small):
    from classicdeblur.solvers.nonblind import deconvolve

    with pytest.warns(DeprecationWarning, match="final_lam"):
        out, k, _ = shan2008(small, kernel_size=5, iterations=1, inner=4, final_lam=500.0)
    np.testing.assert_array_equal(out, deconvolve(small, k, method="hyper_laplacian", lam=500.0))


def test_target_is_restored_with_the_estimated_kernel(small):
    from classicdeblur.solvers.nonblind import deconvolve

    photo = np.pad(small, 8, mode="edge")
    out, k, _ = shan2008(small, kernel_size=5, iterations=1, inner=4, final="wiener", target=photo)
    assert out.shape == photo.shape
    np.testing.assert_array_equal(out, deconvolve(photo, k, method="wiener"))
