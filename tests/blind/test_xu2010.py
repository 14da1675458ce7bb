"""Xu & Jia 2010 two-phase kernel estimation (classicdeblur.blind.xu2010)."""

import numpy as np
import pytest

import classicdeblur as cd
from classicdeblur import metrics
from classicdeblur.backend import to_numpy
from classicdeblur.blind.xu2010 import first_significant_jump, xu2010
from classicdeblur.solvers.fourier import tv_l1
from classicdeblur.degrade import degrade
from classicdeblur.operators.functional import convolve


@pytest.fixture(scope="module")
def blurred_face(face):
    k = cd.resolve_kernel("motion:length=9,angle=30")
    return degrade(face, k, rng=0), k


def test_recovers_motion_kernel(face, blurred_face):
    y, k = blurred_face
    out, kernel, info = xu2010(y, kernel_size=11)
    assert out.shape == face.shape and kernel.shape == (11, 11)
    assert float(kernel.min()) >= 0 and np.isclose(float(kernel.sum()), 1.0)
    # measured: kernel similarity 0.818, PSNR 25.33 dB (blurred input 22.46 dB)
    assert metrics.kernel_similarity(kernel, k) > 0.78
    assert metrics.psnr(face, out) > 24.8
    assert metrics.psnr(face, out) > metrics.psnr(face, y) + 2.0
    # Phase 2 ran and converged or stopped at its cap; the final step is the paper's TV-L1
    assert 1 <= len(info["isd"]) <= 10 and info["final"] == "tv_l1"


def test_same_seed_same_result(blurred_face):
    y, _ = blurred_face
    a = xu2010(y, kernel_size=9, rng=3)
    b = xu2010(y, kernel_size=9, rng=3)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


def test_colour_input_gives_colour_output(face_rgb):
    k = cd.resolve_kernel("motion:length=5,angle=0")
    y = degrade(face_rgb, k, rng=1)
    out, kernel, _ = xu2010(y, kernel_size=7)
    assert out.shape == face_rgb.shape and out.dtype == y.dtype
    assert kernel.shape == (7, 7) and np.isfinite(out).all()
    assert 0 <= float(out.min()) and float(out.max()) <= 1


def test_sharp_and_flat_images(face):
    out, kernel, _ = xu2010(face, kernel_size=7)
    assert np.isfinite(out).all() and np.isfinite(kernel).all()
    assert np.isclose(float(kernel.sum()), 1.0)
    flat = np.full((48, 48), 0.4)
    out, kernel, info = xu2010(flat, kernel_size=5)
    np.testing.assert_array_equal(out, flat)
    assert kernel[2, 2] == 1 and "warning" in info


def test_other_final_method_and_float32(blurred_face):
    y, _ = blurred_face
    out, kernel, info = xu2010(y.astype(np.float32), kernel_size=9, iterations=2, final="wiener",
                               final_params={"nsr": 0.01})
    assert out.dtype == np.float32 and info["final"] == "wiener" and np.isfinite(out).all()


@pytest.mark.parametrize(
    "params",
    [
        {"iterations": 0},
        {"iterations": 2.5},
        {"gamma": 0},
        {"lam": -1},
        {"window": 4},
        {"decay": 0.9},
        {"sigma": -1},
        {"shock_iterations": -1},
        {"shock_dt": 0},
        {"isd_gamma": float("nan")},
        {"isd_iterations": -1},
        {"isd_tol": 0},
        {"final": "magic"},
        {"final_params": {"mu": 1}},
        {"final": "wiener", "final_params": {"lam": 1}},
        {"engine": "gpu"},
    ],
)
def test_invalid_parameters_raise(blurred_face, params):
    y, _ = blurred_face
    with pytest.raises(ValueError):
        xu2010(y, kernel_size=7, **params)


def test_registered_and_reachable_through_deblur(blurred_face):
    y, _ = blurred_face
    assert "xu2010" in {m.name for m in cd.methods("blind")}
    res = cd.deblur(y, "xu2010", kernel_size=7, iterations=1, isd_iterations=1)
    assert res.image.shape == y.shape and res.kernel.shape == (7, 7)


def test_first_significant_jump():
    k = np.zeros((5, 5))
    k[2, 1:4] = [0.3, 0.4, 0.3]
    k[0, 0] = 0.01
    # sorted values 0 ... 0, 0.01, 0.3, 0.3, 0.4: the first gap above 0.4 / (2 * 5 * 1) is 0.01 -> 0.3
    assert first_significant_jump(k, 1) == 0.01
    # no significant gap: everything is below the threshold, the support is empty
    assert first_significant_jump(np.full((3, 3), 0.1), 1) == pytest.approx(0.1)


def test_tv_l1_restores_a_blurred_step_and_ignores_outliers(rng):
    x = np.zeros((40, 40))
    x[:, 20:] = 0.8
    k = np.full((1, 5), 0.2)
    y = convolve(x, k, boundary="symmetric")
    c = slice(5, -5)
    # near-converged solve of Eq. 12 on clean data: the step comes back
    # (measured mean error 0.0048 against 0.0376 for the blurred step)
    out = tv_l1(y, k, inner=5, engine="numpy")
    assert np.abs(out - x)[c, c].mean() < 0.01
    # the default short schedule restores it partly (measured 0.0175)
    assert np.abs(tv_l1(y, k, engine="numpy") - x)[c, c].mean() < 0.6 * np.abs(y - x)[c, c].mean()
    # impulses: the l1 data term ignores them, a least-squares TV does not
    # (measured 0.0112 against 0.0363 for the non-blind "tv")
    y[rng.integers(5, 35, 10), rng.integers(5, 35, 10)] = 1.0
    robust = np.abs(tv_l1(y, k, inner=5, engine="numpy") - x)[c, c].mean()
    assert robust < 0.5 * np.abs(cd.deconvolve(y, k, method="tv") - x)[c, c].mean()


def test_array_code_path_matches(xp, blurred_face):
    """The NumPy engines (the code CuPy runs) and, on a GPU, CuPy give the kernel of the Numba engines."""
    y, _ = blurred_face
    ref_out, ref_k, _ = xu2010(y, kernel_size=7, iterations=2)
    out, kernel, _ = xu2010(xp.asarray(y), kernel_size=7, iterations=2, engine="numpy" if xp is np else "auto")
    assert type(out) is type(xp.asarray(y))
    np.testing.assert_allclose(to_numpy(kernel), ref_k, atol=1e-3)
    np.testing.assert_allclose(to_numpy(out), ref_out, atol=1e-2)
