"""Tests of classicdeblur.io (images and kernels) and classicdeblur.color."""

import io as _io
import os
import struct
import zlib

import numpy as np
import pytest
from PIL import Image, ImageOps

from classicdeblur import io as cdio
from classicdeblur.color import rgb_to_ycbcr, to_luminance, ycbcr_to_rgb
from classicdeblur.errors import (
    ClassicDeblurError,
    ImageReadError,
    ImageTooLargeError,
    InvalidImageError,
    InvalidKernelError,
    OutputExistsError,
    UnsupportedFormatError,
)
from classicdeblur.io import read_image, read_kernel, write_image, write_kernel

LAYOUTS = {"gray": 0, "gray_alpha": 1, "rgb": 3, "rgba": 4}


def _levels(rng, shape, bits):
    """Random image that is exactly representable at ``bits``."""
    m = 2**bits - 1
    return rng.integers(0, m + 1, size=shape) / m


def _make(rng, layout, bits, shape=(17, 23)):
    """(image, alpha) for a channel layout."""
    if layout == "gray":
        return _levels(rng, shape, bits), None
    if layout == "gray_alpha":
        return _levels(rng, shape, bits), _levels(rng, shape, bits)
    if layout == "rgb":
        return _levels(rng, shape + (3,), bits), None
    return _levels(rng, shape + (3,), bits), _levels(rng, shape, bits)


def _one_line(excinfo, path):
    msg = str(excinfo.value)
    assert "\n" not in msg
    assert str(path) in msg
    return msg


# ----------------------------------------------------------------------------
# round trips


@pytest.mark.parametrize("bits", [8, 16])
@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("ext", [".png", ".tif"])
def test_roundtrip_lossless_with_alpha(tmp_path, rng, ext, layout, bits):
    img, alpha = _make(rng, layout, bits)
    p = tmp_path / f"x{ext}"
    write_image(p, img, alpha=alpha, bit_depth=bits)
    d = read_image(p)
    assert d.bit_depth == bits
    assert d.format == {".png": "png", ".tif": "tiff"}[ext]
    assert d.path == str(p)
    assert d.image.dtype == np.float64 and d.image.shape == img.shape
    np.testing.assert_array_equal(d.image, img)
    if alpha is None:
        assert d.alpha is None
    else:
        np.testing.assert_array_equal(d.alpha, alpha)


@pytest.mark.parametrize(
    "ext,layout,bits",
    [
        (".pgm", "gray", 8),
        (".pgm", "gray", 16),
        (".ppm", "rgb", 8),
        (".ppm", "rgb", 16),
        (".bmp", "gray", 8),
        (".bmp", "rgb", 8),
    ],
)
def test_roundtrip_pnm_bmp(tmp_path, rng, ext, layout, bits):
    img, _ = _make(rng, layout, bits)
    p = tmp_path / f"x{ext}"
    write_image(p, img, bit_depth=bits)
    d = read_image(p)
    assert d.bit_depth == bits and d.alpha is None
    np.testing.assert_array_equal(d.image, img)


@pytest.mark.parametrize("layout", ["gray", "rgb"])
def test_roundtrip_jpeg_close(tmp_path, face, face_rgb, layout):
    img = face if layout == "gray" else face_rgb
    p = tmp_path / "x.jpg"
    write_image(p, img, bit_depth=16)  # JPEG is 8-bit: written as 8
    d = read_image(p)
    assert d.format == "jpeg" and d.bit_depth == 8 and d.image.shape == img.shape
    assert np.abs(d.image - img).mean() < 0.01


def test_alpha_dropped_where_format_cannot_hold_it(tmp_path, face_rgb):
    for ext in (".jpg", ".bmp", ".ppm"):
        p = tmp_path / f"x{ext}"
        write_image(p, face_rgb, alpha=np.ones(face_rgb.shape[:2]))
        d = read_image(p)
        assert d.alpha is None and d.image.shape == face_rgb.shape


def test_16bit_png_exact_and_really_16bit(tmp_path, rng):
    import cv2

    img = rng.integers(0, 65536, size=(9, 11, 3)).astype(np.uint16)
    p = tmp_path / "x.png"
    write_image(p, img / 65535.0, bit_depth=16)
    # an independent decoder sees the same 16-bit samples (BGR order)
    back = cv2.imread(str(p), cv2.IMREAD_UNCHANGED)
    assert back.dtype == np.uint16
    np.testing.assert_array_equal(back[..., ::-1], img)
    np.testing.assert_array_equal(np.round(read_image(p).image * 65535), img)


def test_reads_16bit_png_from_other_encoders(tmp_path, rng):
    import cv2

    g = rng.integers(0, 65536, size=(7, 5)).astype(np.uint16)
    Image.fromarray(g).save(tmp_path / "g.png")
    d = read_image(tmp_path / "g.png")
    assert d.bit_depth == 16
    np.testing.assert_array_equal(d.image, g / 65535.0)
    rgba = rng.integers(0, 65536, size=(7, 5, 4)).astype(np.uint16)
    cv2.imwrite(str(tmp_path / "c.png"), rgba[..., [2, 1, 0, 3]])
    d = read_image(tmp_path / "c.png")
    np.testing.assert_array_equal(d.image, rgba[..., :3] / 65535.0)
    np.testing.assert_array_equal(d.alpha, rgba[..., 3] / 65535.0)


def test_integer_input_and_clipping(tmp_path):
    p = tmp_path / "x.png"
    write_image(p, np.array([[0, 128, 255]], np.uint8))
    np.testing.assert_array_equal(read_image(p).image, [[0, 128 / 255, 1]])
    q = tmp_path / "y.png"
    write_image(q, np.array([[-0.5, 0.5, 2.0]]))
    np.testing.assert_array_equal(read_image(q).image, [[0, 128 / 255, 1]])


def test_palette_png_expanded(tmp_path):
    im = Image.fromarray(np.array([[0, 1], [1, 0]], np.uint8), mode="P")
    im.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    im.save(tmp_path / "p.png")
    d = read_image(tmp_path / "p.png")
    assert d.image.shape == (2, 2, 3)
    np.testing.assert_array_equal(d.image[0, 0], [1, 0, 0])
    np.testing.assert_array_equal(d.image[0, 1], [0, 0, 1])


# ----------------------------------------------------------------------------
# EXIF orientation


def _asym(h=16, w=24):
    """An image whose every flip/rotation differs (flat blocks survive JPEG)."""
    a = np.zeros((h, w, 3), np.uint8)
    a[: h // 2, : w // 3] = (255, 0, 0)
    a[h // 2 :, w // 3 : 2 * w // 3] = (0, 255, 0)
    a[: h // 2, 2 * w // 3 :] = (0, 0, 255)
    return a


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_exif_orientation_matches_pillow(tmp_path, orientation, fmt):
    im = Image.fromarray(_asym())
    exif = Image.Exif()
    exif[0x0112] = orientation
    p = tmp_path / ("x.jpg" if fmt == "JPEG" else "x.png")
    im.save(p, format=fmt, exif=exif)
    d = read_image(p)
    with Image.open(p) as ref:
        expected = np.asarray(ImageOps.exif_transpose(ref)) / 255.0
    np.testing.assert_array_equal(d.image, expected)


def test_exif_orientation_6_and_3_rotate(tmp_path):
    a = _asym()
    for o, expect in ((6, np.rot90(a, -1)), (3, a[::-1, ::-1])):
        exif = Image.Exif()
        exif[0x0112] = o
        p = tmp_path / f"o{o}.jpg"
        Image.fromarray(a).save(p, exif=exif, quality=100, subsampling=0)
        d = read_image(p)
        assert d.image.shape == expect.shape
        assert np.abs(d.image * 255 - expect).max() < 40  # JPEG error only


def test_tiff_orientation(tmp_path):
    import tifffile

    a = _asym()[..., 0]
    p = tmp_path / "o.tif"
    tifffile.imwrite(p, a, photometric="minisblack", extratags=[(274, "H", 1, 6, True)])
    np.testing.assert_array_equal(read_image(p).image, np.rot90(a, -1) / 255.0)


# ----------------------------------------------------------------------------
# bad inputs


def _png_bytes(shape=(8, 8)):
    buf = _io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, shape).astype(np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def _jpeg_bytes():
    buf = _io.BytesIO()
    rgb = np.random.default_rng(0).integers(0, 255, (64, 64, 3)).astype(np.uint8)
    Image.fromarray(rgb).save(buf, "JPEG")
    return buf.getvalue()


def test_missing_dir_empty(tmp_path):
    with pytest.raises(ImageReadError, match="no such file") as e:
        read_image(tmp_path / "nope.png")
    _one_line(e, tmp_path / "nope.png")
    with pytest.raises(ImageReadError, match="directory") as e:
        read_image(tmp_path)
    _one_line(e, tmp_path)
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(ImageReadError, match="empty") as e:
        read_image(tmp_path / "empty.png")
    _one_line(e, tmp_path / "empty.png")


@pytest.mark.parametrize("kind", ["png", "jpeg", "png16", "tiff"])
def test_truncated(tmp_path, kind):
    if kind == "png":
        data, p = _png_bytes((32, 32)), tmp_path / "t.png"
    elif kind == "jpeg":
        data, p = _jpeg_bytes(), tmp_path / "t.jpg"
    elif kind == "png16":
        write_image(tmp_path / "full.png", np.random.default_rng(0).random((32, 32, 3)), bit_depth=16)
        data, p = (tmp_path / "full.png").read_bytes(), tmp_path / "t.png"
    else:
        write_image(tmp_path / "full.tif", np.random.default_rng(0).random((32, 32)))
        data, p = (tmp_path / "full.tif").read_bytes(), tmp_path / "t.tif"
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageReadError) as e:
        read_image(p)
    _one_line(e, p)
    assert e.value.__cause__ is not None or "truncated" in str(e.value)


def test_corrupt_and_unsupported(tmp_path):
    junk = np.random.default_rng(0).integers(0, 256, 500).astype(np.uint8).tobytes()
    (tmp_path / "junk.png").write_bytes(junk)
    with pytest.raises(ImageReadError) as e:
        read_image(tmp_path / "junk.png")
    _one_line(e, tmp_path / "junk.png")
    (tmp_path / "junk.xyz").write_bytes(junk)
    with pytest.raises(UnsupportedFormatError) as e:
        read_image(tmp_path / "junk.xyz")
    _one_line(e, tmp_path / "junk.xyz")
    Image.new("L", (4, 4)).save(tmp_path / "a.gif")
    with pytest.raises(UnsupportedFormatError, match="GIF") as e:
        read_image(tmp_path / "a.gif")
    _one_line(e, tmp_path / "a.gif")


def test_max_pixels(tmp_path):
    p = tmp_path / "x.png"
    write_image(p, np.zeros((10, 10)))
    assert read_image(p, max_pixels=100).image.shape == (10, 10)
    with pytest.raises(ImageTooLargeError, match="over the limit of 99") as e:
        read_image(p, max_pixels=99)
    _one_line(e, p)


def test_max_pixels_env(tmp_path, monkeypatch):
    p = tmp_path / "x.png"
    write_image(p, np.zeros((10, 10)))
    monkeypatch.setenv("CLASSICDEBLUR_MAX_PIXELS", "50")
    with pytest.raises(ImageTooLargeError):
        read_image(p)


def test_decompression_bomb_fails_from_header(tmp_path):
    """A tiny PNG claiming 100000 x 100000 pixels is refused before any decoding."""
    data = bytearray(_png_bytes((1, 1)))
    data[16:24] = struct.pack(">II", 100_000, 100_000)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    p = tmp_path / "bomb.png"
    p.write_bytes(bytes(data))
    with pytest.raises(ImageTooLargeError, match="10000000000 pixels"):
        read_image(p)


def test_float_tiff(tmp_path):
    import tifffile

    ok = np.random.default_rng(0).random((6, 7)).astype(np.float32)
    tifffile.imwrite(tmp_path / "ok.tif", ok)
    d = read_image(tmp_path / "ok.tif")
    assert d.bit_depth == 16
    np.testing.assert_array_equal(d.image, ok.astype(np.float64))
    bad = ok.copy()
    bad[2, 3] = np.nan
    tifffile.imwrite(tmp_path / "nan.tif", bad)
    with pytest.raises(InvalidImageError, match="NaN") as e:
        read_image(tmp_path / "nan.tif")
    _one_line(e, tmp_path / "nan.tif")
    tifffile.imwrite(tmp_path / "big.tif", ok * 255)
    with pytest.raises(InvalidImageError, match=r"expected \[0, 1\]"):
        read_image(tmp_path / "big.tif")


# ----------------------------------------------------------------------------
# writing: safety


def _leftovers(d):
    return sorted(n for n in os.listdir(d) if n.endswith(".tmp"))


def test_atomic_encoder_failure_leaves_nothing(tmp_path, monkeypatch):
    def boom(*a, **k):
        raise RuntimeError("encoder exploded")

    monkeypatch.setattr(cdio.writing, "_encode", boom)
    with pytest.raises(RuntimeError):
        write_image(tmp_path / "x.png", np.zeros((4, 4)))
    assert os.listdir(tmp_path) == []


def test_atomic_write_failure_midway(tmp_path, monkeypatch):
    p = tmp_path / "x.png"
    write_image(p, np.zeros((4, 4)))
    before = p.read_bytes()

    def boom(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(cdio.atomic.os, "fsync", boom)
    with pytest.raises(ClassicDeblurError, match="No space left") as e:
        write_image(p, np.ones((4, 4)), overwrite=True)
    _one_line(e, p)
    assert p.read_bytes() == before
    assert _leftovers(tmp_path) == []
    with pytest.raises(ClassicDeblurError):
        write_image(tmp_path / "new.tif", np.ones((4, 4)))
    assert sorted(os.listdir(tmp_path)) == ["x.png"]


def test_overwrite_and_protect(tmp_path, monkeypatch):
    p = tmp_path / "x.png"
    write_image(p, np.zeros((4, 4)))
    with pytest.raises(OutputExistsError, match="already exists") as e:
        write_image(p, np.ones((4, 4)))
    _one_line(e, p)
    assert read_image(p).image.max() == 0
    write_image(p, np.ones((4, 4)), overwrite=True)
    assert read_image(p).image.min() == 1
    # the input is refused even with overwrite=True, whatever the spelling of the path
    monkeypatch.chdir(tmp_path)
    with pytest.raises(OutputExistsError, match="-o"):
        write_image(str(p), np.zeros((4, 4)), overwrite=True, protect=["./x.png"])
    os.symlink(p, tmp_path / "link.png")
    with pytest.raises(OutputExistsError, match="input"):
        write_image(tmp_path / "link.png", np.zeros((4, 4)), overwrite=True, protect=[p])
    assert read_image(p).image.min() == 1
    assert _leftovers(tmp_path) == []


def test_write_errors(tmp_path):
    with pytest.raises(ClassicDeblurError, match="does not exist"):
        write_image(tmp_path / "nodir" / "x.png", np.zeros((4, 4)))
    with pytest.raises(UnsupportedFormatError, match="'.gif'"):
        write_image(tmp_path / "x.gif", np.zeros((4, 4)))
    with pytest.raises(UnsupportedFormatError):
        write_image(tmp_path / "x", np.zeros((4, 4)))
    with pytest.raises(UnsupportedFormatError, match="PGM"):
        write_image(tmp_path / "x.pgm", np.zeros((4, 4, 3)))
    with pytest.raises(ValueError, match="bit_depth"):
        write_image(tmp_path / "x.png", np.zeros((4, 4)), bit_depth=12)
    with pytest.raises(InvalidImageError, match="NaN"):
        write_image(tmp_path / "x.png", np.full((4, 4), np.nan))
    with pytest.raises(InvalidImageError, match="alpha"):
        write_image(tmp_path / "x.png", np.zeros((4, 4)), alpha=np.zeros((3, 4)))
    os.mkdir(tmp_path / "d.png")
    with pytest.raises(OutputExistsError, match="directory"):
        write_image(tmp_path / "d.png", np.zeros((4, 4)), overwrite=True)
    assert _leftovers(tmp_path) == []


def test_preserves_channel_order(tmp_path):
    img = np.zeros((2, 2, 3))
    img[..., 0] = 1.0  # pure red
    for ext in (".png", ".tif", ".ppm", ".bmp"):
        write_image(tmp_path / f"r{ext}", img, bit_depth=16 if ext != ".bmp" else 8)
        np.testing.assert_array_equal(read_image(tmp_path / f"r{ext}").image, img)
    with Image.open(tmp_path / "r.png") as im:
        assert im.getpixel((0, 0))[:3] in ((255, 0, 0), (65535, 0, 0))


# ----------------------------------------------------------------------------
# kernels


@pytest.fixture
def kernel():
    k = np.zeros((7, 5))
    k[1:6, 2] = [0.1, 0.2, 0.4, 0.2, 0.1]
    k[3, 1] = 0.05
    return k / k.sum()


@pytest.mark.parametrize("ext", [".npy", ".txt", ".csv", ".mat", ".tif"])
def test_kernel_roundtrip_exact(tmp_path, kernel, ext):
    p = tmp_path / f"k{ext}"
    write_kernel(p, kernel)
    np.testing.assert_allclose(read_kernel(p), kernel, rtol=1e-15, atol=0)


def test_kernel_png(tmp_path, kernel):
    write_kernel(tmp_path / "k.png", kernel)
    k = read_kernel(tmp_path / "k.png")
    assert k.shape == kernel.shape and k.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(k, kernel, atol=1e-5)
    # an 8-bit RGB kernel picture with equal channels
    rgb = np.repeat(np.round(kernel / kernel.max() * 255).astype(np.uint8)[..., None], 3, axis=2)
    Image.fromarray(rgb).save(tmp_path / "k8.png")
    np.testing.assert_allclose(read_kernel(tmp_path / "k8.png"), kernel, atol=2e-3)


def test_kernel_mat_variables(tmp_path, kernel):
    import scipy.io

    p = tmp_path / "levin.mat"
    scipy.io.savemat(p, {"x": np.zeros((33, 33)), "y": np.ones((33, 33)), "f": kernel})
    np.testing.assert_allclose(read_kernel(p), kernel)
    q = tmp_path / "two.mat"
    scipy.io.savemat(q, {"a": kernel, "b": kernel.T})
    with pytest.raises(ImageReadError, match="variable="):
        read_kernel(q)
    np.testing.assert_allclose(read_kernel(q, variable="b"), kernel.T)
    with pytest.raises(ImageReadError, match="no variable"):
        read_kernel(q, variable="zz")


@pytest.mark.parametrize(
    "arr,match",
    [
        (np.ones((4, 3)), "odd"),
        (np.array([[0, 1, 0], [1, -1, 1], [0, 1, 0]], float), "negative"),
        (np.zeros((3, 3)), "all zero"),
        (np.full((3, 3), np.nan), "NaN"),
    ],
)
def test_kernel_invalid(tmp_path, arr, match):
    p = tmp_path / "k.npy"
    np.save(p, arr)
    with pytest.raises(InvalidKernelError, match=match) as e:
        read_kernel(p)
    _one_line(e, p)
    with pytest.raises(InvalidKernelError):
        write_kernel(tmp_path / "out.npy", arr)
    assert not (tmp_path / "out.npy").exists()


def test_kernel_read_errors(tmp_path, kernel):
    with pytest.raises(ImageReadError, match="no such file"):
        read_kernel(tmp_path / "none.npy")
    with pytest.raises(UnsupportedFormatError):
        read_kernel(tmp_path / "k.json")
    (tmp_path / "bad.txt").write_text("1 2 x\n3 4 5\n")
    with pytest.raises(ImageReadError) as e:
        read_kernel(tmp_path / "bad.txt")
    _one_line(e, tmp_path / "bad.txt")
    (tmp_path / "bad.npy").write_bytes(b"not numpy at all")
    with pytest.raises(ImageReadError):
        read_kernel(tmp_path / "bad.npy")
    write_kernel(tmp_path / "k.npy", kernel)
    with pytest.raises(OutputExistsError):
        write_kernel(tmp_path / "k.npy", kernel)
    with pytest.raises(InvalidKernelError, match="maximum side"):
        read_kernel(tmp_path / "k.npy", max_size=5)


# ----------------------------------------------------------------------------
# colour


def test_color_roundtrip_and_luminance(face_rgb):
    ycc = rgb_to_ycbcr(face_rgb)
    assert ycc.min() >= 0 and ycc.max() <= 1
    np.testing.assert_allclose(ycbcr_to_rgb(ycc), face_rgb, atol=1e-12)
    np.testing.assert_allclose(to_luminance(face_rgb), ycc[..., 0], atol=1e-12)
    gray = np.full((2, 2, 3), 0.25)
    np.testing.assert_allclose(to_luminance(gray), 0.25)
    np.testing.assert_allclose(rgb_to_ycbcr(gray)[..., 1:], 0.5)
    assert to_luminance(gray[..., :1]).shape == (2, 2)
    f32 = face_rgb.astype(np.float32)
    assert rgb_to_ycbcr(f32).dtype == np.float32 and to_luminance(f32).dtype == np.float32
    with pytest.raises(InvalidImageError):
        to_luminance(np.zeros((2, 2, 4)))
    with pytest.raises(InvalidImageError):
        rgb_to_ycbcr(np.zeros((2, 2)))
