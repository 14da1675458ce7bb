"""Real CuPy and real ``@cuda.jit`` kernels against the NumPy reference (``pytest -m gpu``; skipped without a GPU).

Run by ``benchmarks/gpu_check.py`` on a machine with a CUDA GPU. Without one
the CuPy stand-in (``tests/test_standin_contract.py``, ``tests/test_batch_deblur.py``)
is the evidence that the device path holds together; these tests check what
the stand-in cannot: cuFFT, cupyx.scipy.ndimage and the CUDA kernels computing
what NumPy computes. cuFFT rounds differently from pocketfft, so non-blind
results agree to a tolerance, and blind results (whose alternations amplify
rounding) are compared by quality, not bit for bit.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

import classicdeblur as cd
from classicdeblur._deps import cupy_available, cuda_simulator
from classicdeblur.degrade import degrade
from classicdeblur.metrics import psnr
from classicdeblur.solvers.nonblind import NONBLIND

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not cupy_available(), reason="needs CuPy and a CUDA device")]


@pytest.fixture(scope="module")
def cp():
    import cupy

    return cupy


@pytest.fixture(scope="module")
def case(face):
    k = cd.resolve_kernel("motion:length=7,angle=20")
    return face, k, degrade(face, k, rng=5)


def test_the_gpu_is_chosen_and_real(cp):
    assert cd.backend.resolve_device("auto") == "gpu"
    assert not cuda_simulator(), "unset NUMBA_ENABLE_CUDASIM: these tests run the real CUDA kernels"
    a = cp.arange(4.0)
    assert cd.backend.is_cupy(a) and cd.backend.get_namespace(a) is cp
    assert isinstance(cd.backend.to_numpy(a), np.ndarray)


@pytest.mark.parametrize("method", NONBLIND.names())
def test_nonblind_on_cupy_matches_numpy(method, case, cp):
    _, k, y = case
    ref = cd.deconvolve(y, k, method, device="cpu")
    out = cd.deconvolve(cp.asarray(y), k, method)
    assert isinstance(out, cp.ndarray)
    np.testing.assert_allclose(out.get(), ref, atol=2e-4)


@pytest.mark.parametrize("method", cd.blind.registry().names())
def test_blind_on_cupy_is_as_good_as_numpy(method, case, cp):
    x, _, y = case
    kw = {"face_box": "whole"} if cd.blind.registry().meta(method).get("face") else {}
    if "reference" in cd.blind.registry().meta(method).get("needs", ()):
        kw["reference"] = x  # the sharp face (a host array) as the reference photo
    ref = cd.deblur(y, method, kernel_size=9, device="cpu", rng=0, **kw)
    out = cd.deblur(cp.asarray(y), method, kernel_size=9, rng=0, **kw)
    assert isinstance(out.image, cp.ndarray) and out.info["device"] == "gpu"
    k = out.kernel
    assert k.shape == (9, 9) and k.min() >= 0 and np.isclose(k.sum(), 1)
    assert psnr(x, out.image.get()) > psnr(x, ref.image) - 1.0


def test_cuda_engines_on_cupy_arrays_match_numpy(cp, rng):
    from classicdeblur.filters import bilateral, rmap, shock_filter
    from classicdeblur.solvers._shrink import shrink_hyper_laplacian, shrink_isotropic, shrink_l0, shrink_soft

    img = rng.random((70, 90))
    for f, kw in ((bilateral, {"sigma_range": 0.2}), (shock_filter, {"dt": 0.5})):
        out = f(cp.asarray(img), engine="cuda", **kw)
        assert isinstance(out, cp.ndarray)
        np.testing.assert_allclose(out.get(), f(img, engine="numpy", **kw), atol=1e-10)
    g = rng.standard_normal((2, 70, 90))
    np.testing.assert_allclose(rmap(cp.asarray(g[0]), cp.asarray(g[1]), engine="cuda").get(),
                               rmap(g[0], g[1], engine="numpy"), atol=1e-10)
    v = rng.standard_normal((40, 50, 3))
    np.testing.assert_allclose(shrink_soft(cp.asarray(v), 0.3, engine="cuda").get(), shrink_soft(v, 0.3, engine="numpy"),
                               atol=1e-12)
    np.testing.assert_allclose(shrink_hyper_laplacian(cp.asarray(v), 4.0, 2 / 3, engine="cuda").get(),
                               shrink_hyper_laplacian(v, 4.0, 2 / 3, engine="numpy"), atol=1e-9)
    for f in (shrink_isotropic, shrink_l0):
        a = f(cp.asarray(v), cp.asarray(v[::-1].copy()), 0.3, engine="cuda")
        b = f(v, v[::-1].copy(), 0.3, engine="numpy")
        for u, w in zip(a, b):
            np.testing.assert_allclose(u.get(), w, atol=1e-12)


@pytest.mark.parametrize("method", ["xu2010", "cho2009", "anwar2018"])
def test_batch_on_cupy(method, face, cp):
    ks = ["motion:length=7,angle=20", "motion:length=5,angle=80", "gaussian:sigma=1.2"]
    xs = [face[16:80, 16:80], face[10:74, 20:84], face[30:94, 5:69]]
    ys = np.stack([degrade(np.ascontiguousarray(x), cd.resolve_kernel(k), rng=i) for i, (x, k) in enumerate(zip(xs, ks))])
    kw = {"face_box": "whole"} if method == "anwar2018" else {}
    res = cd.deblur_batch(cp.asarray(ys), method, kernel_size=9, **kw)
    assert all(isinstance(r.image, cp.ndarray) and r.info["batched"] for r in res)
    for r, y, x in zip(res, ys, xs):
        one = cd.deblur(cp.asarray(y), method, kernel_size=9, **kw)
        # the same steps on the GPU; cuFFT and CUB reductions may round a batch and one image differently
        assert psnr(x, r.image.get()) > psnr(x, one.image.get()) - 1.0


def test_gpu_without_cupy_is_one_line(monkeypatch):
    monkeypatch.setenv("CLASSICDEBLUR_DISABLE_GPU", "1")
    from classicdeblur import _deps

    _deps.cupy_available.cache_clear()
    try:
        with pytest.raises(cd.errors.DeviceUnavailableError) as info:
            cd.backend.resolve_device("gpu")
        assert "\n" not in str(info.value)
        assert cd.backend.resolve_device("auto") == "cpu"
    finally:
        monkeypatch.delenv("CLASSICDEBLUR_DISABLE_GPU")
        _deps.cupy_available.cache_clear()
        assert os.environ.get("CLASSICDEBLUR_DISABLE_GPU") is None
