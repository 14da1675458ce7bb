"""Per-pixel filters of blind kernel estimation: engines against the reference, and properties.

Without a GPU, ``tests/conftest.py`` switches on Numba's CUDA simulator, so the
``@cuda.jit`` kernels run here on small arrays (12x10).
"""

import numpy as np
import pytest
from scipy import ndimage

from classicdeblur.backend import asarray_on, to_numpy
from classicdeblur.filters import bilateral, orientation_threshold, rmap, shock_filter

COMPILED = ["numba", "cuda"]
SHAPE = {"numba": (40, 33), "cuda": (12, 10)}  # the simulator runs kernels in Python: keep them small


def _tol(dtype):
    return dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)


def _image(shape, dtype=np.float64, seed=0):
    """Piecewise-constant image with noise: edges and flat parts for every filter branch."""
    rng = np.random.default_rng(seed)
    img = np.zeros(shape)
    img[:, shape[1] // 2 :] = 0.8
    img[shape[0] // 3 :, : shape[1] // 3] = 0.4
    return (img + 0.05 * rng.standard_normal(shape)).astype(dtype)


def _gradients(img):
    """Forward differences, 0 across the last row and column."""
    gx = np.diff(img, axis=1, append=img[:, -1:])
    gy = np.diff(img, axis=0, append=img[-1:])
    return gx, gy


# --------------------------------------------------------------------------------------
# engines agree with the reference
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("engine", COMPILED)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_bilateral_engines_match_numpy(engine, dtype):
    img = _image(SHAPE[engine], dtype)
    kw = dict(sigma_spatial=1.5, sigma_range=0.2, radius=2)
    ref = bilateral(img, engine="numpy", **kw)
    out = bilateral(img, engine=engine, **kw)
    assert out.dtype == dtype and out.shape == img.shape
    np.testing.assert_allclose(out, ref, **_tol(dtype))


def test_bilateral_window_wider_than_image():
    # the symmetric extension repeats with period 2n, as numpy's "symmetric" padding
    img = _image((5, 4))
    ref = bilateral(img, sigma_spatial=3.0, radius=7, engine="numpy")
    np.testing.assert_allclose(bilateral(img, sigma_spatial=3.0, radius=7, engine="numba"), ref, rtol=1e-12, atol=1e-12)
    padded = np.pad(img, 7, mode="symmetric")
    center = padded[7 + 2, 7 + 1]
    d = np.arange(-7, 8) ** 2
    w = np.exp(-(d[:, None] + d[None, :]) / 18.0) * np.exp(-((padded[2:17, 1:16] - center) ** 2) / 0.02)
    assert ref[2, 1] == pytest.approx(np.sum(w * padded[2:17, 1:16]) / np.sum(w), rel=1e-12)


@pytest.mark.parametrize("engine", COMPILED)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_shock_filter_engines_match_numpy(engine, dtype):
    img = ndimage.gaussian_filter(_image(SHAPE[engine]), 1.0).astype(dtype)
    ref = shock_filter(img, iterations=3, dt=0.2, engine="numpy")
    out = shock_filter(img, iterations=3, dt=0.2, engine=engine)
    assert out.dtype == dtype and out.shape == img.shape
    np.testing.assert_allclose(out, ref, **_tol(dtype))


@pytest.mark.parametrize("engine", COMPILED)
@pytest.mark.parametrize("window", [3, 5])
def test_rmap_engines_match_numpy(engine, window):
    gx, gy = _gradients(_image(SHAPE[engine]))
    ref = rmap(gx, gy, window=window, engine="numpy")
    out = rmap(gx, gy, window=window, engine=engine)
    np.testing.assert_allclose(out, ref, rtol=1e-12, atol=1e-12)


def test_auto_is_numba_on_numpy_arrays():
    img = _image((9, 8))
    np.testing.assert_array_equal(bilateral(img, engine="auto"), bilateral(img, engine="numba"))
    np.testing.assert_array_equal(shock_filter(img, engine="auto"), shock_filter(img, engine="numba"))


@pytest.mark.parametrize("engine", ["numpy", "auto"])
def test_array_type_is_kept(xp, engine):
    img = asarray_on(xp, _image((12, 10)))
    gx, gy = (asarray_on(xp, g) for g in _gradients(_image((12, 10))))
    for out in (bilateral(img, engine=engine), shock_filter(img, engine=engine), rmap(gx, gy, engine=engine)):
        assert type(out) is type(img) and out.shape == img.shape
    assert isinstance(orientation_threshold(gx, gy, min_pixels=3), float)


@pytest.mark.parametrize("engine", ["numpy", "numba"])
def test_inputs_are_not_modified(engine):
    img = _image((10, 9))
    gx, gy = _gradients(img)
    copies = [a.copy() for a in (img, gx, gy)]
    bilateral(img, engine=engine)
    out = shock_filter(img, iterations=0, engine=engine)
    assert out is not img
    np.testing.assert_array_equal(out, img)
    shock_filter(img, iterations=2, engine=engine)
    rmap(gx, gy, engine=engine)
    orientation_threshold(gx, gy, min_pixels=5)
    for a, b in zip((img, gx, gy), copies):
        np.testing.assert_array_equal(a, b)


# --------------------------------------------------------------------------------------
# properties
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ["numpy", "numba"])
def test_bilateral_of_a_constant_is_the_constant(engine):
    img = np.full((11, 13), 0.37)
    np.testing.assert_allclose(bilateral(img, sigma_spatial=2.0, sigma_range=0.05, engine=engine), img, rtol=1e-14)


@pytest.mark.parametrize("engine", ["numpy", "numba"])
def test_bilateral_with_huge_sigma_range_is_a_gaussian_blur(engine):
    img = _image((20, 17))
    out = bilateral(img, sigma_spatial=1.5, sigma_range=1e8, radius=3, engine=engine)
    # scipy's window half-width is int(truncate * sigma + 0.5) = 3, kernel normalised, same boundary
    blur = ndimage.gaussian_filter(img, 1.5, mode="reflect", truncate=2.0)
    np.testing.assert_allclose(out, blur, rtol=1e-10, atol=1e-12)


def test_bilateral_keeps_edges_that_a_blur_smooths():
    img = np.zeros((12, 12))
    img[:, 6:] = 1.0
    out = bilateral(img, sigma_spatial=2.0, sigma_range=0.1, engine="numpy")
    np.testing.assert_allclose(out, img, atol=1e-12)


@pytest.mark.parametrize("engine", ["numpy", "numba"])
def test_shock_filter_sharpens_a_blurred_step(engine):
    x = np.linspace(-1.0, 1.0, 32)
    step = np.tile(ndimage.gaussian_filter1d((x > 0).astype(float), 1.5), (8, 1))
    out = shock_filter(step, iterations=5, dt=0.25, engine=engine)
    assert np.abs(np.diff(out, axis=1)).max() > 2 * np.abs(np.diff(step, axis=1)).max()
    assert out.min() >= step.min() and out.max() <= step.max()  # no overshoot
    assert np.all(np.diff(out, axis=1) >= 0)  # still monotone


@pytest.mark.parametrize("engine", ["numpy", "numba"])
def test_shock_filter_keeps_a_constant(engine):
    img = np.full((7, 9), -0.25)
    np.testing.assert_array_equal(shock_filter(img, iterations=4, engine=engine), img)


@pytest.mark.parametrize("engine", ["numpy", "numba"])
def test_rmap_is_high_on_an_edge_and_low_on_a_line_or_texture(engine):
    img = np.zeros((15, 24))
    img[:, 4] = 1.0  # a thin line, narrower than the window
    img[:, 11:14:2] = 1.0  # texture: stripes of period 2
    img[:, 19:] = 1.0  # a long straight edge
    r = rmap(*_gradients(img), window=5, engine=engine)
    assert np.all((r >= 0) & (r < 1))
    assert r[7, 18] == pytest.approx(5 / 5.5)  # one unit step per row: 5 / (5 + 0.5)
    assert r[7, 4] < 1e-12
    assert r[7, 12] < 0.25


def test_rmap_window_is_clipped_at_the_border():
    gx = np.ones((4, 4))
    r = rmap(gx, np.zeros((4, 4)), window=3, engine="numpy")
    assert r[0, 0] == pytest.approx(4 / 4.5) and r[1, 1] == pytest.approx(9 / 9.5)


def _bins(gx, gy, bins):
    angle = np.mod(np.arctan2(gy, gx), np.pi)
    return np.minimum((angle * bins / np.pi).astype(int), bins - 1)


@pytest.mark.parametrize("bins", [1, 4, 8])
def test_orientation_threshold_keeps_min_pixels_per_bin(bins, rng):
    gx, gy = rng.standard_normal((2, 30, 30))
    t = orientation_threshold(gx, gy, min_pixels=20, bins=bins)
    mag, idx = np.hypot(gx, gy), _bins(gx, gy, bins)
    counts = [np.sum((idx == b) & (mag >= t)) for b in range(bins)]
    assert min(counts) >= 20
    # and it is the largest such threshold: one bin loses a pixel above it
    above = np.nextafter(t, np.inf)
    assert min(np.sum((idx == b) & (mag >= above)) for b in range(bins)) < 20


def test_orientation_threshold_small_and_empty_bins():
    # opposite gradients share a bin; bin 1 (45-90 deg) has 1 pixel, bins 2 and 3 none
    gx = np.array([[1.0, -2.0, 3.0, 0.5]])
    gy = np.array([[0.0, 0.0, 0.0, 0.6]])
    assert orientation_threshold(gx, gy, min_pixels=2, bins=4) == pytest.approx(np.hypot(0.5, 0.6))
    assert orientation_threshold(gx, gy, min_pixels=2, bins=1) == 2.0


def test_float32_is_preserved():
    img = _image((10, 9), np.float32)
    gx, gy = _gradients(img)
    for engine in ("numpy", "numba"):
        assert bilateral(img, engine=engine).dtype == np.float32
        assert shock_filter(img, engine=engine).dtype == np.float32
        assert rmap(gx, gy, engine=engine).dtype == np.float32
    assert rmap(gx, gy.astype(np.float64), engine="numpy").dtype == np.float64


# --------------------------------------------------------------------------------------
# argument checks
# --------------------------------------------------------------------------------------

IMG = np.zeros((6, 5))


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: bilateral(np.zeros((4, 4, 3))), "2-D float array"),
        (lambda: bilateral(np.zeros((4, 4), dtype=int)), "2-D float array"),
        (lambda: bilateral(np.zeros((0, 4))), "non-empty"),
        (lambda: bilateral(IMG, sigma_spatial=0.0), "sigma_spatial"),
        (lambda: bilateral(IMG, sigma_spatial=np.inf), "sigma_spatial"),
        (lambda: bilateral(IMG, sigma_range=-1.0), "sigma_range"),
        (lambda: bilateral(IMG, sigma_range=np.nan), "sigma_range"),
        (lambda: bilateral(IMG, sigma_range=1e-200), "sigma_range is too small"),
        (lambda: bilateral(IMG, sigma_spatial="wide"), "sigma_spatial"),
        (lambda: bilateral(IMG, radius=-1), "radius must be >= 0"),
        (lambda: bilateral(IMG, radius=1.5), "radius must be an integer"),
        (lambda: bilateral(IMG, radius=True), "radius must be an integer"),
        (lambda: bilateral(IMG, engine="fast"), "unknown engine"),
        (lambda: shock_filter(IMG, iterations=-1), "iterations"),
        (lambda: shock_filter(IMG, iterations=2.0), "iterations"),
        (lambda: shock_filter(IMG, dt=0.0), "dt"),
        (lambda: shock_filter(IMG, dt=None), "dt"),
        (lambda: shock_filter(np.zeros(5)), "2-D float array"),
        (lambda: rmap(IMG, np.zeros((5, 6))), "same shape"),
        (lambda: rmap(IMG, IMG, window=4), "odd"),
        (lambda: rmap(IMG, IMG, window=0), "window must be >= 1"),
        (lambda: rmap(IMG, IMG, engine=None), "unknown engine"),
        (lambda: orientation_threshold(IMG, IMG, min_pixels=0), "min_pixels"),
        (lambda: orientation_threshold(IMG, IMG, min_pixels=3, bins=0), "bins"),
        (lambda: orientation_threshold(IMG, IMG[:, :4], min_pixels=3), "same shape"),
    ],
)
def test_bad_arguments_raise(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_import_is_lazy():
    import subprocess
    import sys

    code = "import classicdeblur.filters, sys; print('numba' in sys.modules, 'cupy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_cuda_engine_returns_host_arrays_for_numpy_input():
    img = _image((12, 10))
    out = shock_filter(img, iterations=0, engine="cuda")
    assert isinstance(out, np.ndarray) and out is not img
    np.testing.assert_array_equal(to_numpy(out), img)
