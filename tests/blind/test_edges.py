"""The edge-predictor interface: registry, resolution, and ``edge_predictor=`` on every edge-based method."""

import numpy as np
import pytest

import classicdeblur as cd
from classicdeblur.blind import registry
from classicdeblur.blind.edges import (
    EDGE_PREDICTORS,
    EdgeMap,
    EdgePredictor,
    LearnedEdges,
    ReferenceEdges,
    resolve_edge_predictor,
)
from classicdeblur.degrade import degrade
from classicdeblur.errors import InvalidParameterError
from classicdeblur.metrics import kernel_similarity

EDGE_METHODS = ["anwar2018", "cho2009", "exemplar", "pan2018", "xu2010"]
WHOLE = {"anwar2018": {"face_box": "whole"}, "exemplar": {"face_box": "whole"}, "pan2018": {"face_box": "whole"}}


class Spy(EdgePredictor):
    """Records the shapes it is called on; predicts the plain gradients of its input."""

    name = "spy"

    def __init__(self):
        self.calls = []

    def predict(self, blurred):
        from classicdeblur.blind.edges import sharp_gradients

        self.calls.append(blurred.shape)
        gx, gy = sharp_gradients(blurred)
        return EdgeMap(gx, gy)


@pytest.fixture(scope="module")
def case(face):
    k = cd.resolve_kernel("motion:length=9,angle=35")
    sharp = face[8:88, 8:88]
    return sharp, degrade(sharp, k, rng=3), k


def test_registry_and_resolution():
    assert EDGE_PREDICTORS.names() == ["learned"]
    assert isinstance(resolve_edge_predictor("learned"), LearnedEdges)
    spy = Spy()
    assert resolve_edge_predictor(spy) is spy
    with pytest.raises(ValueError, match="unknown edge predictor 'sketch'; choose from: learned"):
        resolve_edge_predictor("sketch")
    with pytest.raises(InvalidParameterError, match="predict"):
        resolve_edge_predictor(object())


def test_the_edge_based_methods_declare_it():
    reg = registry()
    assert sorted(n for n in reg.names() if reg.meta(n).get("edges")) == EDGE_METHODS
    for name in reg.names():
        has = "edge_predictor" in reg.get(name).__signature__.parameters
        assert has == bool(reg.meta(name).get("edges")), name
    with pytest.raises(InvalidParameterError, match="no parameter 'edge_predictor'"):
        cd.deblur(np.random.default_rng(0).random((32, 32)), "krishnan2011", kernel_size=5, edge_predictor="learned")


def test_a_bad_predictor_is_refused_before_any_work(case):
    _, blurred, _ = case
    with pytest.raises(ValueError, match="unknown edge predictor"):
        cd.deblur(blurred, "xu2010", kernel_size=9, edge_predictor="magic")


@pytest.mark.parametrize("method", EDGE_METHODS)
def test_the_predictor_is_called_at_every_level(method, case):
    _, blurred, _ = case
    spy = Spy()
    out = cd.deblur(blurred, method, kernel_size=9, edge_predictor=spy, **WHOLE.get(method, {}))
    assert out.kernel.shape == (9, 9) and np.isclose(out.kernel.sum(), 1)
    shapes = set(spy.calls)
    assert len(shapes) >= 2 and blurred.shape in shapes  # coarse levels and the finest


@pytest.mark.parametrize("method", ["cho2009", "xu2010", "pan2018"])
def test_a_perfect_predictor_recovers_the_kernel(method, case):
    """With the true sharp image's edges, the k-step has what it needs: near-perfect kernels."""
    sharp, blurred, k = case
    out = cd.deblur(blurred, method, kernel_size=9, edge_predictor=ReferenceEdges(sharp), **WHOLE.get(method, {}))
    assert kernel_similarity(out.kernel, k) > 0.9


@pytest.mark.parametrize("method", EDGE_METHODS)
def test_learned_edges_run_on_every_edge_method(method, case):
    _, blurred, _ = case
    out = cd.deblur(blurred, method, kernel_size=9, edge_predictor="learned", **WHOLE.get(method, {}))
    assert np.isfinite(out.image).all() and out.kernel.min() >= 0 and np.isclose(out.kernel.sum(), 1)


def test_default_is_unchanged(case):
    """``edge_predictor=None`` is the method's own prediction: the same result as without the keyword."""
    _, blurred, _ = case
    for method in ("cho2009", "xu2010"):
        a = cd.deblur(blurred, method, kernel_size=9)
        b = cd.deblur(blurred, method, kernel_size=9, edge_predictor=None)
        np.testing.assert_array_equal(a.kernel, b.kernel)
        np.testing.assert_array_equal(a.image, b.image)


def test_learned_edges_on_the_device(xp):
    em = LearnedEdges().predict(xp.asarray(np.random.default_rng(0).random((24, 28))))
    assert em.gx.shape == (24, 28) and bool((em.gx[:, -1] == 0).all()) and bool((em.gy[-1] == 0).all())
    assert type(em.image) is type(xp.zeros(1))
