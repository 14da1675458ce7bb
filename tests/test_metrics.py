"""Tests of classicdeblur.metrics."""

import math

import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from classicdeblur.color import to_luminance
from classicdeblur.errors import InvalidKernelError
from classicdeblur.metrics import (
    cumulative_error_ratio,
    error_ratio,
    kernel_similarity,
    psnr,
    shift_psnr,
    shift_ssim,
    shift_tolerant,
    ssim,
    success_rate,
)


def _line_kernel(n=9, vertical=False):
    k = np.zeros((n, n))
    if vertical:
        k[:, n // 2] = 1
    else:
        k[n // 2, :] = 1
    return k / k.sum()


def _otf(kernel, shape):
    big = np.zeros(shape)
    h, w = kernel.shape
    big[:h, :w] = kernel
    big = np.roll(big, (-(h // 2), -(w // 2)), axis=(0, 1))
    return np.fft.fft2(big)


def _blur(x, kernel):
    return np.real(np.fft.ifft2(_otf(kernel, x.shape) * np.fft.fft2(x)))


def _wiener(image, kernel, nsr=1e-3):
    """A simple circular Wiener filter standing in for the hyper-Laplacian step."""
    K = _otf(kernel, image.shape)
    return np.real(np.fft.ifft2(np.conj(K) * np.fft.fft2(image) / (np.abs(K) ** 2 + nsr)))


# ----------------------------------------------------------------------------
# PSNR / SSIM


def test_psnr_known_values():
    a = np.zeros((8, 8))
    assert psnr(a, a + 0.1) == pytest.approx(20.0)
    assert psnr(a, a + 0.01) == pytest.approx(40.0)
    assert psnr(a, a + 0.1, data_range=2.0) == pytest.approx(20 + 20 * math.log10(2))
    u = np.zeros((8, 8), np.uint8)
    v = np.full((8, 8), 25, np.uint8)
    assert psnr(u, v) == pytest.approx(10 * math.log10(255**2 / 625))


def test_psnr_matches_skimage(face, rng):
    noisy = np.clip(face + 0.05 * rng.standard_normal(face.shape), 0, 1)
    assert psnr(face, noisy) == pytest.approx(peak_signal_noise_ratio(face, noisy, data_range=1))


def test_identical_images():
    x = np.random.default_rng(0).random((16, 16))
    assert psnr(x, x) == math.inf
    assert ssim(x, x) == 1.0


def test_colour_measured_on_luminance(face_rgb, rng):
    noisy = np.clip(face_rgb + 0.05 * rng.standard_normal(face_rgb.shape), 0, 1)
    y1, y2 = to_luminance(face_rgb), to_luminance(noisy)
    assert psnr(face_rgb, noisy) == pytest.approx(psnr(y1, y2))
    assert ssim(face_rgb, noisy) == pytest.approx(ssim(y1, y2))


def test_ssim_wang_settings(face, rng):
    noisy = np.clip(face + 0.05 * rng.standard_normal(face.shape), 0, 1)
    expected = structural_similarity(
        face, noisy, data_range=1, gaussian_weights=True, sigma=1.5, use_sample_covariance=False
    )
    v = ssim(face, noisy)
    assert v == pytest.approx(expected) and 0 < v < 1
    with pytest.raises(ValueError, match="at least 11x11"):
        ssim(np.zeros((8, 30)), np.zeros((8, 30)))


def test_shape_and_range_errors():
    with pytest.raises(ValueError, match=r"\(8, 8\) and \(8, 9\)"):
        psnr(np.zeros((8, 8)), np.zeros((8, 9)))
    with pytest.raises(ValueError, match=r"\(16, 16\) and \(16, 16, 3\)"):
        ssim(np.zeros((16, 16)), np.zeros((16, 16, 3)))
    with pytest.raises(ValueError, match="shape"):
        psnr(np.zeros((4, 4, 4)), np.zeros((4, 4, 4)))
    with pytest.raises(ValueError, match="data_range"):
        psnr(np.full((4, 4), 2.0), np.zeros((4, 4)))
    with pytest.raises(ValueError, match="data_range"):
        psnr(np.zeros((4, 4), np.uint8), np.zeros((4, 4)))
    with pytest.raises(ValueError, match="data_range"):
        psnr(np.zeros((4, 4), np.int16), np.ones((4, 4), np.int16))
    with pytest.raises(ValueError, match="positive"):
        psnr(np.zeros((4, 4)), np.ones((4, 4)), data_range=0)
    assert psnr(np.full((4, 4), 2.0), np.zeros((4, 4)), data_range=2.0) == pytest.approx(0.0)
    with pytest.raises(ValueError, match="NaN"):
        psnr(np.zeros((4, 4)), np.full((4, 4), np.nan))


# ----------------------------------------------------------------------------
# shift tolerance


def test_shift_recovers_known_shift_exactly(face):
    shifted = np.roll(face, (3, -3), axis=(0, 1))
    assert psnr(face, shifted) < 25
    r = shift_psnr(face, shifted, max_shift=4)
    assert r.value == math.inf and r.shift == (3, -3)
    value, shift = shift_ssim(face, shifted, max_shift=4)
    assert value == 1.0 and shift == (3, -3)


def test_shift_psnr_equals_brute_force(face, rng):
    s = 5
    test = np.roll(face, (-2, 4), axis=(0, 1)) + 0.02 * rng.standard_normal(face.shape)
    M, N = face.shape
    best = max(
        (
            10 * math.log10(1 / np.mean((face[s:-s, s:-s] - test[s + dy : M - s + dy, s + dx : N - s + dx]) ** 2)),
            (dy, dx),
        )
        for dy in range(-s, s + 1)
        for dx in range(-s, s + 1)
    )
    r = shift_psnr(face, test, max_shift=s)
    assert r.shift == best[1] == (-2, 4)
    assert r.value == pytest.approx(best[0], rel=1e-12)
    # a larger ignored border changes the window but not the shift
    assert shift_psnr(face, test, max_shift=s, border=10).shift == (-2, 4)


def test_shift_zero_and_colour(face_rgb):
    r = shift_psnr(face_rgb, face_rgb, max_shift=0)
    assert r == (math.inf, (0, 0))
    shifted = np.roll(face_rgb, (1, 2), axis=(0, 1))
    assert shift_tolerant(face_rgb, shifted, max_shift=3, metric="ssim") == (1.0, (1, 2))


def test_shift_ssim_uses_neighbourhood(face, rng):
    test = np.roll(face, (1, 1), axis=(0, 1)) + 0.05 * rng.standard_normal(face.shape)
    r = shift_ssim(face, test, max_shift=3)
    assert r.shift == (1, 1) and 0.5 < r.value < 1
    assert r.value >= ssim(face[3:-3, 3:-3], test[4:-2, 4:-2]) - 1e-12


def test_shift_errors(face):
    with pytest.raises(ValueError, match="border"):
        shift_psnr(face, face, max_shift=3, border=1)
    with pytest.raises(ValueError, match="leaves nothing"):
        shift_psnr(face, face, max_shift=48)
    with pytest.raises(ValueError, match="unknown metric"):
        shift_tolerant(face, face, max_shift=1, metric="mse")
    with pytest.raises(ValueError, match=">= 0"):
        shift_psnr(face, face, max_shift=-1)
    with pytest.raises(ValueError, match="same shape"):
        shift_psnr(face, face[:-1], max_shift=1)


def test_shift_psnr_fast():
    import time

    rng = np.random.default_rng(0)
    x = rng.random((256, 256))
    y = np.roll(x, (5, -7), axis=(0, 1))
    t = time.perf_counter()
    r = shift_psnr(x, y, max_shift=13)
    assert r.shift == (5, -7)
    assert time.perf_counter() - t < 1.0  # ~10 ms in practice


# ----------------------------------------------------------------------------
# kernels


def test_kernel_similarity():
    k = _line_kernel(9)
    assert kernel_similarity(k, k) == 1.0
    assert kernel_similarity(k, np.roll(k, 2, axis=0)) == 1.0
    padded = np.pad(k, ((3, 1), (0, 4)))  # different size, off-centre copy
    assert kernel_similarity(k, padded) == pytest.approx(1.0)
    other = _line_kernel(9, vertical=True)
    v = kernel_similarity(k, other)
    assert 0 < v < 0.5
    assert kernel_similarity(other, k) == pytest.approx(v)
    g = np.exp(-((np.arange(9) - 4) ** 2) / 4.0)
    assert kernel_similarity(k, np.outer(g, g)) < 1
    with pytest.raises(InvalidKernelError, match="all zero"):
        kernel_similarity(k, np.zeros((3, 3)))
    with pytest.raises(InvalidKernelError, match="2-D"):
        kernel_similarity(k, np.ones(3))


@pytest.fixture
def deblur_case(face, rng):
    k = _line_kernel(9)
    blurred = _blur(face, k) + 0.005 * rng.standard_normal(face.shape)
    return face, blurred, k


def test_error_ratio_true_kernel_is_one(deblur_case):
    sharp, blurred, k = deblur_case
    assert error_ratio(sharp, blurred, k, k.copy(), deconvolve=_wiener) == 1.0


def test_error_ratio_wrong_kernel(deblur_case):
    sharp, blurred, k = deblur_case
    wrong = _line_kernel(9, vertical=True)
    assert error_ratio(sharp, blurred, k, wrong, deconvolve=_wiener) > 3
    # a shifted copy of the true kernel is only a shift of the result: tolerated
    shifted = np.roll(np.pad(k, 2), 1, axis=1)
    assert error_ratio(sharp, blurred, k, shifted, deconvolve=_wiener) == pytest.approx(1.0, abs=0.05)


def test_error_ratio_errors(deblur_case):
    sharp, blurred, k = deblur_case
    with pytest.raises(ValueError, match=r"\(96, 96\) and \(96, 95\)"):
        error_ratio(sharp, blurred[:, :-1], k, k, deconvolve=_wiener)
    with pytest.raises(ValueError, match="same shape"):
        error_ratio(sharp, blurred, k, k, deconvolve=lambda y, kk: y[:-1])
    with pytest.raises(InvalidKernelError):
        error_ratio(sharp, blurred, k, np.ones((4, 4)), deconvolve=_wiener)


def test_error_ratio_default_deconvolution(deblur_case):
    sharp, blurred, k = deblur_case
    try:
        from classicdeblur.solvers.nonblind import hyper_laplacian  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="deconvolve="):
            error_ratio(sharp, blurred, k, k)
    else:
        assert error_ratio(sharp, blurred, k, k) == 1.0


def test_success_rate_and_cumulative():
    r = [1.0, 1.5, 3.0, 3.5, 10.0]
    assert success_rate(r) == 0.6
    assert success_rate(r, threshold=2) == 0.4
    g, f = cumulative_error_ratio(r)
    assert g[0] == 1 and g[-1] == 5 and len(g) == len(f) == 17
    assert f[0] == 0.2 and f[-1] == 0.8
    assert np.all(np.diff(f) >= 0)
    g, f = cumulative_error_ratio(r, grid=[2, 3])
    np.testing.assert_array_equal(f, [0.4, 0.6])
    with pytest.raises(ValueError, match="empty"):
        success_rate([])
    with pytest.raises(ValueError, match="NaN"):
        cumulative_error_ratio([1.0, np.nan])
