"""The shared lifecycle of blind methods: shared keywords validated once, defaults, renamed keywords."""

import inspect

import numpy as np
import pytest

from classicdeblur._registry import Registry
from classicdeblur.blind import method as M
from classicdeblur.blind import registry
from classicdeblur.errors import InvalidParameterError

SHARED = ["final", "final_params", "pixel_screening", "screening_params", "engine"]


@pytest.fixture
def toy(monkeypatch):
    """A method registered in a private registry: it returns what it was given."""
    monkeypatch.setattr(M, "BLIND", Registry("blind method"))

    @M.blind_method("toy", description="test", final=("hyper_laplacian", {"lam": 7.0}), guided=True)
    def toy(image, options, *, kernel_size=None, rng=None, target=None, strength=1.0):
        return options, strength, target

    return toy


def test_the_wrapper_validates_and_fills_the_shared_keywords(toy):
    options, strength, target = toy(np.zeros(4), strength=2.0, target="photo")
    assert (strength, target) == (2.0, "photo")
    assert options.final == M.FinalStep("hyper_laplacian", {"lam": 7.0})  # the method's default pair
    assert options.pixel_screening is False and options.engine == "auto" and options.face_guided is False
    # another final starts from no parameters; an explicit engine reaches a final that takes one
    options, _, _ = toy(np.zeros(4), final="tv_l1", engine="numpy")
    assert options.final == M.FinalStep("tv_l1", {"engine": "numpy"})


@pytest.mark.parametrize("bad, message", [
    ({"final": "magic"}, "unknown non-blind method 'magic'"),
    ({"final_params": {"nsr": 1}}, "final method 'hyper_laplacian' has no parameter 'nsr'"),
    ({"engine": "gpu"}, "unknown engine 'gpu'"),
    ({"screening_params": {"nope": 1}}, "pixel screening has no parameter 'nope'"),
    ({"colour": 1}, "blind method 'toy' has no parameter 'colour'; valid: strength, final"),
    ({"face_box": (1, 2, 3, 4)}, "uses face_box and exemplars only with face_guided=True"),
])
def test_bad_shared_keywords_fail_before_any_work(toy, bad, message):
    with pytest.raises((ValueError, TypeError), match=message):
        toy(np.zeros(4), **bad)


def test_renamed_keywords_still_work_with_a_warning(toy):
    with pytest.warns(DeprecationWarning, match="'final_method' is renamed final"):
        options, _, _ = toy(np.zeros(4), final_method="wiener")
    assert options.final == M.FinalStep("wiener", {})
    # an old final-step parameter joins the method's default final parameters, as before the rename
    with pytest.warns(DeprecationWarning, match="'final_alpha' is renamed final_params"):
        options, _, _ = toy(np.zeros(4), final_alpha=0.5)
    assert options.final.params == {"lam": 7.0, "alpha": 0.5}


def test_signature_lists_own_then_shared_keywords(toy):
    params = list(inspect.signature(toy).parameters)
    assert params[:5] == ["image", "kernel_size", "rng", "target", "strength"]
    assert params[5:] == SHARED + ["face_box", "exemplars", "face_guided"]
    assert M.BLIND.meta("toy")["guided"] is True


def test_every_registered_method_takes_the_shared_keywords():
    reg = registry()
    for name in reg.names():
        params = inspect.signature(reg.get(name)).parameters
        meta = reg.meta(name)
        shared = [k for k in SHARED if meta["screening"] or k not in ("pixel_screening", "screening_params")]
        assert all(k in params for k in shared), name
        assert all(params[k].kind is inspect.Parameter.KEYWORD_ONLY for k in shared + ["kernel_size", "rng", "target"])
        assert ("pixel_screening" in params) == meta["screening"], name
        assert ("face_box" in params) == bool(meta["face"] or meta["guided"]), name


def test_unknown_parameter_error_names_the_valid_ones():
    with pytest.raises(InvalidParameterError, match="valid: iterations, gamma"):
        registry().get("xu2010")(np.zeros((32, 32)), colour=True)


def test_a_blind_method_refuses_a_tiny_image():
    import classicdeblur as cd
    from classicdeblur.errors import InvalidImageError

    with pytest.raises(InvalidImageError, match="at least 12x12"):
        cd.deblur(np.random.default_rng(0).random((5, 5)), "xu2010")
