"""Contract tests run for every operator: adjoint, linearity, dtype/backend, no mutation, FFT == direct."""

import numpy as np
import pytest

from classicdeblur.operators import BOUNDARIES, BlurOperator, KernelOperator, ZeroPaddedBlur, convolve, correlate

KSHAPES = [(5, 5), (3, 7), (9, 9)]


def make_operator(name, xp, boundary, kshape, rng, dtype=np.float64):
    k = xp.asarray(rng.random(kshape)).astype(dtype)
    x = xp.asarray(rng.random((20, 23))).astype(dtype)
    if name == "blur":
        return BlurOperator(k / k.sum(), boundary=boundary), x
    if name == "blur_rgb":
        return BlurOperator(k / k.sum(), boundary=boundary), xp.asarray(rng.random((20, 23, 3))).astype(dtype)
    if name == "kernel":
        return KernelOperator(x, kshape, boundary=boundary), k
    if name == "kernel_stack":  # gradients stacked as channels
        return KernelOperator(xp.asarray(rng.random((20, 23, 2))).astype(dtype), kshape, boundary=boundary), k
    raise ValueError(name)


OPERATORS = ["blur", "blur_rgb", "kernel", "kernel_stack"]


@pytest.mark.parametrize("name", OPERATORS)
@pytest.mark.parametrize("boundary", BOUNDARIES)
@pytest.mark.parametrize("kshape", KSHAPES)
def test_dot_product_adjoint(name, boundary, kshape, xp, rng):
    A, u = make_operator(name, xp, boundary, kshape, rng)
    Au = A(u)
    v = xp.asarray(rng.standard_normal(Au.shape))
    lhs = float((Au * v).sum())
    rhs = float((u * A.adjoint(v)).sum())
    assert abs(lhs - rhs) <= 1e-10 * max(abs(lhs), 1.0)


@pytest.mark.parametrize("name", OPERATORS)
@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_linearity(name, boundary, xp, rng):
    A, u = make_operator(name, xp, boundary, (5, 5), rng)
    w = xp.asarray(rng.random(u.shape))
    np.testing.assert_allclose(np.asarray(A(2 * u - 3 * w)), np.asarray(2 * A(u) - 3 * A(w)), atol=1e-12)


@pytest.mark.parametrize("name", OPERATORS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_backend_and_no_mutation(name, dtype, xp, rng):
    A, u = make_operator(name, xp, "symmetric", (5, 5), rng, dtype)
    before = u.copy()
    y = A(u)
    back = A.adjoint(y)
    assert type(y) is type(u) and type(back) is type(u)
    assert y.dtype == dtype and back.dtype == dtype
    assert back.shape == u.shape
    assert bool((u == before).all())


@pytest.mark.parametrize("boundary", BOUNDARIES)
@pytest.mark.parametrize("kshape", KSHAPES)
@pytest.mark.parametrize("func", [convolve, correlate])
def test_fft_equals_direct(boundary, kshape, func, xp, rng):
    x = xp.asarray(rng.random((24, 19)))
    k = xp.asarray(rng.random(kshape))
    a = func(x, k, boundary=boundary, method="fft")
    b = func(x, k, boundary=boundary, method="direct")
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-12)


def test_convolution_not_correlation():
    x = np.zeros((7, 7)); x[3, 3] = 1
    k = np.zeros((3, 3)); k[0, 0] = 1  # up-left of the centre
    for method in ("fft", "direct"):
        y = convolve(x, k, method=method, boundary="circular")
        assert y[2, 2] == pytest.approx(1.0)  # a true convolution moves the dot up-left
        y = correlate(x, k, method=method, boundary="circular")
        assert y[4, 4] == pytest.approx(1.0)


def test_delta_kernel_is_identity(rng):
    x = rng.random((16, 16, 3))
    k = np.zeros((5, 5)); k[2, 2] = 1
    for boundary in ("symmetric", "replicate", "circular"):
        np.testing.assert_allclose(convolve(x, k, boundary=boundary, method="fft"), x, atol=1e-12)


def test_circular_prox_matches_cg(rng):
    k = rng.random((5, 5)); k /= k.sum()
    z, y = rng.random((16, 16)), rng.random((16, 16))
    A = BlurOperator(k, boundary="circular")
    closed = A.prox_l2(z, y, 0.5)
    generic = super(BlurOperator, A).prox_l2(z, y, 0.5, maxiter=500, tol=1e-12)
    np.testing.assert_allclose(closed, generic, atol=1e-8)
    # optimality: A^T(Ax - y) + (x - z)/gamma = 0
    grad = A.adjoint(A(closed) - y) + (closed - z) / 0.5
    assert float(np.abs(grad).max()) < 1e-8


def test_unknown_boundary_lists_choices():
    with pytest.raises(ValueError, match="choose from: symmetric, replicate, circular, valid"):
        convolve(np.zeros((5, 5)), np.ones((3, 3)), boundary="zero")


@pytest.mark.parametrize("shape", [(20, 23), (20, 23, 2)])
@pytest.mark.parametrize("kshape", KSHAPES)
def test_zero_padded_blur_adjoint_and_direct(shape, kshape, xp, rng):
    k = rng.random(kshape)
    A = ZeroPaddedBlur(xp.asarray(k / k.sum()), shape[:2])
    u = xp.asarray(rng.standard_normal(shape))
    v = xp.asarray(rng.standard_normal(shape))
    lhs, rhs = float((A(u) * v).sum()), float((u * A.adjoint(v)).sum())
    assert abs(lhs - rhs) <= 1e-10 * max(abs(lhs), 1.0)
    # against direct convolution of the zero-padded image
    hh, hw = kshape[0] // 2, kshape[1] // 2
    x = rng.random(shape[:2])
    direct = convolve(np.pad(x, ((hh, hh), (hw, hw))), k / k.sum(), boundary="valid", method="direct")
    np.testing.assert_allclose(np.asarray(A(xp.asarray(x))), direct, atol=1e-12)
