"""The whole-photo path of the face methods: kernel from the face region, the whole photo restored."""

import numpy as np
import pytest

import classicdeblur as cd
from classicdeblur.degrade import degrade
from classicdeblur.blind.photo import face_region


@pytest.fixture(scope="module")
def photo(face):
    """The 96x96 test face pasted into a larger, mostly flat photo with one bright bar, blurred."""
    img = np.full((260, 340), 0.45)
    img[120:216, 200:296] = face
    img[20:40, 20:150] = 0.9
    k = cd.resolve_kernel("motion:length=7,angle=30")
    return img, degrade(img, k, rng=4), k


@pytest.mark.parametrize("method", ["anwar2018", "tian2015", "exemplar"])
def test_face_methods_restore_the_whole_photo(photo, method):
    sharp, blurred, k = photo
    res = cd.deblur(blurred, method, kernel_size=9, face_box=(214, 136, 70, 72), **(
        {"iterations": 2} if method == "exemplar" else {}))
    assert res.image.shape == sharp.shape and np.isfinite(res.image).all()
    top, bottom, left, right = res.info["face_region"]
    assert left > 100 and top > 40  # estimated around the face, away from the bar
    # the bar, far from the face, is restored too: it is sharper than in the blurred photo
    edge = slice(18, 24), slice(60, 100)
    assert np.abs(np.diff(res.image[edge], axis=0)).max() > np.abs(np.diff(blurred[edge], axis=0)).max()


def test_face_region_is_clipped_to_the_image():
    # centre (25, 20), half sizes 2 * 50 / 2 + 10 = 60 and 2 * 40 / 2 + 10 = 50, clipped at 0
    assert face_region((0, 0, 50, 40), (100, 100), context=2.0, margin=10) == (0, 70, 0, 85)


def test_the_restore_target_is_an_explicit_argument():
    # a method estimates on a crop and restores the photo given as target; nothing else changes
    photo = np.random.default_rng(0).random((40, 40))
    crop = photo[8:32, 8:32]
    out, k, _ = cd.blind.registry().get("xu2010")(crop, kernel_size=3, target=photo)
    assert out.shape == photo.shape
    alone, k_alone, _ = cd.blind.registry().get("xu2010")(crop, kernel_size=3)
    assert alone.shape == crop.shape and np.array_equal(k, k_alone)


def test_unknown_faces_option(photo):
    with pytest.raises(ValueError, match="largest, all"):
        cd.deblur(photo[1], "exemplar", faces="every")


def test_all_faces_share_one_region_and_context_widens_it(photo):
    from classicdeblur.blind.photo import _union

    assert _union([(10, 20, 30, 40), (100, 5, 20, 20)]) == (10, 5, 110, 55)
    _, blurred, _ = photo
    box = (214, 136, 70, 72)
    one = cd.deblur(blurred, "anwar2018", kernel_size=9, face_box=box, faces="all")
    wide = cd.deblur(blurred, "anwar2018", kernel_size=9, face_box=box, context=3.0)
    t1, b1, l1, r1 = one.info["face_region"]
    t3, b3, l3, r3 = wide.info["face_region"]
    assert (b3 - t3) > (b1 - t1) and (r3 - l3) > (r1 - l1)
    assert one.image.shape == wide.image.shape == blurred.shape
