"""Circular finite differences: adjoints, OTFs, filters, caching."""

import numpy as np
import pytest

from classicdeblur import backend
from classicdeblur.backend import asarray_on, to_numpy
from classicdeblur.operators import gradients as G
from classicdeblur.operators.functional import convolve

NAMES = list(G.FILTERS)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("shape", [(7, 9), (6, 5, 3)])
def test_adjoint_dot_test(xp, rng, name, shape):
    u = asarray_on(xp, rng.standard_normal(shape))
    v = asarray_on(xp, rng.standard_normal(shape))
    lhs = float((G.apply(name, u) * v).sum())
    rhs = float((u * G.apply_adjoint(name, v)).sum())
    assert lhs == pytest.approx(rhs, rel=1e-12, abs=1e-12)


def test_gradient_divergence_adjoint(xp, rng):
    x = asarray_on(xp, rng.standard_normal((8, 10)))
    gx, gy = (asarray_on(xp, a) for a in rng.standard_normal((2, 8, 10)))
    dx, dy = G.gradient(x)
    assert float((dx * gx + dy * gy).sum()) == pytest.approx(float((x * G.divergence(gx, gy)).sum()))


@pytest.mark.parametrize("name", NAMES)
def test_filter_is_true_convolution(rng, name):
    x = rng.random((9, 11))
    direct = convolve(x, G.FILTERS[name], boundary="circular", method="direct")
    np.testing.assert_allclose(G.apply(name, x), direct, atol=1e-12)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_otf_matches_image_domain(xp, rng, name, dtype):
    x = asarray_on(xp, rng.random((10, 12, 2)).astype(dtype))
    otf = G.filter_otf(name, x.shape, xp, dtype)
    assert otf.dtype == (np.complex64 if dtype == np.float32 else np.complex128)
    y = backend.irfft2(backend.rfft2(x) * otf[..., None], s=x.shape[:2])
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(to_numpy(y), to_numpy(G.apply(name, x)), atol=tol)


def test_forward_difference_values():
    x = np.array([[0.0, 1.0, 3.0]])
    np.testing.assert_array_equal(G.dx(x), [[1.0, 2.0, -3.0]])
    np.testing.assert_array_equal(G.dy(x.T), [[1.0], [2.0], [-3.0]])
    np.testing.assert_array_equal(G.dxx(x), [[4.0, 1.0, -5.0]])


def test_gradient_otfs_cached_and_readonly():
    a = G.gradient_otfs((16, 16))
    b = G.gradient_otfs((16, 16), np, np.float64)
    assert a[0] is b[0] and a[1] is b[1]
    with pytest.raises(ValueError):
        a[0][0, 0] = 1
    lap = abs(a[0]) ** 2 + abs(a[1]) ** 2
    assert float(lap.max()) == pytest.approx(8.0)
    assert float(lap[0, 0]) == 0.0


def test_preserves_dtype_and_type(xp):
    x = xp.ones((4, 5), dtype=np.float32)
    for name in NAMES:
        out = G.apply(name, x)
        assert out.dtype == np.float32 and type(out) is type(x)


def test_unknown_name():
    with pytest.raises(ValueError, match="choose from: dx, dy"):
        G.apply("dz", np.zeros((3, 3)))
    with pytest.raises(ValueError, match="float"):
        G.filter_otf("dx", (4, 4), np, np.int32)
