"""PeriodicBlur (the x-step operator) and the k-step data term: adjoints, closed forms against direct solves."""

import numpy as np
import pytest

from classicdeblur.operators import (
    SOLVER_BOUNDARIES,
    GradientDataTerm,
    PeriodicBlur,
    check_solver_boundary,
    conjugate_gradient,
    convolve,
    gradients,
)


@pytest.mark.parametrize("boundary", SOLVER_BOUNDARIES)
@pytest.mark.parametrize("shape", [(20, 23), (20, 23, 3)])
def test_dot_product_adjoint(boundary, shape, xp, rng):
    op = PeriodicBlur(xp.asarray(rng.random(shape)), xp.asarray(rng.random((5, 7))), boundary)
    u = xp.asarray(rng.standard_normal(op.y.shape))
    v = xp.asarray(rng.standard_normal(op.y.shape))
    lhs, rhs = float((op.A(u) * v).sum()), float((u * op.A_adjoint(v)).sum())
    assert abs(lhs - rhs) <= 1e-10 * max(abs(lhs), 1.0)
    np.testing.assert_allclose(np.asarray(op.A_normal(u)), np.asarray(op.A_adjoint(op.A(u))), atol=1e-10)


def test_circular_blur_equals_direct_convolution(rng):
    x, k = rng.random((18, 21)), rng.random((5, 5))
    op = PeriodicBlur(x, k / k.sum(), "circular")
    np.testing.assert_allclose(op.A(x), convolve(x, k / k.sum(), boundary="circular", method="direct"), atol=1e-12)


def test_solve_is_the_minimiser_of_the_quadratic_problem(rng):
    # ||k * x - y||^2 + gamma ||D x - w||^2: the gradient of the objective vanishes at the closed form
    y, k = rng.random((16, 18)), rng.random((5, 5))
    op = PeriodicBlur(y, k / k.sum(), "circular")
    wx, wy = rng.standard_normal((2, 16, 18)) * 0.1
    gamma = 0.3
    x = op.solve(gamma, op.divergence_spectrum(wx, wy))
    gx, gy = gradients.gradient(x)
    grad = op.A_adjoint(op.A(x) - y) + gamma * gradients.divergence(gx - wx, gy - wy)
    assert float(np.abs(grad).max()) < 1e-10
    # the same by conjugate gradients on the normal equations
    rhs = op.A_adjoint(y) + gamma * gradients.divergence(wx, wy)
    cg, _ = conjugate_gradient(lambda v: op.A_normal(v) + gamma * gradients.divergence(*gradients.gradient(v)),
                               rhs, maxiter=500, tol=1e-13)
    np.testing.assert_allclose(x, cg, atol=1e-8)


def test_the_two_adjoint_gradients_agree(rng):
    op = PeriodicBlur(rng.random((16, 16)), np.ones((3, 3)) / 9, "circular")
    wx, wy = rng.standard_normal((2, 16, 16))
    np.testing.assert_allclose(op.gradient_adjoint_spectrum(wx, wy), op.divergence_spectrum(wx, wy), atol=1e-10)


def test_weighted_solve_and_wiener_form(rng):
    y, k = rng.random((16, 16)), rng.random((3, 3))
    op = PeriodicBlur(y, k / k.sum(), "circular")
    weight = 1.0 + rng.random(op.otf.shape)
    # with a data weight W: X = W conj(K) Y / (W |K|^2 + gamma R)
    got = op.solve(0.2, data_weight=weight)
    want = op.real(weight * op.otf.conj() * op.y_spectrum
                   / (weight * np.abs(op.otf) ** 2 + 0.2 * op.laplacian_spectrum()))
    np.testing.assert_allclose(got, want, atol=1e-12)
    # regulariser 1: the Wiener filter
    wiener = op.real(op.otf.conj() * op.y_spectrum / (np.abs(op.otf) ** 2 + 0.05))
    np.testing.assert_allclose(op.solve(0.05, regulariser=1.0), wiener, atol=1e-12)


def test_with_kernel_shares_the_image_and_changes_the_blur(rng):
    y = rng.random((16, 20))
    op = PeriodicBlur(y, np.ones((1, 1)), "smooth")
    k = np.full((3, 3), 1 / 9)
    other = op.with_kernel(k)
    assert other.y is op.y and other.widths == op.widths
    np.testing.assert_allclose(other.A(op.y), PeriodicBlur(y, k, "smooth", widths=op.widths).A(op.y), atol=1e-12)
    np.testing.assert_allclose(op.A(op.y), op.y, atol=1e-12)  # the original is unchanged


@pytest.mark.parametrize("boundary", SOLVER_BOUNDARIES)
def test_extend_crop_and_finish(boundary, rng):
    y = rng.random((17, 19, 3))
    op = PeriodicBlur(y, np.ones((5, 5)) / 25, boundary)
    np.testing.assert_array_equal(op.crop(op.extend(y)), y)
    np.testing.assert_allclose(op.crop(op.y), y, atol=1e-12)  # the extension keeps the image
    assert op.finish(op.y * 3).max() <= 1.0


def test_solver_boundary_names():
    assert check_solver_boundary("smooth") == "smooth"
    with pytest.warns(DeprecationWarning, match="renamed 'smooth'"):
        assert check_solver_boundary("wrap") == "smooth"
    with pytest.raises(ValueError, match="choose from: smooth, edgetaper, circular"):
        PeriodicBlur(np.zeros((8, 8)), np.ones((3, 3)), "symmetric")


def test_gradient_data_term_equals_direct_convolutions(rng):
    x, k = rng.random((16, 18)), rng.random((5, 5))
    k /= k.sum()
    y = rng.random((16, 18))
    direct = sum(float(((convolve(g(x), k, boundary="circular", method="direct") - g(y)) ** 2).sum())
                 for g in (gradients.dx, gradients.dy))
    assert GradientDataTerm(y)(x, k) == pytest.approx(direct, rel=1e-10)
