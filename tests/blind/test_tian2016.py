"""Tian et al. 2016 weighted non-local self-similarity (classicdeblur.blind.tian2016)."""

import numpy as np
import pytest

import classicdeblur as cd
import cupy_standin as cs
from classicdeblur import metrics
from classicdeblur.blind.tian2016 import group_wnnm, match_groups, shrink_groups, tian2016
from classicdeblur.degrade import degrade
from classicdeblur.errors import InvalidParameterError


@pytest.fixture(scope="module")
def blurred_face(face):
    k = cd.resolve_kernel("motion:length=9,angle=35")
    return degrade(face, k, rng=0), k


@pytest.fixture(scope="module")
def noisy_crop(face):
    crop = face[24:56, 32:64]
    return crop, crop + 0.05 * np.random.default_rng(0).standard_normal(crop.shape)


def test_recovers_motion_kernel(face, blurred_face):
    y, k = blurred_face
    out, kernel, info = tian2016(y, kernel_size=11)
    assert out.shape == face.shape and kernel.shape == (11, 11)
    assert float(kernel.min()) >= 0 and np.isclose(float(kernel.sum()), 1.0)
    # measured: kernel similarity 0.846 (cho2009 alone 0.819), PSNR 24.23 dB (blurred 22.48 dB)
    assert metrics.kernel_similarity(kernel, k) > 0.83
    assert metrics.psnr(face, out) > metrics.psnr(face, y) + 1.5
    # the non-local step ran at the two finest of the four levels
    assert len(info["levels"]) == 4 and info["nonlocal_levels"] == [2, 3] and info["final"] == "hyper_laplacian"


def test_nonlocal_step_off_is_cho_and_lee(blurred_face):
    """With no splitting round the latent step is Cho & Lee's: the same kernel as cho2009."""
    y, _ = blurred_face
    _, k0, info = tian2016(y, kernel_size=9, hqs_iterations=0)
    ref = cd.deblur(y, "cho2009", kernel_size=9, device="cpu")
    np.testing.assert_array_equal(k0, ref.kernel)
    assert info["nonlocal_levels"] == []


def test_nonlocal_step_denoises_golden(noisy_crop):
    clean, noisy = noisy_crop
    out = group_wnnm(noisy, sigma=0.05)
    assert out.shape == noisy.shape and out.dtype == noisy.dtype
    # golden (32x32 crop of the face fixture, noise 0.05): 26.257 dB -> 28.303 dB
    assert metrics.psnr(clean, noisy) == pytest.approx(26.2574, abs=1e-3)
    assert metrics.psnr(clean, out) == pytest.approx(28.3034, abs=2e-3)


def test_match_groups_reference_first_and_nearest(noisy_crop):
    _, x = noisy_crop
    gi, gj = match_groups(x, patch=6, similar=8, window=4, stride=5)
    h = x.shape[0] - 5
    ref_i = np.minimum(np.arange(0, h + 4, 5), h - 1)  # 0, 5, ..., 25, 26
    assert gi.shape == gj.shape == (len(ref_i) ** 2, 8)
    # the first member of every group is the reference patch itself; all corners are valid
    np.testing.assert_array_equal(gi[:, 0], np.repeat(ref_i, len(ref_i)))
    assert gi.min() >= 0 and gi.max() <= h - 1 and gj.min() >= 0 and gj.max() <= h - 1
    # the group members are sorted by distance to the reference
    P = lambda i, j: x[i : i + 6, j : j + 6]  # noqa: E731
    for g in (0, 7, len(gi) - 1):
        d = [float(((P(gi[g, m], gj[g, m]) - P(gi[g, 0], gj[g, 0])) ** 2).sum()) for m in range(8)]
        assert d == sorted(d)


def test_shrinkage_without_noise_is_identity(noisy_crop):
    _, x = noisy_crop
    groups = match_groups(x)
    np.testing.assert_allclose(shrink_groups(x, groups, sigma=1e-6), x, atol=1e-5)


def test_tiny_image_is_returned():
    x = np.random.default_rng(0).random((4, 4))
    np.testing.assert_array_equal(group_wnnm(x, sigma=0.1), x)


@pytest.mark.parametrize("bad", [{"sigma": 0}, {"mu": -1}, {"patch": 1}, {"similar": 1.5}, {"window": 0},
                                 {"stride": 7}, {"hqs_iterations": -1}, {"nl_levels": True}, {"iterations": 0}])
def test_parameters_are_checked(bad, blurred_face):
    with pytest.raises(ValueError):
        tian2016(blurred_face[0], kernel_size=7, **bad)


def test_unknown_parameter(blurred_face):
    with pytest.raises(InvalidParameterError, match="tian2016"):
        tian2016(blurred_face[0], kernel_size=7, lambda_=1.0)


def test_registered_as_a_face_method():
    meta = cd.blind.registry().meta("tian2016")
    assert meta["face"]
    assert cd.blind.registry().get("tian2016").paper_defaults["patch"] == 6


def test_colour(face_rgb):
    k = cd.resolve_kernel("motion:length=5,angle=35")
    y = degrade(face_rgb, k, rng=0)
    out, kernel, info = tian2016(y, kernel_size=7)
    assert out.shape == face_rgb.shape and kernel.shape == (7, 7)
    assert float(out.min()) >= 0 and float(out.max()) <= 1 and np.isclose(float(kernel.sum()), 1.0)


def test_group_wnnm_on_xp(xp, noisy_crop):
    _, x = noisy_crop
    out = group_wnnm(xp.asarray(x), sigma=0.05)
    assert type(out) is type(xp.asarray(x))
    np.testing.assert_allclose(cd.backend.to_numpy(out), group_wnnm(x, sigma=0.05), atol=1e-6)


def test_group_wnnm_on_the_standin_bit_for_bit_without_transfers(noisy_crop):
    _, x = noisy_crop
    ref = group_wnnm(x, sigma=0.05)
    with cs.installed() as xp:
        d = xp.asarray(x)
        cs.COUNTS.reset()
        out = group_wnnm(d, sigma=0.05)
        counts = cs.COUNTS.snapshot()
        assert type(out) is cs.ndarray
        np.testing.assert_array_equal(out.get(), ref)
    assert counts["transfers"] == 0, cs.COUNTS.report()


def test_method_on_the_standin_bit_for_bit(blurred_face):
    y = blurred_face[0][16:80, 16:80]
    ref = tian2016(y, kernel_size=7, iterations=2, engine="numpy")
    with cs.installed() as xp:
        out = tian2016(xp.asarray(y), kernel_size=7, iterations=2, engine="numpy")
        np.testing.assert_array_equal(out[0].get(), ref[0])
        np.testing.assert_array_equal(cd.backend.to_numpy(out[1]), ref[1])
