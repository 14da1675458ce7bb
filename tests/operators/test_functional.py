import numpy as np
import pytest

from classicdeblur.operators.functional import (
    convolve,
    crop,
    edgetaper,
    pad,
    pad_adjoint,
    psf2otf,
    wrap_pad,
)


@pytest.mark.parametrize("mode", ["symmetric", "replicate", "circular"])
@pytest.mark.parametrize("shape", [(9, 7), (9, 7, 3)])
def test_pad_adjoint_dot_test(mode, shape, xp, rng):
    x = xp.asarray(rng.random(shape))
    px = pad(x, (3, 4), mode)
    y = xp.asarray(rng.random(px.shape))
    assert float((px * y).sum()) == pytest.approx(float((x * pad_adjoint(y, (3, 4), mode)).sum()), rel=1e-12)
    np.testing.assert_array_equal(np.asarray(crop(px, (3, 4))), np.asarray(x))


def test_psf2otf_matches_direct_circular_convolution(rng):
    x, k = rng.random((12, 10)), rng.random((5, 3))
    spec = np.fft.rfft2(x) * psf2otf(k, x.shape)
    np.testing.assert_allclose(np.fft.irfft2(spec, s=x.shape), convolve(x, k, boundary="circular", method="direct"),
                               atol=1e-12)


def test_psf2otf_rejects_kernel_larger_than_image():
    with pytest.raises(ValueError, match="larger than the image"):
        psf2otf(np.ones((9, 9)), (5, 5))


def test_edgetaper_makes_borders_periodic(rng):
    x = np.outer(np.linspace(0, 1, 40), np.ones(40))  # a ramp: top and bottom rows differ by 1
    k = np.ones((7, 7)) / 49
    t = edgetaper(x, k)
    assert abs(t[0] - t[-1]).max() < 0.5 * abs(x[0] - x[-1]).max()
    np.testing.assert_allclose(t[15:25, 15:25], x[15:25, 15:25])


def test_wrap_pad_is_smooth_and_periodic():
    x = np.outer(np.linspace(0, 1, 32), np.linspace(0.2, 0.8, 32))
    z = wrap_pad(x, (8, 8))
    np.testing.assert_allclose(crop(z, (8, 8)), x)
    # largest jump across the circular seam is no bigger than inside the padded band
    seam = max(abs(z[0] - z[-1]).max(), abs(z[:, 0] - z[:, -1]).max())
    assert seam < 0.1
    # plain periodic wrapping jumps by 0.64 across the seam; the minimum-gradient fill spreads
    # that over the band (its converged maximum step, 0.12, sits at the image corners)
    assert abs(np.diff(z, axis=0)).max() < 0.64 / 3


def test_wrap_pad_colour_and_type(rng, xp):
    x = xp.asarray(rng.random((16, 12, 3)).astype(np.float32))
    z = wrap_pad(x, (5, 4))
    assert z.shape == (26, 20, 3) and z.dtype == np.float32 and type(z) is type(x)


def test_large_ffts_use_every_core_with_the_same_result(monkeypatch):
    # from FFT_PARALLEL_SIZE elements on, scipy.fft runs with workers=-1: the transform is unchanged
    import scipy.fft

    from classicdeblur import backend

    x = np.random.default_rng(0).random((64, 48))
    assert backend._fft(x)[1] == {"workers": 1}
    monkeypatch.setattr(backend, "FFT_PARALLEL_SIZE", x.size)
    assert backend._fft(x)[1] == {"workers": -1}
    X = backend.rfft2(x)
    assert np.array_equal(X, scipy.fft.rfft2(x, axes=(0, 1), workers=1))
    assert np.array_equal(backend.irfft2(X, s=x.shape), scipy.fft.irfft2(X, s=x.shape, axes=(0, 1), workers=1))
    assert np.array_equal(backend.fft2(x), scipy.fft.fft2(x, axes=(0, 1)))
