"""Public API: deconvolve, deblur, methods, kernel resolution."""

import numpy as np
import pytest

import classicdeblur as cd
from classicdeblur.blind import BLIND
from classicdeblur.errors import InvalidKernelError, InvalidParameterError
from classicdeblur.operators import convolve


@pytest.fixture
def toy_blind(monkeypatch):
    """A stand-in blind method (returns the input and a delta kernel) to test the plumbing."""

    def toy(image, *, kernel_size, rng, strength=1.0):
        k = np.zeros((kernel_size or 3,) * 2)
        k[k.shape[0] // 2, k.shape[1] // 2] = 1
        return image * strength, k, {"iterations": 0, "draw": float(rng.random())}

    monkeypatch.setitem(BLIND._items, "toy", toy)
    monkeypatch.setitem(BLIND._meta, "toy", {"description": "test stand-in"})
    return toy


def test_methods_have_kinds_and_descriptions():
    ms = cd.methods()
    kinds = {m.name: m.kind for m in ms}
    for name in ("wiener", "richardson_lucy", "tikhonov", "hyper_laplacian", "irls", "tv", "l0"):
        assert kinds[name] == "non-blind"
    assert all(m.description for m in ms)
    with pytest.raises(ValueError, match="choose from: blind, non-blind"):
        cd.methods("other")


def test_deconvolve_improves_and_accepts_names(face):
    k = cd.resolve_kernel("levin:2")
    y = convolve(face, k)
    out = cd.deconvolve(y, "levin:2", method="hyper_laplacian")
    err_in, err_out = np.mean((y - face) ** 2), np.mean((out - face) ** 2)
    assert err_out < err_in / 2 and isinstance(out, np.ndarray)


def test_deconvolve_errors(face):
    with pytest.raises(ValueError, match="choose from: .*hyper_laplacian"):
        cd.deconvolve(face, np.ones((3, 3)), method="magic")
    with pytest.raises(InvalidParameterError, match="no parameter 'bogus'; valid: .*lam"):
        cd.deconvolve(face, np.ones((3, 3)), method="hyper_laplacian", bogus=1)
    with pytest.raises(InvalidKernelError, match="odd"):
        cd.deconvolve(face, np.ones((4, 4)))
    with pytest.raises(InvalidKernelError, match="neither an existing file"):
        cd.deconvolve(face, "no_such_kernel")


def test_deconvolve_does_not_mutate(face):
    y = convolve(face, np.ones((5, 5)) / 25)
    before = y.copy()
    cd.deconvolve(y, np.ones((5, 5)) / 25, method="tikhonov")
    np.testing.assert_array_equal(y, before)


def test_deblur_result_and_seed(toy_blind, face):
    a = cd.deblur(face, "toy", kernel_size=7, rng=3, strength=0.5)
    b = cd.deblur(face, "toy", kernel_size=7, rng=3, strength=0.5)
    assert a.kernel.shape == (7, 7) and np.allclose(a.image, face * 0.5)
    assert a.info["method"] == "toy" and a.info["params"] == {"strength": 0.5} and a.info["seconds"] >= 0
    assert a.info["draw"] == b.info["draw"]


def test_deblur_bad_arguments(toy_blind, face):
    with pytest.raises(InvalidKernelError, match="odd"):
        cd.deblur(face, "toy", kernel_size=8)
    with pytest.raises(InvalidKernelError, match="larger than the image"):
        cd.deblur(face[:20, :20], "toy", kernel_size=31)
    with pytest.raises(InvalidParameterError, match="valid: strength"):
        cd.deblur(face, "toy", gamma=2)
    with pytest.raises(ValueError, match="unknown blind method 'nope'; choose from: .*toy"):
        cd.deblur(face, "nope")
