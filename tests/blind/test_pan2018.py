"""pan2018: learned sharp edges of faces (Pan, Ren, Hu & Yang, TPAMI 2018) on the shared lifecycle."""

import numpy as np
import pytest

import classicdeblur as cd
from classicdeblur.blind.edges import ReferenceEdges
from classicdeblur.blind.pan2018 import pan2018
from classicdeblur.degrade import degrade
from classicdeblur.metrics import kernel_similarity, psnr

#: Kernel similarity pan2018 reaches on the 96-px test face under the 9-px motion blur below
#: (measured: see test_recovers_a_synthetic_kernel; the blurred input's similarity to a delta is 0.33).
SIMILARITY = 0.80


@pytest.fixture(scope="module")
def blurred(face):
    k = cd.resolve_kernel("motion:length=9,angle=35")
    return degrade(face, k, rng=11), k


def test_recovers_a_synthetic_kernel(face, blurred):
    y, k = blurred
    out = cd.deblur(y, "pan2018", kernel_size=11, face_box="whole")
    assert kernel_similarity(out.kernel, k) >= SIMILARITY
    assert psnr(face, out.image, data_range=1) > psnr(face, y, data_range=1) + 1.0
    assert out.info["edge_predictor"] == "learned"


def test_perfect_edges_give_a_near_perfect_kernel(face, blurred):
    y, k = blurred
    # with the sharp face's own edges the k-step needs little regularisation (gamma 0.1; the
    # default 1.0, set for the network's imperfect edges, caps the similarity at 0.92)
    _, kest, info = pan2018(y, kernel_size=11, edge_predictor=ReferenceEdges(face), gamma=0.1)
    assert kernel_similarity(kest, k) > 0.98 and info["edge_predictor"] == "reference"


def test_parameters_are_checked(blurred):
    y, _ = blurred
    for bad in ({"iterations": 0}, {"gamma": -1.0}, {"lam": 0.0}, {"cg_iterations": 0}):
        with pytest.raises(ValueError):
            pan2018(y, kernel_size=7, **bad)


def test_runs_on_the_device_and_in_colour(xp, face_rgb):
    y = degrade(face_rgb, cd.resolve_kernel("motion:length=5,angle=0"), rng=2)
    out, k, info = pan2018(xp.asarray(y), kernel_size=7, iterations=2)
    assert out.shape == y.shape and type(out) is type(xp.zeros(1)) and k.shape == (7, 7)
    assert info["iterations"] > 0 and 0 <= float(out.min()) and float(out.max()) <= 1


def test_registered_as_a_face_method_with_an_edge_predictor():
    reg = cd.blind.registry()
    meta = reg.meta("pan2018")
    assert meta["face"] and meta["edges"] and not meta["guided"]
