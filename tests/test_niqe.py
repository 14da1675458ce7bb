"""NIQE (Mittal, Soundararajan & Bovik 2013): moment fits, pristine model, blur sensitivity."""

from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage

from classicdeblur.io import read_image
from classicdeblur.niqe import (
    N_FEATURES,
    aggd_fit,
    fit_niqe,
    ggd_fit,
    mscn,
    niqe,
    patch_features,
)

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def sharp_model():
    """Pristine model of four sharp scikit-image pictures (bundled with scikit-image)."""
    from skimage import color, data

    imgs = [data.camera() / 255.0, color.rgb2gray(data.astronaut()), data.coins() / 255.0, data.moon() / 255.0]
    return fit_niqe(imgs, patch=96)


def test_ggd_shapes_of_known_distributions():
    rng = np.random.default_rng(0)
    a_gauss, var_gauss = ggd_fit(rng.normal(scale=2.0, size=100_000))
    a_lap, _ = ggd_fit(rng.laplace(size=100_000))
    assert a_gauss == pytest.approx(2.0, abs=0.05) and var_gauss == pytest.approx(4.0, rel=0.03)
    assert a_lap == pytest.approx(1.0, abs=0.05)


def test_aggd_sees_asymmetry():
    rng = np.random.default_rng(1)
    g = rng.normal(size=100_000)
    left = rng.random(g.size) < 0.75  # an AGGD puts mass beta_l / (beta_l + beta_r) on the left
    x = np.where(left, -3 * np.abs(g), np.abs(g))  # left side three times wider
    a, bl, br = aggd_fit(x)
    assert a == pytest.approx(2.0, abs=0.1)
    assert bl / br == pytest.approx(3.0, rel=0.05)


def test_mscn_is_normalised():
    rng = np.random.default_rng(2)
    c, _ = mscn(255 * ndimage.gaussian_filter(rng.random((64, 64)), 1.0))
    assert abs(c.mean()) < 0.1 and 0.3 < c.std() < 1.5


def test_features_shape_and_model(sharp_model):
    f, s = patch_features(np.random.default_rng(3).random((200, 300)), patch=96)
    assert f.shape == (6, N_FEATURES) and s.shape == (6,)
    assert sharp_model["mu"].shape == (36,) and sharp_model["cov"].shape == (36, 36)
    assert np.all(np.isfinite(sharp_model["cov"]))


def test_blur_raises_niqe_on_a_face(face, sharp_model):
    # measured: astronaut_sharp 11.6 < 25.1 (sigma 1) < 29.8 (sigma 3); 96 px face 21.6 < 25.6-25.8
    img = read_image(DATA / "astronaut_sharp.png").image.mean(axis=2)
    scores = [niqe(ndimage.gaussian_filter(img, s) if s else img, sharp_model) for s in (0, 1.0, 3.0)]
    assert scores[0] < scores[1] < scores[2]
    sharp = niqe(face, sharp_model)
    assert all(sharp < niqe(ndimage.gaussian_filter(face, s), sharp_model) for s in (1.0, 2.0, 3.0))


def test_deterministic_and_colour(face, face_rgb, sharp_model):
    assert niqe(face, sharp_model) == niqe(face.copy(), sharp_model)
    assert np.isfinite(niqe(face_rgb, {**sharp_model, "patch": 64}))


def test_invalid_inputs(face, sharp_model):
    with pytest.raises(ValueError, match="mu"):
        niqe(face, {"cov": np.eye(36)})
    with pytest.raises(ValueError, match="sharpness"):
        fit_niqe([face], sharpness=0)
    with pytest.raises(ValueError, match="patch"):
        patch_features(face, patch=7)
    with pytest.raises(ValueError, match="too small"):
        niqe(np.zeros((4, 4)), sharp_model)
