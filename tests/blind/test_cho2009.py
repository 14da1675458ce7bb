"""Cho & Lee (2009), "Fast motion deblurring": the three steps, the estimator and the registered method."""

import numpy as np
import pytest

import classicdeblur as cd
from classicdeblur.backend import to_numpy
from classicdeblur.blind import cho2009 as cho
from classicdeblur.errors import InvalidParameterError
from classicdeblur.metrics import kernel_similarity
from classicdeblur.operators import gradients
from classicdeblur.operators.functional import convolve
from classicdeblur.operators.kernel import KernelSystem


def line_kernel(size=9, angle=30.0):
    """An anti-aliased straight motion line through the centre, normalised to sum 1."""
    k = np.zeros((size, size))
    c = size // 2
    t = np.radians(angle)
    for s in np.linspace(-c + 1, c - 1, 8 * size):
        y, x = c - s * np.sin(t), c + s * np.cos(t)
        i, j = int(np.floor(y)), int(np.floor(x))
        fy, fx = y - i, x - j
        k[i, j] += (1 - fy) * (1 - fx)
        k[i + 1, j] += fy * (1 - fx)
        k[i, j + 1] += (1 - fy) * fx
        k[i + 1, j + 1] += fy * fx
    return k / k.sum()


def psnr(a, b, border):
    d = (a - b)[border:-border, border:-border]
    return 10 * np.log10(1.0 / np.mean(d * d))


# --------------------------------------------------------------------------------------
# deconvolution step, Eqs. (3)-(4)
# --------------------------------------------------------------------------------------


def test_deconvolution_with_a_delta_kernel_only_smooths_slightly(face, xp):
    delta = np.zeros((5, 5))
    delta[2, 2] = 1
    y = xp.asarray(face)
    out = cho.deconvolve_gaussian(y, delta, alpha=0.1)
    assert type(out) is type(y) and out.shape == y.shape and out.dtype == y.dtype
    out = to_numpy(out)
    # Delta >= 50 against alpha |grad|^2 <= 0.8: the Gaussian prior barely touches the image
    assert np.abs(out - face).max() < 0.02
    assert abs(out.mean() - face.mean()) < 1e-3


def test_deconvolution_inverts_a_known_blur(face):
    k = line_kernel(9, 30.0)
    y = convolve(face, k, boundary="symmetric")
    out = cho.deconvolve_gaussian(y, k)
    # far sharper than the blurred input, and consistent with it
    assert psnr(face, out, 8) > psnr(face, y, 8) + 8
    assert np.abs(convolve(out, k, boundary="symmetric") - y)[8:-8, 8:-8].mean() < 2e-3


def test_deconvolver_reuses_its_setup_and_keeps_float32(face):
    y = face.astype(np.float32)
    deconv = cho.GaussianDeconvolver(y, 9, alpha=0.1)
    k1, k2 = line_kernel(9, 0.0), line_kernel(9, 60.0)
    for k in (k1, k2):
        out = deconv(k)
        assert out.dtype == np.float32 and out.shape == y.shape
        np.testing.assert_allclose(out, cho.deconvolve_gaussian(y, k), atol=1e-5)


def test_deconvolution_rejects_a_bad_alpha(face):
    with pytest.raises(ValueError, match="alpha"):
        cho.deconvolve_gaussian(face, np.ones((3, 3)) / 9, alpha=0.0)


# --------------------------------------------------------------------------------------
# prediction, Sec. 3.1
# --------------------------------------------------------------------------------------


def test_prediction_keeps_the_strongest_gradients_in_every_orientation(face):
    px, py, t = cho.predict(face, min_pixels=40, engine="numpy")
    mag = np.hypot(px, py)
    kept = mag > 0
    assert t > 0 and np.all(mag[kept] >= t - 1e-12)
    # at least min_pixels in each of the 4 orientation bins (opposite directions together)
    angle = np.mod(np.arctan2(py, px), np.pi)[kept]
    counts = np.bincount(np.minimum(np.floor(angle * (4 / np.pi)).astype(int), 3), minlength=4)
    assert counts.min() >= 40
    # a sparse edge map, zero where the circular differences wrap around
    assert kept.mean() < 0.5
    assert not px[-2:].any() and not px[:, -2:].any() and not py[-2:].any() and not py[:, -2:].any()


def test_prediction_sharpens_a_blurred_step():
    step = np.zeros((32, 32))
    step[:, 16:] = 1.0
    blurred = convolve(step, np.full((1, 7), 1 / 7), boundary="symmetric")
    px, _, _ = cho.predict(blurred, min_pixels=8, engine="numpy")
    # the edge of the prediction is steeper than the blurred one, and it stays at the step
    assert np.abs(px).max() > 1.5 * np.abs(gradients.dx(blurred)[:, :-2]).max()  # the last column wraps around
    assert abs(int(np.argmax(np.abs(px[16]))) - 15) <= 1


def test_prediction_with_a_given_threshold_is_monotone(face):
    px1, _py1, t1 = cho.predict(face, threshold=0.05, engine="numpy")
    px2, _py2, t2 = cho.predict(face, threshold=0.05 * 0.9, engine="numpy")
    assert (t1, t2) == (0.05, 0.05 * 0.9)
    assert np.all((px1 != 0) <= (px2 != 0)) and (px2 != 0).sum() > (px1 != 0).sum()
    with pytest.raises(ValueError, match="threshold or min_pixels"):
        cho.predict(face)


def test_prediction_engines_agree(face):
    ref = cho.predict(face, min_pixels=30, engine="numpy")
    fast = cho.predict(face, min_pixels=30, engine="numba")
    assert ref[2] == pytest.approx(fast[2], rel=1e-9)
    np.testing.assert_allclose(fast[0], ref[0], atol=1e-9)
    np.testing.assert_allclose(fast[1], ref[1], atol=1e-9)


# --------------------------------------------------------------------------------------
# kernel estimation, Eq. (5)
# --------------------------------------------------------------------------------------


def test_kernel_pairs_have_the_papers_weights_and_no_wrap_around(face):
    g = np.ones_like(face)
    pairs = cho.kernel_pairs(g, g, face)
    assert [w for _, _, w in pairs] == [25.0, 25.0, 12.5, 12.5, 12.5]
    for p, b, _ in pairs:
        assert p.shape == b.shape == face.shape
        assert not p[-2:].any() and not b[:, -2:].any()


def test_kernel_estimation_recovers_the_kernel_from_sharp_gradients(face):
    # with the true latent gradients as the prediction, Eq. (5) returns the blur kernel
    k = line_kernel(9, 30.0)
    x = np.pad(face, 12)  # a black frame: zero padding is then exact
    y = convolve(x, k, boundary="circular")
    px, py = gradients.dx(x), gradients.dy(x)
    system = KernelSystem(cho.kernel_pairs(px, py, y), 9)
    est = system.solve_l2(1e-4, maxiter=200, tol=1e-10)
    assert np.abs(est - k).max() < 0.01
    assert kernel_similarity(est.clip(0), k) > 0.99


def test_kernel_estimation_is_a_true_convolution(face):
    # an off-centre delta (a shift) must come back at the same place, not mirrored
    k = np.zeros((5, 5))
    k[1, 3] = 1.0
    x = np.pad(face, 8)
    y = convolve(x, k, boundary="circular")
    system = KernelSystem(cho.kernel_pairs(gradients.dx(x), gradients.dy(x), y), 5)
    est = system.solve_l2(1e-4, maxiter=100)
    assert np.unravel_index(np.argmax(est), est.shape) == (1, 3)


# --------------------------------------------------------------------------------------
# the blind method
# --------------------------------------------------------------------------------------


def test_cho2009_is_registered():
    names = {m.name: m for m in cd.methods("blind")}
    assert "cho2009" in names and "Cho & Lee" in names["cho2009"].description


@pytest.fixture(scope="module")
def blurred_face(face):
    k = line_kernel(9, 30.0)
    y = convolve(face, k, boundary="symmetric")
    y = y + 0.005 * np.random.default_rng(0).standard_normal(y.shape)
    return np.clip(y, 0, 1), k


def test_cho2009_recovers_a_motion_blur(face, blurred_face):
    y, k = blurred_face
    res = cd.deblur(y, "cho2009", kernel_size=9, rng=0, device="cpu")
    kest = res.kernel
    assert kest.shape == (9, 9) and kest.min() >= 0 and kest.sum() == pytest.approx(1.0)
    assert kernel_similarity(kest, k) > 0.8
    from classicdeblur.metrics import shift_psnr

    assert shift_psnr(face, res.image, max_shift=4).value > shift_psnr(face, y, max_shift=4).value + 2
    info = res.info
    assert info["method"] == "cho2009" and 0 < info["iterations"] <= 7 * len(info["levels"])
    assert [h["level"] for h in info["history"]] == sorted(h["level"] for h in info["history"])


def test_cho2009_is_deterministic_and_ignores_the_seed(blurred_face):
    y, _ = blurred_face
    a = cd.deblur(y, "cho2009", kernel_size=7, rng=0, device="cpu", iterations=2)
    b = cd.deblur(y, "cho2009", kernel_size=7, rng=5, device="cpu", iterations=2)
    np.testing.assert_array_equal(a.kernel, b.kernel)
    np.testing.assert_array_equal(a.image, b.image)


def test_cho2009_runs_on_the_array_module_of_the_input(blurred_face, xp):
    y, _ = blurred_face
    out, k, _info = cho.cho2009(xp.asarray(y, dtype=xp.float32), kernel_size=7, iterations=2)
    assert type(out) is type(xp.asarray(y)) and out.dtype == np.float32 and out.shape == y.shape
    assert k.shape == (7, 7) and abs(float(k.sum()) - 1) < 1e-5
    assert float(out.min()) >= 0 and float(out.max()) <= 1


def test_cho2009_on_colour_keeps_the_channels(face_rgb):
    k = line_kernel(7, 0.0)
    y = np.stack([convolve(face_rgb[..., c], k, boundary="symmetric") for c in range(3)], axis=-1)
    res = cd.deblur(y, "cho2009", kernel_size=7, device="cpu", iterations=2)
    assert res.image.shape == y.shape and res.kernel.shape == (7, 7)


def test_cho2009_on_a_flat_image_returns_a_delta():
    res = cd.deblur(np.full((48, 48), 0.4), "cho2009", kernel_size=7, device="cpu")
    assert res.kernel[3, 3] == 1.0 and "flat" in res.info["warning"]


def test_cho2009_with_pixel_screening_and_another_final_step(blurred_face):
    y, _ = blurred_face
    res = cd.deblur(y, "cho2009", kernel_size=7, device="cpu", iterations=2, pixel_screening=True,
                    final="tikhonov", final_params={"weight": 1e-2})
    assert res.image.shape == y.shape and "screened_mean" in res.info and res.info["final"] == "tikhonov"


def test_cho2009_old_final_method_name_still_works(blurred_face):
    y, _ = blurred_face
    new = cho.cho2009(y, kernel_size=7, iterations=2, final="tikhonov")
    with pytest.warns(DeprecationWarning, match="'final_method' is renamed final"):
        old = cho.cho2009(y, kernel_size=7, iterations=2, final_method="tikhonov")
    np.testing.assert_array_equal(old[0], new[0])
    assert old[2]["final"] == "tikhonov"


@pytest.mark.parametrize(
    "params, match",
    [({"alpha": -1}, "alpha"), ({"beta": 0}, "beta"), ({"decay": 1.5}, "decay"), ({"iterations": 0}, "iterations"),
     ({"radius": -1}, "radius"), ({"cg_iterations": 0}, "cg_iterations"), ({"engine": "fast"}, "engine"),
     ({"final": "nope"}, "nope"), ({"final": "tv", "final_params": {"lam": 1.0}}, "lam")],
)
def test_cho2009_rejects_bad_parameters(blurred_face, params, match):
    y, _ = blurred_face
    with pytest.raises(ValueError, match=match):
        cd.deblur(y, "cho2009", kernel_size=7, device="cpu", **params)


def test_cho2009_final_parameters_default_per_method(monkeypatch):
    from classicdeblur.blind.method import FinalStep

    seen = []
    monkeypatch.setattr(cho, "run_blind", lambda image, est, options, **kw: seen.append(options.final))
    x = np.zeros((32, 32))
    cho.cho2009(x)
    cho.cho2009(x, final="tikhonov")
    cho.cho2009(x, final_params={"lam": 5e3})
    assert cho.FINAL_PARAMS == {"lam": 1e3}
    assert seen == [FinalStep("hyper_laplacian", cho.FINAL_PARAMS), FinalStep("tikhonov", {}),
                    FinalStep("hyper_laplacian", {"lam": 5e3})]


def test_gaussian_deconvolver_is_the_periodic_solve_with_a_data_weight(face):
    # Eq. (4) written out as before the operators existed: the solve through PeriodicBlur is bit-identical
    from classicdeblur import backend
    from classicdeblur.operators.functional import psf2otf, wrap_pad

    k = line_kernel(9, 30.0)
    y = convolve(face, k, boundary="symmetric")
    deconv = cho.GaussianDeconvolver(y, 9, alpha=0.3)
    padded = wrap_pad(y, deconv.widths)

    def power(name):
        otf = gradients.filter_otf(name, padded.shape)
        return otf.real**2 + otf.imag**2

    delta = 50.0 + 25.0 * (power("dx") + power("dy")) + 12.5 * (power("dxx") + power("dxy") + power("dyy"))
    K = psf2otf(k, padded.shape)
    spec = K.conj() * (backend.rfft2(padded) * delta) / ((K.real**2 + K.imag**2) * delta
                                                          + 0.3 * (power("dx") + power("dy")))
    ph, pw = deconv.widths
    ref = backend.irfft2(spec, s=padded.shape)[ph:-ph, pw:-pw]
    np.testing.assert_array_equal(deconv(k), ref)


def test_cho2009_names_its_parameters_on_a_typo(blurred_face):
    with pytest.raises(InvalidParameterError, match="beta"):
        cd.deblur(blurred_face[0], "cho2009", kernel_size=7, device="cpu", betta=1.0)
