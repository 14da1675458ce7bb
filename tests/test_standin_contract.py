"""The CuPy contract, checked on the CPU: every method and operator on the CuPy stand-in (``cupy_standin``).

On the stand-in an implicit conversion to NumPy, a SciPy/OpenCV/Numba call on
a device array, or a host array mixed into device arithmetic raises
``TypeError``, as on CuPy; so every test here that runs a method is a check
that its path has none. Besides, each method:

* returns its image on the input's device, equal bit for bit to the NumPy
  result (the stand-in computes with NumPy, and its FFTs are the CPU's);
* moves a number of arrays between host and device that does not grow with
  the iteration count (runs with 2 and with 8 iterations per level).

Scalar syncs (``float()`` of a device value, data-dependent sizes) do grow:
the framework's early stop and history read one or two numbers per iteration,
and the CG solvers read their residual. They are counted, and the counts
are printed with ``-s`` (see also ``benchmarks/gpu_check.py``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import classicdeblur as cd
import cupy_standin as cs
from classicdeblur import backend
from classicdeblur.blind import registry
from classicdeblur.degrade import degrade
from classicdeblur.learned import models as learned_models
from classicdeblur.operators import (
    BatchedBlur,
    GradientDataTerm,
    KernelSystem,
    PeriodicBlur,
    ZeroPaddedBlur,
    convolve,
    correlate,
    fourier_kernel,
    gradients,
    wrap_pad,
)
from classicdeblur.solvers.nonblind import NONBLIND

METHODS = registry().names()
FACE = {m for m in METHODS if registry().meta(m).get("face")}
#: The reference photo of methods that need one (registry meta ``needs``): the sharp astronaut photo.
REFERENCE = cd.read_image(Path(__file__).parent / "data" / "astronaut_sharp.png").image
#: Cheaper settings where a method's defaults would make the test slow (same code paths).
CHEAP = {"tian2015": {"face_components": (4,)}}
#: How to run a blind method with ``n`` iterations per pyramid level.
ITERATIONS = {m: (lambda n: {"iterations": n}) for m in METHODS}
ITERATIONS["tian2015"] = lambda n: {"iterations": n, "refine": n}  # the framework's passes are the refinement's

#: The iteration parameter of each non-blind method (None: closed form) and two values.
NONBLIND_ITERATIONS = {"hyper_laplacian": ("inner", 1, 4), "irls": ("cg_iterations", 2, 8),
                       "l0": ("beta_max", 10.0, 1e4), "richardson_lucy": ("iterations", 2, 8),
                       "tv": ("iterations", 2, 8), "tv_l1": ("inner", 1, 4), "tikhonov": (None, 0, 0),
                       "wiener": (None, 0, 0)}


@pytest.fixture
def standin():
    """The stand-in registered with the backend (and removed after the test); counts reset."""
    with cs.installed() as xp:
        yield xp


@pytest.fixture(scope="module")
def blurred(face):
    return degrade(face[16:80, 16:80], cd.resolve_kernel("motion:length=7,angle=20"), rng=5)


def _counts(fn):
    """Transfers and syncs of ``fn()``, the package's device caches emptied first."""
    gradients._otf_cached.cache_clear()
    learned_models._cached.cache_clear()  # the edge network's weights are uploaded once per device
    cs.COUNTS.reset()
    out = fn()
    return out, cs.COUNTS.snapshot(), cs.COUNTS.report()


# --------------------------------------------------------------------------------------
# the stand-in itself
# --------------------------------------------------------------------------------------


def test_standin_refuses_what_cupy_refuses(standin):
    xp = standin
    a = xp.asarray(np.arange(6.0).reshape(2, 3))
    with pytest.raises(TypeError, match="Implicit conversion to a NumPy array is not allowed"):
        np.asarray(a)
    with pytest.raises(TypeError, match="Implicit conversion"):
        np.array(a)
    with pytest.raises(TypeError, match="Implicit conversion"):
        import scipy.ndimage

        scipy.ndimage.gaussian_filter(a, 1.0)
    with pytest.raises(TypeError, match="Unsupported type"):
        a + np.ones(3)
    with pytest.raises(TypeError, match="Unsupported type"):
        xp.where(np.ones((2, 3), bool), a, 0)
    with pytest.raises(AttributeError):
        backend.get_ndimage(xp).find_objects  # not in cupyx.scipy.ndimage
    # what works, and what it costs
    cs.COUNTS.reset()
    b = np.exp(a) + 2.0 * a - np.float64(1)  # ufuncs and scalars dispatch to the device
    assert isinstance(b, cs.ndarray) and isinstance(b.sum(), cs.ndarray) and b.sum().ndim == 0
    assert cs.COUNTS.snapshot() == {"h2d": 0, "d2h": 0, "transfers": 0, "syncs": 0}
    float(b.sum())
    _ = a[a > 2]
    host = a.get()
    assert isinstance(host, np.ndarray) and cs.COUNTS.snapshot() == {"h2d": 0, "d2h": 1, "transfers": 1, "syncs": 2}


def test_backend_takes_the_cupy_path(standin):
    xp = standin
    a = xp.asarray(np.random.default_rng(0).random((8, 10)))
    assert backend.is_cupy(a) and backend.get_namespace(a, np.zeros(2)) is xp
    assert backend.get_ndimage(xp) is cs.ndimage
    assert isinstance(backend.rfft2(a), cs.ndarray)
    np.testing.assert_array_equal(backend.to_numpy(backend.rfft2(a)), backend.rfft2(a.get()))
    assert backend.asarray_on(xp, np.ones(2)).__class__ is cs.ndarray
    assert backend.asarray_on(np, a).__class__ is np.ndarray
    assert backend.kernel_arg(a) is a._a
    with pytest.raises(TypeError, match="not a device array"):
        backend.kernel_arg(np.ones(2))
    # the API keeps a device input on its device with device="auto" or "gpu"
    res = cd.deconvolve(a, np.full((3, 3), 1 / 9), "wiener", device="gpu")
    assert isinstance(res, cs.ndarray)


def test_unregistered_after_the_fixture():
    assert not any(kind.name == "standin" for kind in backend.DEVICE_ARRAYS)


# --------------------------------------------------------------------------------------
# every operator
# --------------------------------------------------------------------------------------


def _host(a):
    return backend.to_numpy(a)


def _operator_contract():
    """``OPERATORS`` and ``make_operator`` of tests/operators/test_contract.py (a new operator is covered here too)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("_operator_contract", Path(__file__).parent / "operators" /
                                                  "test_contract.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.OPERATORS, mod.make_operator


@pytest.mark.parametrize("boundary", ["symmetric", "replicate", "circular", "valid"])
def test_operators_on_the_standin(boundary, standin, rng):
    """The operator contract (tests/operators/test_contract.py) on device arrays, equal to NumPy."""
    OPERATORS, make_operator = _operator_contract()
    xp = standin
    for name in OPERATORS:
        for dtype in (np.float32, np.float64):
            A_np, u_np = make_operator(name, np, boundary, (5, 5), np.random.default_rng(3), dtype)
            A, u = make_operator(name, xp, boundary, (5, 5), np.random.default_rng(3), dtype)
            before = u.copy()
            y = A(u)
            v = xp.asarray(rng.standard_normal(y.shape)).astype(dtype)
            back = A.adjoint(v)
            assert type(y) is cs.ndarray and type(back) is cs.ndarray
            assert y.dtype == dtype and back.dtype == dtype and back.shape == u.shape
            assert bool((u == before).all())
            lhs, rhs = float((y * v).sum()), float((u * back).sum())
            assert abs(lhs - rhs) <= (1e-3 if dtype == np.float32 else 1e-10) * max(abs(lhs), 1.0)
            np.testing.assert_array_equal(_host(y), A_np(u_np))


@pytest.mark.parametrize("func", [convolve, correlate])
def test_convolution_fft_and_direct_on_the_standin(func, standin, rng):
    xp = standin
    x, k = rng.random((24, 19)), rng.random((5, 7))
    for boundary in ("symmetric", "replicate", "circular", "valid"):
        for method in ("fft", "direct"):
            out = func(xp.asarray(x), xp.asarray(k), boundary=boundary, method=method)
            assert type(out) is cs.ndarray
            np.testing.assert_array_equal(_host(out), func(x, k, boundary=boundary, method=method))


def test_forward_model_classes_on_the_standin(standin, rng):
    xp = standin
    y, k = rng.random((30, 28)), rng.random((5, 5))
    k /= k.sum()
    for boundary in ("smooth", "edgetaper", "circular"):
        op_np, op = PeriodicBlur(y, k, boundary), PeriodicBlur(xp.asarray(y), xp.asarray(k), boundary)
        np.testing.assert_array_equal(_host(op.solve(1e-3)), op_np.solve(1e-3))
        np.testing.assert_array_equal(_host(op.A(op.y)), op_np.A(op_np.y))
        np.testing.assert_array_equal(_host(op.A_adjoint(op.y)), op_np.A_adjoint(op_np.y))
    pairs_np = [(gradients.dx(y), gradients.dx(y)), (gradients.dy(y), gradients.dy(y))]
    pairs = [(xp.asarray(a), xp.asarray(b)) for a, b in pairs_np]
    np.testing.assert_array_equal(_host(KernelSystem(pairs, 5).solve_l2(1e-2)), KernelSystem(pairs_np, 5).solve_l2(1e-2))
    np.testing.assert_array_equal(_host(KernelSystem(pairs, 5).solve_l1(1e-2)), KernelSystem(pairs_np, 5).solve_l1(1e-2))
    np.testing.assert_array_equal(_host(fourier_kernel(pairs, 5, 1.0)), fourier_kernel(pairs_np, 5, 1.0))
    assert GradientDataTerm(xp.asarray(y))(xp.asarray(y), xp.asarray(k)) == GradientDataTerm(y)(y, k)
    zb = ZeroPaddedBlur(xp.asarray(k), y.shape)
    np.testing.assert_array_equal(_host(zb(xp.asarray(y))), ZeroPaddedBlur(k, y.shape)(y))
    bb = BatchedBlur(y.shape, 5)
    np.testing.assert_array_equal(_host(bb(xp.asarray(y)[None], xp.asarray(k)[None])), bb(y[None], k[None]))
    np.testing.assert_array_equal(_host(wrap_pad(xp.asarray(y), (6, 4))), wrap_pad(y, (6, 4)))


# --------------------------------------------------------------------------------------
# every non-blind method
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", NONBLIND.names())
def test_nonblind_methods_on_the_standin(method, standin, blurred):
    xp = standin
    k = cd.resolve_kernel("motion:length=7,angle=20")
    param, few, many = NONBLIND_ITERATIONS[method]
    engine = {"engine": "numpy"} if method in ("hyper_laplacian", "l0", "tv", "tv_l1") else {}
    ref = cd.deconvolve(blurred, k, method, **engine, **({param: few} if param else {}))
    x = xp.asarray(blurred)
    out, c_few, _ = _counts(lambda: cd.deconvolve(x, k, method, **engine, **({param: few} if param else {})))
    assert type(out) is cs.ndarray
    np.testing.assert_array_equal(out.get(), ref)
    _, c_many, report = _counts(lambda: cd.deconvolve(x, k, method, **engine, **({param: many} if param else {})))
    assert c_many["transfers"] == c_few["transfers"], report
    print(f"\n{method}: {param}={few}: {c_few}; {param}={many}: {c_many}")


# --------------------------------------------------------------------------------------
# every blind method (face methods on the whole-photo path), with and without screening
# --------------------------------------------------------------------------------------


def _blind(method, image, iterations, screening, engine="numpy"):
    kw = {"face_box": "whole"} if method in FACE else {}
    if "reference" in registry().meta(method).get("needs", ()):
        kw["reference"] = REFERENCE  # a sharp photo of the same face (host array, read like a file)
    if screening:
        kw["pixel_screening"] = True
    return cd.deblur(image, method, kernel_size=9, rng=1, engine=engine,
                     **ITERATIONS[method](iterations), **CHEAP.get(method, {}), **kw)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("screening", [False, True])
def test_blind_methods_on_the_standin(method, screening, standin, blurred):
    if screening and not registry().meta(method).get("screening", True):
        pytest.skip(f"{method} has no alternation to screen (it refuses pixel_screening)")
    xp = standin
    ref = _blind(method, blurred, 2, screening)
    x = xp.asarray(blurred)
    out, c2, _ = _counts(lambda: _blind(method, x, 2, screening))
    assert type(out.image) is cs.ndarray and type(out.kernel) is np.ndarray
    assert out.info["device"] == "gpu"
    np.testing.assert_array_equal(out.image.get(), ref.image)
    np.testing.assert_array_equal(out.kernel, ref.kernel)
    assert [h.get("data") for h in out.info["history"]] == [h.get("data") for h in ref.info["history"]]
    out8, c8, report = _counts(lambda: _blind(method, x, 8, screening))
    assert out8.info["iterations"] > out.info["iterations"]
    assert c8["transfers"] == c2["transfers"], f"{method}: transfers grow with the iterations\n{report}"
    print(f"\n{method} screening={screening}: 2 iterations {c2}; 8 iterations {c8}")


@pytest.mark.parametrize("method", ["xu2010", "anwar2018"])
def test_flat_and_colour_inputs_on_the_standin(method, standin, face_rgb):
    xp = standin
    flat = cd.deblur(xp.asarray(np.full((48, 48), 0.3)), method, kernel_size=7, engine="numpy")
    assert type(flat.image) is cs.ndarray and flat.kernel[3, 3] == 1
    kw = {"face_box": "whole"} if method in FACE else {}
    rgb = degrade(face_rgb, cd.resolve_kernel("motion:length=5,angle=0"), rng=2)
    ref = cd.deblur(rgb, method, kernel_size=7, engine="numpy", iterations=2, **kw)
    out = cd.deblur(xp.asarray(rgb), method, kernel_size=7, engine="numpy", iterations=2, **kw)
    np.testing.assert_array_equal(out.image.get(), ref.image)


def test_face_detection_runs_on_the_host_once(standin):
    """A face method on a photo with dlib's detection: the photo's luminance goes to the host once."""
    pytest.importorskip("dlib")
    photo = cd.read_image(Path(__file__).parent / "data" / "astronaut_levin3.png").image
    from classicdeblur.faces.detect import detect_faces

    try:
        found = detect_faces(photo)
    except Exception as exc:  # pragma: no cover - the faces extra missing
        pytest.skip(f"no face detector: {exc}")
    if not found:  # pragma: no cover
        pytest.skip("no face found")
    xp = standin
    ref = cd.deblur(photo, "anwar2018", kernel_size=9, rng=1, engine="numpy", iterations=2)
    out, counts, report = _counts(lambda: cd.deblur(xp.asarray(photo), "anwar2018", kernel_size=9, rng=1,
                                                    engine="numpy", iterations=2))
    np.testing.assert_array_equal(out.image.get(), ref.image)
    host_reads = [k for k in cs.COUNTS.sites if k[0] == "d2h" and "photo.py" in k[2]]
    assert host_reads and all(cs.COUNTS.sites[k] == 1 for k in host_reads), report


def test_cuda_engine_kernels_take_standin_arrays_in_place(standin, rng):
    """The ``@cuda.jit`` kernels get the device array itself (zero copy), here in Numba's CUDA simulator."""
    from classicdeblur.filters import shock_filter
    from classicdeblur.solvers._shrink import shrink_soft

    xp = standin
    img = rng.random((12, 14))
    ref = shock_filter(img, iterations=2, dt=0.5, engine="numpy")
    cs.COUNTS.reset()
    out = shock_filter(xp.asarray(img), iterations=2, dt=0.5, engine="cuda")
    assert type(out) is cs.ndarray and cs.COUNTS.transfers == 1  # the asarray above
    np.testing.assert_allclose(out.get(), ref, atol=1e-12)
    v = rng.standard_normal((9, 7))
    np.testing.assert_allclose(shrink_soft(xp.asarray(v), 0.3, engine="cuda").get(),
                               shrink_soft(v, 0.3, engine="numpy"), atol=1e-12)
