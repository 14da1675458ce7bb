import inspect

import numpy as np
import pytest
from scipy import ndimage

from classicdeblur.backend import to_numpy
from classicdeblur.blind.screening import SCREENING_PARAMS, screen
from classicdeblur.operators.functional import convolve


def line_kernel(size=9):
    """A diagonal motion-blur line, normalised to sum 1."""
    k = np.eye(size)[::-1] + 0.25 * np.eye(size, k=1)[::-1]
    return k / k.sum()


def residual(x, y, k):
    return np.abs(convolve(x, k, boundary="symmetric") - y)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_consistent_pair_is_left_unchanged(face, xp, dtype):
    x = xp.asarray(face, dtype=dtype)
    k = xp.asarray(line_kernel(), dtype=dtype)
    y = convolve(x, k, boundary="symmetric")
    out, info = screen(y, x, k)
    assert out.dtype == dtype and out.shape == x.shape and type(out) is type(x)
    np.testing.assert_array_equal(to_numpy(out), to_numpy(x))
    assert info["screened_fraction"] == 0.0 and info["outlier_fraction"] == 0.0


def test_planted_saturated_pixels_are_screened_and_residual_drops(face, rng):
    k = line_kernel()
    y = convolve(face, k, boundary="symmetric")
    rows, cols = rng.integers(12, 84, size=(2, 15))
    x = face.copy()
    x[rows, cols] = 1.0  # saturated spikes that y = k * x cannot explain
    spikes = np.zeros(face.shape, bool)
    spikes[rows, cols] = True
    around = ndimage.binary_dilation(spikes, structure=np.ones(k.shape, bool))

    out, info = screen(y, x, k)

    assert 0 < info["screened_fraction"] < 0.1
    # the spikes are corrected toward the true image, pixels far from them are untouched
    assert np.abs(out - face)[spikes].mean() < 0.3 * np.abs(x - face)[spikes].mean()
    np.testing.assert_array_equal(out[~around], x[~around])
    # the k-step data residual around them drops
    assert residual(out, y, k)[around].mean() < 0.3 * residual(x, y, k)[around].mean()
    # the posterior flags the observations the spikes spoil
    assert info["weights"][around].mean() < info["weights"][~around].mean()


def test_clipped_observations_are_screened_where_they_are(face):
    k = line_kernel()
    x = face.copy()
    x[40:56, 40:56] += 1.0  # a light source, saturated in y
    y = np.clip(convolve(x, k, boundary="symmetric"), 0.0, 1.0)
    blob = np.zeros(x.shape, bool)
    blob[36:60, 36:60] = True

    out, info = screen(y, x, k)

    changed = out != x
    assert changed[blob].mean() > 0.3
    assert not changed[~blob].any()
    assert info["outlier_fraction"] > info["screened_fraction"] * 0.5 > 0
    # the corrected pixels now agree with the kernel: the k-step residual there drops
    assert residual(out, y, k)[blob].mean() < 0.3 * residual(x, y, k)[blob].mean()


def test_noise_alone_screens_little_and_is_seeded(face, rng):
    k = line_kernel()
    y = convolve(face, k, boundary="symmetric") + 0.01 * rng.standard_normal(face.shape)
    out1, info1 = screen(y, face, k)
    out2, info2 = screen(y, face, k)
    np.testing.assert_array_equal(out1, out2)
    assert info1["screened_fraction"] == info2["screened_fraction"] < 0.01
    assert info1["sigma"] == pytest.approx(0.01, rel=0.2)  # the robust estimate finds the noise


@pytest.mark.parametrize("value", [0.0, 0.37])
def test_flat_and_all_zero_images_give_no_nan(xp, value):
    for dtype in (np.float32, np.float64):
        x = xp.full((24, 20), value, dtype=dtype)
        k = xp.asarray(line_kernel(5), dtype=dtype)
        out, info = screen(convolve(x, k), x, k)
        assert out.dtype == dtype and bool(xp.isfinite(out).all())
        assert bool(xp.isfinite(info["weights"]).all())
        np.testing.assert_array_equal(to_numpy(out), to_numpy(x))


def test_float32_preserved_and_inputs_not_mutated(face):
    k = line_kernel().astype(np.float32)
    x = face.astype(np.float32)
    x[30, 30] = 1.0
    y = convolve(face.astype(np.float32), k)
    copies = [a.copy() for a in (y, x, k)]
    out, info = screen(y, x, k)
    assert out.dtype == np.float32 and info["weights"].dtype == np.float32
    for a, c in zip((y, x, k), copies):
        np.testing.assert_array_equal(a, c)
    assert out[30, 30] != x[30, 30]


def test_all_zero_kernel_gives_no_nan(face):
    out, info = screen(face, face, np.zeros((3, 3)))
    assert np.isfinite(out).all() and np.isfinite(info["weights"]).all()


def test_screening_params_are_the_keyword_arguments():
    sig = inspect.signature(screen)
    kw = [n for n, p in sig.parameters.items() if p.kind is p.KEYWORD_ONLY]
    assert tuple(kw) == SCREENING_PARAMS


@pytest.mark.parametrize(
    "params",
    [{"inlier_prior": 1.0}, {"inlier_prior": 0.0}, {"sigma": 0.0}, {"sigma_min": -1.0},
     {"intensity_range": 0.0}, {"max_iter": 0}],
)
def test_bad_parameters_raise(params):
    x = np.zeros((8, 8))
    with pytest.raises(ValueError):
        screen(x, x, np.ones((3, 3)) / 9, **params)


def test_shape_mismatch_raises():
    with pytest.raises(ValueError, match="same shape"):
        screen(np.zeros((8, 8)), np.zeros((8, 9)), np.ones((3, 3)) / 9)
