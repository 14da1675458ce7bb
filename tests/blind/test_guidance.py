"""Face guidance (structure-weighted k-steps) and the landmark fallbacks behind it."""

import numpy as np
import pytest

import classicdeblur as cd
from classicdeblur.blind import guidance
from classicdeblur.blind.framework import LevelState
from classicdeblur.blind.guidance import FaceGuide, locate_landmarks
from classicdeblur.blind.pyramid import Level
from classicdeblur.degrade import degrade
from classicdeblur.faces.align import template_landmarks


def _state(shape=(128, 128), scale=1.0, ks=7):
    y = np.zeros(shape)
    return LevelState(Level(scale, shape, ks), 0, 1, y, y.copy(), np.zeros((ks, ks)), None)


def test_masks_widen_the_structure_by_the_tolerance_and_reach_by_the_kernel():
    lm = template_landmarks(128)
    guide = FaceGuide(lm, tolerance=3)
    wide, reach = guide.masks(Level(1.0, (128, 128), 9), np)
    thin = np.logical_or.reduce(guidance.structure_parts(lm, (128, 128)))
    from scipy.ndimage import distance_transform_edt

    dist = distance_transform_edt(~thin)
    # widened by a discrete disc of radius 3 (its farthest pixels are at sqrt(10) = 3.16), not more
    assert wide[thin].all() and 3 <= dist[wide > 0].max() < 3.5
    # reach: plus a disc of the kernel radius + 1 (5 px)
    assert (reach >= wide).all() and 8 <= dist[reach > 0].max() < 9
    # half the scale: half the tolerance, the level's own kernel radius
    w2, _ = guide.masks(Level(0.5, (64, 64), 5), np)
    assert 0.15 < w2.sum() / wide.sum() < 0.4


def test_hard_guidance_restricts_and_soft_guidance_adds_weighted_pairs():
    lm = template_landmarks(128)
    ones = np.ones((128, 128))
    pairs = [(ones, ones, 2.0), (ones, ones)]
    st = _state()
    hard = FaceGuide(lm, tolerance=2).apply(st, pairs)
    wide, reach = FaceGuide(lm, tolerance=2).masks(st.level, np)
    assert len(hard) == 2 and np.array_equal(hard[0][0], wide) and np.array_equal(hard[1][1], reach)
    assert hard[0][2] == 2.0
    soft = FaceGuide(lm, tolerance=2, weight=4.0).apply(st, pairs)
    assert len(soft) == 4 and soft[0] is pairs[0] and soft[2][2] == 8.0 and soft[3][2] == 4.0


def test_bad_landmarks_are_refused():
    with pytest.raises(ValueError, match="68, 2"):
        FaceGuide(np.zeros((5, 2)))


def test_landmarks_fall_back_to_the_matched_exemplar(monkeypatch):
    from classicdeblur.faces import locate
    from classicdeblur.faces.exemplars import load_database

    db = load_database()
    img = np.clip(np.asarray(db.faces[11], dtype=np.float64), 0, 1)
    monkeypatch.setattr(locate, "detect_faces", lambda *a, **k: [])
    lm, info = locate_landmarks(img, exemplars=db)
    assert info["source"] == "exemplar" and info["match"].index == 11
    assert np.abs(lm - db.landmarks[11]).max() < 3  # measured: about 1 px


@pytest.mark.parametrize("method", ["xu2010", "cho2009"])
def test_face_guided_methods_run_and_report_the_structure(face, method):
    y = degrade(face, cd.resolve_kernel("motion:length=7,angle=20"), rng=3)
    res = cd.deblur(y, method, kernel_size=9, face_guided=True, face_box=(18, 20, 62, 66))
    assert res.info["face_guide"]["source"] == "box"
    assert res.kernel.shape == (9, 9) and np.isclose(res.kernel.sum(), 1) and np.isfinite(res.image).all()
    plain = cd.deblur(y, method, kernel_size=9)
    assert not np.array_equal(plain.kernel, res.kernel)  # the guidance changes the estimate
