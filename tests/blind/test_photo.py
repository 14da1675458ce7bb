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


def test_auto_kernel_size_is_estimated_on_the_face_region(photo):
    from classicdeblur.blind.kernel_size import max_kernel_size

    _, blurred, _ = photo
    box = (214, 136, 70, 72)
    res = cd.deblur(blurred, "anwar2018", face_box=box)  # kernel_size="auto", the default
    top, bottom, left, right = face_region(box, blurred.shape, context=2.0)
    probe = res.info["kernel_size_estimate"]["probes"][0]
    assert res.info["kernel_size_source"] == "auto" and probe["scale"] == 1.0
    assert tuple(probe["shape"]) == (bottom - top, right - left)  # the region, not the 260x340 photo
    assert res.kernel.shape[0] % 2 == 1 and 7 <= res.kernel.shape[0] <= max_kernel_size((bottom - top, right - left))


@pytest.fixture(scope="module")
def large_photo(photo):
    """The photo at twice the size (face box 140x144), blurred by a 13-px motion."""
    from scipy.ndimage import zoom

    big = np.clip(zoom(photo[0], 2, order=1), 0, 1)
    k = cd.resolve_kernel("motion:length=13,angle=30")
    return big, degrade(big, k, rng=4), k


def test_a_large_face_is_estimated_scaled_down_and_the_photo_restored_in_tiles(large_photo, monkeypatch):
    from classicdeblur.blind import photo as path
    from classicdeblur.metrics import kernel_similarity, shift_psnr

    sharp, blurred, k = large_photo
    monkeypatch.setattr(path, "ESTIMATE_FACE_SIDE", 96)  # as a 12-MP photo's face is to 192
    monkeypatch.setattr(path, "TILE_PIXELS", 0)
    monkeypatch.setattr(path, "TILE_SIDE", 160)
    res = cd.deblur(blurred, "anwar2018", kernel_size=15, face_box=(428, 272, 140, 144))
    assert res.info["estimate_scale"] == pytest.approx(96 / 144)
    assert res.info["estimate_kernel_size"] == 11  # 15 * 2/3 = 10, odd
    assert res.kernel.shape == (15, 15) and res.image.shape == sharp.shape
    # measured: kernel similarity 0.662, +2.36 dB on the face's square; estimated at full scale the
    # same photo gives 0.713 and +4.76 dB (a thin motion kernel loses by the linear upsampling)
    assert kernel_similarity(k, res.kernel) > 0.64
    face = slice(272, 416), slice(428, 568)
    gain = (shift_psnr(sharp[face], res.image[face], max_shift=8).value
            - shift_psnr(sharp[face], blurred[face], max_shift=8).value)
    assert gain > 2.0


@pytest.mark.parametrize("box", [(214, 136, 70, 72), (150, 60, 180, 180)])
def test_a_photo_over_the_tile_limit_is_always_restored_in_tiles(photo, monkeypatch, box):
    # a small face (estimated at full scale) and one that fills the photo (> CROP_SHARE): on a photo
    # over TILE_PIXELS neither runs the method on the whole photo nor its final step untiled
    from classicdeblur.blind import photo as path

    _, blurred, _ = photo
    calls = []
    monkeypatch.setattr(path, "TILE_PIXELS", 200 * 200)
    monkeypatch.setattr(path, "TILE_SIDE", 128)
    real = path.restore
    monkeypatch.setattr(path, "restore", lambda *a, **kw: calls.append(a[0].shape) or real(*a, **kw))
    res = cd.deblur(blurred, "anwar2018", kernel_size=9, face_box=box)
    assert calls == [blurred.shape] and res.image.shape == blurred.shape
    assert res.info["estimate_scale"] == 1.0 and res.info["face_region"] is not None
    assert res.image.dtype == blurred.dtype


def test_a_large_photo_is_searched_on_a_small_copy(monkeypatch):
    from classicdeblur.blind import photo as path
    from classicdeblur.io import read_image

    img = read_image("tests/data/astronaut_sharp.png").image
    full, _, _ = path.find_photo_faces(img, quick=False)
    monkeypatch.setattr(path, "DETECT_SIDE", 120)  # the 160-px photo is searched at 120 px (upsampled once)
    small, _, attempts = path.find_photo_faces(img, quick=False)
    assert attempts[0]["image"] == "photo at 120x120"
    assert len(small) == 1 and np.allclose(small[0]["box"], full[0]["box"], atol=8)  # in the photo's pixels


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


# ----------------------------------------------------------------------------- no face, CNN faces, default method


@pytest.fixture
def no_detection(monkeypatch):
    """Every face search finds nothing, at once (the detectors' cost is tested in tests/faces)."""
    from classicdeblur.blind import photo
    from classicdeblur.faces import detect

    calls = []

    def nothing(image, **kw):
        calls.append(np.shape(image))
        return [], [{"detector": "hog", "upsample": 1, "found": 0, "seconds": 0.0}]

    monkeypatch.setattr(detect, "find_faces", nothing)
    monkeypatch.setattr(photo, "_SEARCH_CACHE", {})
    return calls


@pytest.fixture(scope="module")
def texture():
    """A 64x64 blurred texture with no face."""
    from scipy.ndimage import gaussian_filter

    x = gaussian_filter(np.random.default_rng(5).random((64, 64)), 1.5)
    x = (x - x.min()) / (x.max() - x.min())
    return degrade(x, cd.resolve_kernel("motion:length=5,angle=0"), rng=1)


def test_no_face_estimates_on_the_whole_image_with_a_warning(no_detection, texture):
    with pytest.warns(UserWarning, match=r"^no face found: the 64x64 image is taken to be a face crop; .*--require-face"):
        res = cd.deblur(texture, "anwar2018", kernel_size=5)
    assert res.info["face_source"] == "none" and res.info["face_region"] is None and res.info["faces"] == []
    assert res.image.shape == texture.shape and res.kernel.shape == (5, 5)
    assert [a["image"] for a in res.info["face_search"]][-1] == "first deblur"
    assert len(no_detection) == 2  # on the photo, then on the first deblur
    # as if told the image is a face crop
    whole = cd.deblur(texture, "anwar2018", kernel_size=5, face_box="whole")
    assert np.array_equal(whole.kernel, res.kernel) and np.array_equal(whole.image, res.image)


def test_require_face_restores_the_error(no_detection, texture):
    from classicdeblur.errors import NoFaceError

    with pytest.raises(NoFaceError, match="--face-box"):
        cd.deblur(texture, "anwar2018", kernel_size=5, require_face=True)
    with pytest.raises(ValueError, match="require_face"):
        cd.deblur(texture, "xu2010", kernel_size=5, require_face=True)  # not a face method


def test_no_face_message_says_crop_or_whole_image():
    from classicdeblur.blind.photo import _no_face_message

    assert "the 512x300 image is taken to be a face crop" in _no_face_message((300, 512))
    big = _no_face_message((710, 947))
    assert "the kernel is estimated on the whole 947x710 image" in big and "\n" not in big


def test_a_face_found_by_the_cnn_is_reported_and_used():
    from classicdeblur.io import read_image

    sharp = read_image("tests/data/astronaut_sharp.png").image
    blurred = degrade(sharp, cd.resolve_kernel("motion:length=21,angle=0"), rng=0)  # HOG misses this face
    res = cd.deblur(blurred, "anwar2018", kernel_size=9)
    (det,) = res.info["face_detections"]
    assert det["detector"] == "cnn" and det["image"] == "photo" and res.info["face_source"] == "detected"
    assert res.info["faces"] == [det["box"]]
    assert [a["detector"] for a in res.info["face_search"]] == ["hog", "hog", "cnn"]


def test_default_method_looks_for_a_face(texture):
    from classicdeblur.blind.photo import default_method
    from classicdeblur.io import read_image

    method, found, why = default_method(read_image("tests/data/astronaut_sharp.png").image)
    assert method == "anwar2018" and found[0]["detector"] == "hog" and why == "a face was found (hog)"
    assert default_method(texture)[0::2] == ("xu2010", "no face was found")


def test_cli_without_method_or_face(capsys, tmp_path, no_detection, texture):
    from classicdeblur.cli import main
    from classicdeblur.io import write_image

    write_image(tmp_path / "t.png", texture)
    code = main(["run", str(tmp_path / "t.png"), "--kernel-size", "5", "-q"])
    assert code == 0 and capsys.readouterr().err == ""  # quiet: no note
    code = main(["run", str(tmp_path / "t.png"), "--kernel-size", "5", "--overwrite"])
    err = capsys.readouterr().err
    assert code == 0 and "no --method given: no face was found, using xu2010" in err
    # a face method on a photo without a face: one warning line; --require-face: one error line
    code = main(["run", str(tmp_path / "t.png"), "-m", "anwar2018", "--kernel-size", "5", "--overwrite"])
    warned = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    assert code == 0 and len(warned) == 1 and "no face found" in warned[0]
    code = main(["run", str(tmp_path / "t.png"), "-m", "anwar2018", "--require-face", "--overwrite", "-q"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: no face found") and len(err.strip().splitlines()) == 1
    code = main(["run", str(tmp_path / "t.png"), "-m", "xu2010", "--require-face", "--overwrite"])
    assert code == 2 and "--require-face is for the face methods" in capsys.readouterr().err
    code = main(["run", str(tmp_path / "t.png"), "--kernel-size", "big"])
    assert code == 2 and "'auto' or an odd number" in capsys.readouterr().err
