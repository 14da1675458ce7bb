"""Tests of the synthetic degradation protocol (EVALUATION.md, 'Synthetic blur')."""

import numpy as np
import pytest

from classicdeblur.degrade import degrade, pair_seed
from classicdeblur.errors import InvalidImageError, InvalidKernelError
from classicdeblur.operators.functional import convolve
from classicdeblur.psf.generators import motion


@pytest.fixture
def kernel():
    return motion(7, 30)


def test_reproducible_and_seeded(face, kernel):
    a = degrade(face, kernel, rng=5)
    assert np.array_equal(a, degrade(face, kernel, rng=5))
    assert np.array_equal(a, degrade(face, kernel, rng=np.random.default_rng(5)))
    assert not np.array_equal(a, degrade(face, kernel, rng=6))


def test_quantised_clipped_same_size(face, kernel):
    y = degrade(face, kernel, sigma=0.05, rng=0)
    assert y.shape == face.shape and y.dtype == np.float64
    assert y.min() >= 0 and y.max() <= 1
    assert np.array_equal(y * 255, np.round(y * 255))  # exactly k / 255
    assert np.allclose(y, np.round(y * 255) / 255, rtol=0, atol=0)
    z = degrade(face, kernel, quantize=False, rng=0)
    assert not np.allclose(z * 255, np.round(z * 255))


def test_noise_free_is_true_convolution_symmetric(face):
    k = np.zeros((5, 5))
    k[4, 2] = 1.0  # two rows below the centre: moves the image down
    y = degrade(face, k, noise=None, quantize=False)
    assert np.allclose(y[2:], face[:-2])
    assert np.allclose(y[:2], face[1::-1])  # symmetric extension at the top
    k2 = motion(9, 0)
    y2 = degrade(face, k2 * 3.0, noise=None, quantize=False)  # normalised to sum 1
    assert np.allclose(y2, np.clip(convolve(face, k2, boundary="symmetric"), 0, 1))


def test_gaussian_noise_std_on_flat_image():
    flat = np.full((128, 128), 0.5)
    y = degrade(flat, motion(5, 0), sigma=0.01, quantize=False, rng=1)
    assert np.std(y - 0.5) == pytest.approx(0.01, rel=0.05)
    assert abs(np.mean(y - 0.5)) < 1e-3
    yq = degrade(flat, motion(5, 0), sigma=0.01, rng=1)  # 8-bit rounding adds (1/255)^2/12
    assert np.std(yq - 0.5) == pytest.approx(np.sqrt(0.01**2 + (1 / 255) ** 2 / 12), rel=0.06)


def test_poisson_noise():
    flat = np.full((64, 64), 0.5)
    y = degrade(flat, np.ones((1, 1)), noise="poisson", peak=100.0, quantize=False, rng=0)
    assert np.mean(y) == pytest.approx(0.5, abs=0.01)
    assert np.var(y) == pytest.approx(0.5 / 100, rel=0.1)


def test_colour_channels(face_rgb, kernel):
    y = degrade(face_rgb, kernel, rng=2)
    assert y.shape == face_rgb.shape
    clean = degrade(face_rgb, kernel, noise=None, quantize=False)
    for c in range(3):
        assert np.allclose(clean[..., c], np.clip(convolve(face_rgb[..., c], kernel / kernel.sum()), 0, 1))
    d = y - clean
    assert not np.allclose(d[..., 0], d[..., 1], atol=1e-3)  # independent noise per channel


def test_float32_kept(face, kernel):
    assert degrade(face.astype(np.float32), kernel, rng=0).dtype == np.float32


def test_errors(face):
    with pytest.raises(ValueError, match="unknown noise"):
        degrade(face, np.ones((3, 3)), noise="salt")
    with pytest.raises(InvalidKernelError):
        degrade(face, np.ones((2, 2)))
    with pytest.raises(InvalidImageError, match="smaller than the kernel"):
        degrade(face[:4, :4], np.ones((7, 7)))
    with pytest.raises(ValueError):
        degrade(face, np.ones((3, 3)), boundary="valid")
    with pytest.raises(ValueError, match="sigma"):
        degrade(face, np.ones((3, 3)), sigma=-1)


def test_pair_seed_stable():
    assert pair_seed("ffhq/00001.png", "levin:1") == pair_seed("ffhq/00001.png", "levin:1")
    seeds = {pair_seed(f"img{i}", f"levin:{j}") for i in range(20) for j in range(1, 9)}
    assert len(seeds) == 160
    assert all(0 <= s < 2**63 for s in seeds)
    assert pair_seed("a", "bc") != pair_seed("ab", "c")  # names are separated
    assert pair_seed("a", "b") == 3231676703916841193  # fixed forever: benchmark sets depend on it
