"""Tests of the class-specific prior method (Anwar, Huynh & Porikli 2018)."""

from types import SimpleNamespace

import numpy as np
import pytest

import classicdeblur as cd
from classicdeblur import metrics
from classicdeblur.blind.anwar2018 import PRIOR_KEYS, anwar2018, learn_prior
from classicdeblur.degrade import degrade


@pytest.fixture(scope="module")
def training():
    """Twelve 64x64 crops of the astronaut's face (several framings, mirrored): a tiny stand-in exemplar set."""
    from skimage import data
    from skimage.color import rgb2gray
    from skimage.transform import resize

    g = rgb2gray(data.astronaut())
    out = []
    for t, l, s in [(10, 120, 210), (30, 140, 190), (0, 110, 230), (25, 125, 200), (15, 135, 215), (5, 115, 220)]:
        c = resize(g[t : t + s, l : l + s], (64, 64), anti_aliasing=True)
        out += [c, c[:, ::-1]]
    return SimpleNamespace(faces=np.stack(out).astype(np.float32), resolution=64)


@pytest.fixture(scope="module")
def prior(training):
    return learn_prior(training, components=4)


def test_learn_prior_shapes_dtypes_deterministic(training, prior):
    assert set(prior) == set(PRIOR_KEYS)
    B = prior["edges"].size - 1
    r, R, A = prior["basis"].shape[1:]
    assert B == 8 and r == 4  # half-octave bands from 2 to 32 cycles per 64-pixel frame
    assert prior["mean"].shape == (B, R, A)
    assert prior["variance"].shape == (B, r) and prior["residual"].shape == (B,) and prior["energy"].shape == (B,)
    assert prior["frame"][0] == 64
    for v in prior.values():
        assert v.dtype == np.float32 and np.isfinite(v).all()
    assert sum(v.nbytes for v in prior.values()) < 1_000_000
    # the components of each band are orthonormal
    U = prior["basis"].reshape(B, r, -1).astype(np.float64)
    for b in range(B):
        assert np.allclose(U[b] @ U[b].T, np.eye(r), atol=1e-4)
    again = learn_prior(training, components=4)
    for key in PRIOR_KEYS:
        assert np.array_equal(prior[key], again[key])


def test_learn_prior_rejects_bad_input():
    with pytest.raises(ValueError, match="N, S, S"):
        learn_prior(SimpleNamespace(faces=np.zeros((3, 16, 20)), resolution=16))
    with pytest.raises(ValueError, match="components"):
        learn_prior(SimpleNamespace(faces=np.zeros((3, 16, 16)), resolution=16), components=0)


def test_kernel_recovery_on_face(face, prior):
    k = cd.resolve_kernel("motion:length=9,angle=30")
    y = degrade(face, k, rng=0)
    out, kernel, info = anwar2018(y, kernel_size=k.shape[0], prior=prior)
    sim = metrics.kernel_similarity(kernel, k)
    p = metrics.shift_psnr(face, out, max_shift=4).value
    blurred = metrics.shift_psnr(face, y, max_shift=4).value  # 22.1 dB
    # measured: similarity 0.79, PSNR 24.5 dB
    assert sim > 0.72
    assert p > 23.8 and p > blurred + 1.5
    assert kernel.shape == k.shape and abs(kernel.sum() - 1) < 1e-6 and kernel.min() >= 0
    assert info["final"] == "tv_l1" and info["iterations"] > 0


def test_same_seed_same_result(face, prior):
    y = degrade(face[:64, :64], cd.resolve_kernel("motion:length=5,angle=0"), rng=1)
    a = anwar2018(y, kernel_size=7, prior=prior, rng=3, iterations=2)
    b = anwar2018(y, kernel_size=7, prior=prior, rng=3, iterations=2)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])


def test_colour_in_colour_out(face_rgb, prior):
    k = cd.resolve_kernel("motion:length=5,angle=45")
    y = degrade(face_rgb, k, rng=2)
    out, kernel, _ = anwar2018(y, kernel_size=7, prior=prior, iterations=2)
    assert out.shape == face_rgb.shape and out.dtype == y.dtype
    assert out.min() >= 0 and out.max() <= 1


def test_registered():
    from classicdeblur.blind import BLIND

    assert "anwar2018" in BLIND


@pytest.mark.parametrize(
    "params, match",
    [
        ({"mu": 1.5}, "mu"),
        ({"mu": -0.1}, "mu"),
        ({"gain": 0.5}, "gain"),
        ({"coef_reg": 0}, "coef_reg"),
        ({"face_size": -3}, "face_size"),
        ({"iterations": 0}, "iterations"),
        ({"final": "magic"}, "tv_l1"),
        ({"final": "wiener", "final_params": {"bogus": 1}}, "bogus"),
        ({"engine": "gpu"}, "engine"),
    ],
)
def test_invalid_parameters(face, prior, params, match):
    with pytest.raises(ValueError, match=match):
        anwar2018(face[:32, :32], kernel_size=5, prior=prior, **params)


def test_prior_missing_keys_is_a_clear_error(face, prior):
    broken = {k: v for k, v in prior.items() if k != "basis"}
    with pytest.raises(ValueError, match="missing basis"):
        anwar2018(face[:32, :32], kernel_size=5, prior=broken)
    with pytest.raises(ValueError, match="inconsistent"):
        anwar2018(face[:32, :32], kernel_size=5, prior={**prior, "mean": prior["mean"][:2]})
    with pytest.raises(ValueError, match="dict"):
        anwar2018(face[:32, :32], kernel_size=5, prior=[1, 2])


def test_mu_zero_needs_no_prior(face):
    y = degrade(face[:48, :48], cd.resolve_kernel("motion:length=5,angle=0"), noise=None, rng=0)
    out, _, _ = anwar2018(y, kernel_size=5, mu=0, iterations=1)
    assert out.shape == y.shape


def test_default_final_is_tv_l1_and_target_is_restored(face, prior):
    from classicdeblur.solvers.nonblind import deconvolve

    y = degrade(face[:48, :48], cd.resolve_kernel("motion:length=5,angle=0"), rng=0)
    photo = np.pad(y, 8, mode="edge")
    out, k, info = anwar2018(y, kernel_size=5, prior=prior, iterations=1, target=photo)
    assert info["final"] == "tv_l1" and out.shape == photo.shape
    np.testing.assert_array_equal(out, deconvolve(photo, k, method="tv_l1"))


def test_old_final_method_still_works_with_a_deprecation_warning(face, prior):
    from classicdeblur.solvers.nonblind import deconvolve

    y = degrade(face[:48, :48], cd.resolve_kernel("motion:length=5,angle=0"), rng=0)
    with pytest.warns(DeprecationWarning, match="final_method"):
        out, k, info = anwar2018(y, kernel_size=5, prior=prior, iterations=1, final_method="wiener")
    assert info["final"] == "wiener"
    np.testing.assert_array_equal(out, deconvolve(y, k, method="wiener"))


def test_registered_with_its_learner():
    from classicdeblur.blind import BLIND

    meta = BLIND.meta("anwar2018")
    assert meta["face"] and meta["learn"] is learn_prior

