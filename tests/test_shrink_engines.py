"""Per-pixel shrinkage engines: numba and CUDA (simulator) against the NumPy reference.

Without a GPU, ``tests/conftest.py`` switches on Numba's CUDA simulator, so the
``@cuda.jit`` kernels run here on small arrays (<= 32x32).
"""

import numpy as np
import pytest

from classicdeblur._deps import cupy_available, numba_cuda_available
from classicdeblur.backend import asarray_on, to_numpy
from classicdeblur.solvers import _shrink
from classicdeblur.solvers._shrink import (
    ENGINES,
    make_scalar_ops,
    shrink_hyper_laplacian,
    shrink_isotropic,
    shrink_l0,
    shrink_soft,
)

ALPHAS = [0.5, 2 / 3, 0.8, 1.0, 0.3]
COMPILED = ["numba", "cuda"]


def _tol(dtype):
    return dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-13)


def test_numba_cuda_available_for_ci():
    # Fails (not skips) when numba.cuda cannot be imported, in the simulator or on a GPU.
    assert numba_cuda_available() is True


def test_import_is_lazy():
    import subprocess
    import sys

    code = "import classicdeblur.solvers.nonblind, sys; print('numba' in sys.modules, 'cupy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


@pytest.mark.parametrize("engine", COMPILED)
@pytest.mark.parametrize("alpha", ALPHAS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_hyper_laplacian_engines_match_numpy(engine, alpha, dtype):
    v = (np.random.RandomState(0).standard_normal((24, 20)) * 0.4).astype(dtype)
    ref = shrink_hyper_laplacian(v, 8.0, alpha, engine="numpy")
    out = shrink_hyper_laplacian(v, 8.0, alpha, engine=engine)
    assert out.dtype == dtype and out.shape == v.shape
    assert 0.05 < np.mean(ref == 0) < 0.95  # both branches are exercised
    np.testing.assert_allclose(out, ref, **_tol(dtype))


@pytest.mark.parametrize("engine", COMPILED)
@pytest.mark.parametrize("shape", [(20, 24), (16, 12, 3)])
def test_l0_engines_match_numpy(engine, shape):
    h, v = np.random.RandomState(1).standard_normal((2,) + shape) * 0.1
    ref = shrink_l0(h, v, 0.02, engine="numpy")
    out = shrink_l0(h, v, 0.02, engine=engine)
    assert 0.05 < np.mean(ref[0] == 0) < 0.95
    for a, b in zip(out, ref):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("engine", COMPILED)
def test_soft_and_isotropic_engines_match_numpy(engine):
    h, v = np.random.RandomState(2).standard_normal((2, 16, 16, 2)).astype(np.float32) * 0.2
    np.testing.assert_allclose(shrink_soft(h, 0.1, engine=engine), shrink_soft(h, 0.1, engine="numpy"), **_tol(np.float32))
    for a, b in zip(shrink_isotropic(h, v, 0.1, engine=engine), shrink_isotropic(h, v, 0.1, engine="numpy")):
        assert a.dtype == np.float32
        np.testing.assert_allclose(a, b, **_tol(np.float32))


@pytest.mark.parametrize("alpha", ALPHAS)
@pytest.mark.parametrize("beta", [1.0, 8.0, 64.0, 256.0])
def test_hyper_laplacian_is_the_minimiser(alpha, beta):
    # brute force: the objective at w never exceeds the best value on a fine grid
    v = np.linspace(-1.2, 1.2, 97)
    w = shrink_hyper_laplacian(v, beta, alpha, engine="numpy")
    grid = np.linspace(-1.25, 1.25, 50001)
    f_grid = (np.abs(grid)[None] ** alpha + beta / 2 * (grid[None] - v[:, None]) ** 2).min(axis=1)
    f_w = np.abs(w) ** alpha + beta / 2 * (w - v) ** 2
    assert np.all(f_w <= f_grid + 1e-12)
    assert np.all(np.abs(w) <= np.abs(v)) and np.all(w * v >= 0)


@pytest.mark.parametrize("alpha", ALPHAS)
@pytest.mark.parametrize("beta", [1.0, 2.83, 64.0, 1e4])
def test_numba_skip_below_the_zero_threshold_changes_nothing(alpha, beta):
    # the numba loop returns 0 for |v| < zero_below(beta, alpha) without solving; dense values
    # around the threshold and random gradients must come out bit for bit as the full solve gives
    from classicdeblur.solvers import _shrink_numba

    tau = _shrink_numba.zero_below(beta, alpha)
    assert 0 < tau < np.inf
    band = tau * (1 + np.linspace(-1e-3, 1e-3, 4001))
    v = np.concatenate([band, -band, np.random.default_rng(0).normal(scale=0.2, size=20000)])
    skipped, full = np.empty_like(v), np.empty_like(v)
    _shrink_numba._hl_loop(v, skipped, beta, alpha, tau)
    _shrink_numba._hl_loop(v, full, beta, alpha, 0.0)
    assert np.array_equal(skipped, full) and np.array_equal(np.signbit(skipped), np.signbit(full))
    assert (full[: band.size] == 0).any() and (full[: band.size] != 0).any()  # the band straddles the threshold


def test_analytic_roots_agree_with_newton():
    ops = make_scalar_ops()
    for beta in (1.0, 10.0, 200.0):
        for x in np.linspace(0.0, 1.5, 61):
            assert ops.hl_half(x, beta) == pytest.approx(ops.hl_newton(x, beta, 0.5), rel=1e-9, abs=1e-12)
            assert ops.hl_two_thirds(x, beta) == pytest.approx(ops.hl_newton(x, beta, 2 / 3), rel=1e-9, abs=1e-12)


def test_l0_threshold_rule_and_channels():
    h = np.array([[0.1, 0.3]])
    v = np.array([[0.1, 0.0]])
    oh, ov = shrink_l0(h, v, 0.05, engine="numba")
    np.testing.assert_array_equal(oh, [[0.0, 0.3]])
    # colour: the squared magnitude is summed over channels (pixel kept as a whole)
    h3 = np.full((1, 1, 3), 0.15)
    v3 = np.zeros((1, 1, 3))
    assert np.all(shrink_l0(h3, v3, 0.05, engine="numba")[0] == 0.15)  # 3 * 0.0225 >= 0.05
    assert np.all(shrink_l0(h3[..., :1], v3[..., :1], 0.05, engine="numba")[0] == 0)


def test_inputs_not_mutated():
    v = np.random.RandomState(3).standard_normal((8, 8))
    keep = v.copy()
    for engine in ("numpy", "numba"):
        shrink_hyper_laplacian(v, 4.0, 0.5, engine=engine)
        shrink_l0(v, v, 0.5, engine=engine)
    np.testing.assert_array_equal(v, keep)


def test_numpy_engine_runs_on_xp(xp):
    v = asarray_on(xp, np.random.RandomState(4).standard_normal((12, 12)))
    w = shrink_hyper_laplacian(v, 8.0, 2 / 3, engine="numpy")
    assert type(w) is type(v)
    np.testing.assert_allclose(to_numpy(w), _shrink.hyper_laplacian(to_numpy(v), 8.0, 2 / 3))


@pytest.mark.gpu
@pytest.mark.skipif(not cupy_available(), reason="needs CuPy and a CUDA device")
def test_cuda_engine_on_cupy_arrays():  # pragma: no cover - GPU only
    import cupy

    v = np.random.RandomState(5).standard_normal((64, 48, 3)) * 0.3
    vg = cupy.asarray(v)
    w = shrink_hyper_laplacian(vg, 8.0, 0.5)  # auto -> cuda
    assert isinstance(w, cupy.ndarray)
    np.testing.assert_allclose(w.get(), shrink_hyper_laplacian(v, 8.0, 0.5, engine="numpy"), rtol=1e-12, atol=1e-13)
    oh, ov = shrink_l0(vg, vg, 0.1)
    np.testing.assert_array_equal(oh.get(), shrink_l0(v, v, 0.1, engine="numpy")[0])
    with pytest.raises(ValueError, match="NumPy arrays only"):
        shrink_soft(vg, 0.1, engine="numba")


def test_engine_validation():
    assert ENGINES == ("auto", "numpy", "numba", "cuda")
    with pytest.raises(ValueError, match="choose from: auto, numpy, numba, cuda"):
        shrink_soft(np.zeros(3), 0.1, engine="gpu")
    with pytest.raises(ValueError, match="choose from"):
        shrink_l0(np.zeros(3), np.zeros(3), 0.1, engine=None)
    assert _shrink.resolve_engine("auto", np.zeros(2)) == "numba"


def test_parameter_validation():
    with pytest.raises(ValueError, match="alpha"):
        shrink_hyper_laplacian(np.zeros(3), 1.0, 1.5)
    with pytest.raises(ValueError, match="beta"):
        shrink_hyper_laplacian(np.zeros(3), 0.0, 0.5)
    with pytest.raises(ValueError, match="same shape"):
        shrink_l0(np.zeros(3), np.zeros(4), 0.1)
