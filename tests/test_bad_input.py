"""Bad input of every kind (issue 14): one clear line, exit code 2, nothing written, input untouched.

The API refuses arrays whose values are in another convention instead of
returning a wrong picture; the CLI checks its arguments, outputs and the image
header before computing, writes its outputs together or not at all, and a fuzz
run in a subprocess under a memory limit checks the whole list end to end.
"""

import json
import os
import resource
import struct
import subprocess
import sys
import warnings
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

import classicdeblur
import classicdeblur as cd
from classicdeblur._validation import check_blind_shape, check_image, max_pixels, pixel_limit
from classicdeblur.cli import main
from classicdeblur.errors import (
    ImageReadError,
    ImageTooLargeError,
    ImageWriteError,
    InvalidImageError,
    InvalidParameterError,
    OutputExistsError,
)
from classicdeblur.faces.detect import check_box
from classicdeblur.io import output_group, read_image, write_image, write_kernel

ROOT = Path(classicdeblur.__file__).resolve().parents[1]


def _ramp(shape=(24, 24)):
    m, n = shape[:2]
    return np.add.outer(np.linspace(0.1, 0.5, m), np.linspace(0, 0.4, n))


def _huge_png_header(width=20000, height=20000):
    """A PNG whose valid header claims ``width x height`` pixels, with no pixel data."""

    def chunk(tag, body):
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IEND", b""))


# ----------------------------------------------------------------------------- API: value conventions


@pytest.mark.parametrize("array, match", [
    (np.linspace(0, 1000, 576).astype(np.int64).reshape(24, 24), r"int64, which has no agreed image range.*image / 1000"),
    (np.linspace(-50, 50, 576).astype(np.int16).reshape(24, 24), "int16, which has no agreed image range"),
    (np.linspace(0, 9, 576).astype(np.uint32).reshape(24, 24), "uint32, which has no agreed image range"),
    (np.linspace(0, 255, 576).astype(np.uint16).reshape(24, 24), r"uint16 but its values \(0..255\) fit in 8 bits"),
    (_ramp() * 255, r"float values in \[25.5, 229.5\].*divide 8-bit data by 255"),
    (_ramp() * 65535, "divide 16-bit data by 65535"),
    (_ramp() * 2 - 1, r"\(image \+ 1\) / 2"),
])
def test_arrays_in_another_convention_are_refused(array, match):
    with pytest.raises(InvalidImageError, match=match):
        check_image(array)
    with pytest.raises(InvalidImageError, match=match):  # at the public entry point too
        cd.deconvolve(array, np.ones((3, 3)) / 9, method="wiener")


def test_arrays_in_the_convention_are_accepted():
    x = _ramp()
    np.testing.assert_allclose(check_image((x * 255).round().astype(np.uint8)), (x * 255).round() / 255)
    np.testing.assert_allclose(check_image((x * 65535).round().astype(np.uint16)), (x * 65535).round() / 65535)
    assert check_image(x > 0.3).dtype == np.float64
    noisy = x + np.linspace(-0.3, 0.3, x.size).reshape(x.shape)  # noise and ringing stay as they are
    assert check_image(noisy) is noisy
    assert check_image(np.zeros((4, 4), np.uint16)).max() == 0  # black is black, not an error
    out = cd.deconvolve((x * 255).round().astype(np.uint8), np.ones((3, 3)) / 9, method="wiener")
    assert out.shape == x.shape and 0 <= out.min() and out.max() <= 1


def test_writers_still_clip():
    """write_image documents clipping, so it takes any finite floats."""
    assert check_image(np.array([[-3.0, 7.0]]), check_range=False).tolist() == [[-3.0, 7.0]]


def test_blind_methods_refuse_tiny_images():
    with pytest.raises(InvalidImageError, match="5x5 pixels; blind methods need at least 12x12"):
        check_blind_shape((5, 5))
    check_blind_shape((12, 40))
    with pytest.raises(ValueError, match="kernel_size 31 is larger"):
        check_blind_shape((20, 40), 31)


# ----------------------------------------------------------------------------- face boxes


def test_face_box_is_clipped_to_the_image():
    assert check_box((0, 0, 99999, 99999), (160, 120)) == (0, 0, 120, 160)
    assert check_box("-10,-20,50,60", (160, 120, 3)) == (0, 0, 40, 40)
    assert check_box((40, 40, 2000, 2000), (160, 160)) == (40, 40, 120, 120)
    for box in ((-10, -10, 5, 5), (160, 0, 10, 10), (0, 200, 5, 5)):
        with pytest.raises(InvalidParameterError, match="lies outside the 160x160 image"):
            check_box(box, (160, 160))
    with pytest.raises(InvalidParameterError, match="four finite numbers"):
        check_box((0, 0, 1e300, 5))


# ----------------------------------------------------------------------------- pixel limit


def test_pixel_limit_sources(monkeypatch):
    monkeypatch.delenv("CLASSICDEBLUR_MAX_PIXELS", raising=False)
    assert max_pixels() == 64_000_000
    monkeypatch.setenv("CLASSICDEBLUR_MAX_PIXELS", "5e8")
    assert max_pixels() == 500_000_000
    with pixel_limit(1000):
        assert max_pixels() == 1000 and max_pixels(7) == 7
    assert max_pixels() == 500_000_000
    monkeypatch.setenv("CLASSICDEBLUR_MAX_PIXELS", "lots")
    with pytest.raises(ValueError, match="CLASSICDEBLUR_MAX_PIXELS must be a positive whole number"):
        max_pixels()


def test_huge_header_refused_before_decoding(tmp_path, monkeypatch):
    monkeypatch.delenv("CLASSICDEBLUR_MAX_PIXELS", raising=False)
    p = tmp_path / "huge.png"
    p.write_bytes(_huge_png_header())
    with pytest.raises(ImageTooLargeError, match="400000000 pixels.*--max-pixels or CLASSICDEBLUR_MAX_PIXELS"):
        read_image(p)
    # a higher limit lets the header through; the missing pixel data is then a plain read error
    with pytest.raises(ImageReadError, match="corrupt or truncated") as e:
        read_image(p, max_pixels=5e8)
    assert "decompression bomb" not in str(e.value).lower()


# ----------------------------------------------------------------------------- outputs written together


def test_output_group_writes_all_or_nothing(tmp_path, monkeypatch):
    from classicdeblur.io import atomic

    img, k = tmp_path / "x.png", tmp_path / "k.npy"
    with pytest.raises(OutputExistsError, match="given as two outputs"):
        with output_group():
            write_image(img, _ramp())
            write_kernel(img.with_suffix(".png"), np.ones((3, 3)) / 9)
    assert sorted(os.listdir(tmp_path)) == []
    # the second move fails: the first is undone, and a replaced file gets its old bytes back
    write_image(img, _ramp())
    before = img.read_bytes()
    real, calls = atomic._commit, []

    def flaky(tmp, path, *, overwrite):
        calls.append(path)
        if len(calls) == 2:
            raise ImageWriteError(f"cannot write '{path}': disk full")
        real(tmp, path, overwrite=overwrite)

    monkeypatch.setattr(atomic, "_commit", flaky)
    with pytest.raises(ImageWriteError, match="disk full"):
        with output_group():
            write_image(img, 1 - _ramp(), overwrite=True)
            write_kernel(k, np.ones((3, 3)) / 9)
    assert img.read_bytes() == before and sorted(os.listdir(tmp_path)) == ["x.png"]
    monkeypatch.setattr(atomic, "_commit", real)
    with output_group():
        write_image(img, 1 - _ramp(), overwrite=True)
        write_kernel(k, np.ones((3, 3)) / 9)
    assert img.read_bytes() != before and np.load(k).shape == (3, 3)
    assert sorted(os.listdir(tmp_path)) == ["k.npy", "x.png"]


# ----------------------------------------------------------------------------- CLI, in process


def _cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def photo(tmp_path, monkeypatch):
    """A 24x24 gray PNG in the current folder, and a guard that fails any computation."""
    monkeypatch.chdir(tmp_path)
    write_image(tmp_path / "in.png", _ramp())
    return tmp_path / "in.png"


def _no_compute(monkeypatch):
    from classicdeblur import api

    def boom(*a, **k):
        raise AssertionError("computed before refusing the arguments")

    monkeypatch.setattr(api, "deconvolve", boom)
    monkeypatch.setattr(api, "deblur", boom)


@pytest.mark.parametrize("args, message", [
    (["-k", "levin:1", "-o", "same.png", "--save-kernel", "same.png", "--overwrite"], "-o and --save-kernel are the same"),
    (["-k", "levin:1", "-o", "out.png", "--save-kernel", "k.bad"], "cannot write 'k.bad': unsupported extension '.bad'"),
    (["-k", "levin:1", "-o", "out.webp"], "unsupported extension '.webp'"),
    (["-k", "levin:1", "-o", "nodir/out.png"], "does not exist"),
    (["-k", "levin:1", "-o", "in.png", "--overwrite"], "it is the input"),
    (["-k", "levin:1", "-o", "out.png", "--save-kernel", "in.png", "--overwrite"], "it is the input"),
    (["-k", "levin:1", "-o", "out.jpg", "--bit-depth", "16"], "--bit-depth 16 cannot be written to 'out.jpg'"),
    (["-m", "shan2008", "--face-box", "1,2,3,4"], "'shan2008' would ignore it"),
    (["-m", "xu2010", "--face-box", "1,2,3,4"], "needs -p face_guided=True"),
    (["-m", "xu2010", "--face-box", "whole", "-p", "face_guided=True"], "--face-box whole is for the face methods"),
    (["-m", "xu2010", "--face-box", "1,2,3"], "face box must be four finite numbers"),
    (["-k", "levin:1", "--face-box", "1,2,3,4"], "--face-box applies to blind methods"),
    (["-k", "levin:1", "--max-pixels", "abc"], "must be a positive whole number"),
])
def test_cli_refuses_before_computing(capsys, monkeypatch, photo, args, message):
    _no_compute(monkeypatch)
    before = sorted(os.listdir(photo.parent)), photo.read_bytes()
    code, out, err = _cli(capsys, "run", "in.png", *args)
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and message in err and "Traceback" not in err
    assert (sorted(os.listdir(photo.parent)), photo.read_bytes()) == before


def test_cli_unwritable_folder(capsys, monkeypatch, photo):
    from classicdeblur.io import atomic

    _no_compute(monkeypatch)
    (photo.parent / "ro").mkdir()
    real = atomic.os.access
    monkeypatch.setattr(atomic.os, "access", lambda p, mode: False if str(p).endswith("ro") else real(p, mode))
    code, _, err = _cli(capsys, "run", "in.png", "-k", "levin:1", "-o", "ro/out.png")
    assert code == 2 and "is not writable" in err and os.listdir(photo.parent / "ro") == []


@pytest.mark.parametrize("args, message", [
    (["-m", "exemplar", "--face-box", "-10,-10,5,5"], "face box (-10, -10, 5, 5) lies outside the 24x24 image"),
    (["-m", "exemplar", "--face-box=30,0,5,5"], "lies outside"),
    (["-k", "motion:length=100000"], "over the limit of 255x255"),
    (["-k", "gaussian:sigma=1e6"], "over the limit"),
    (["-k", "disk:radius=1e5"], "over the limit"),
    (["-k", "disk:radius=500"], "1001x1001 kernel, over the limit"),
    (["-k", "motion:length=15,angle=abc"], "angle must be a finite number; got 'abc'"),
    (["-k", "gaussian:sigma=inf"], "sigma must be a finite number"),
])
def test_cli_refuses_after_reading_the_header(capsys, monkeypatch, photo, args, message):
    _no_compute(monkeypatch)
    code, _, err = _cli(capsys, "run", "in.png", "-o", "out.png", *args)
    assert code == 2 and len(err.strip().splitlines()) == 1 and message in err, err
    assert sorted(os.listdir(photo.parent)) == ["in.png"]


def test_cli_tiny_image_blind(capsys, monkeypatch, tmp_path):
    _no_compute(monkeypatch)
    write_image(tmp_path / "tiny.png", _ramp((5, 5)))
    code, _, err = _cli(capsys, "run", tmp_path / "tiny.png", "-m", "xu2010", "-o", tmp_path / "o.png")
    assert code == 2 and "5x5 pixels; blind methods need at least 12x12" in err
    assert not (tmp_path / "o.png").exists()


def test_cli_max_pixels_reaches_every_check(capsys, monkeypatch, photo):
    """The flag overrides the environment for reading the file and for the solver's own check."""
    monkeypatch.setenv("CLASSICDEBLUR_MAX_PIXELS", "500")  # the 24x24 input has 576 pixels
    code, _, err = _cli(capsys, "run", "in.png", "-k", "levin:1", "-m", "wiener", "-o", "a.png")
    assert code == 2 and "over the limit of 500; raise it with --max-pixels or CLASSICDEBLUR_MAX_PIXELS" in err
    code, _, err = _cli(capsys, "run", "in.png", "-k", "gaussian:sigma=0.5", "-m", "wiener", "-o", "a.png",
                        "--max-pixels", "6e2", "-q")
    assert code == 0, err
    assert read_image("a.png", max_pixels=1000).image.shape == (24, 24)


def test_cli_huge_header_with_a_high_limit(capsys, monkeypatch, tmp_path):
    _no_compute(monkeypatch)
    (tmp_path / "huge.png").write_bytes(_huge_png_header())
    code, _, err = _cli(capsys, "run", tmp_path / "huge.png", "-k", "levin:1", "-o", tmp_path / "o.png")
    assert code == 2 and "400000000 pixels" in err and "--max-pixels" in err
    code, _, err = _cli(capsys, "run", tmp_path / "huge.png", "-k", "levin:1", "-o", tmp_path / "o.png",
                        "--max-pixels", "5e8")
    assert code == 2 and "corrupt or truncated" in err and "bomb" not in err
    assert sorted(os.listdir(tmp_path)) == ["huge.png"]


@pytest.fixture
def toy_blind(monkeypatch):
    """A stand-in blind face method that reports a face, timings and a warning."""
    from classicdeblur.blind import BLIND

    def toy(image, *, kernel_size, rng, face_box=None):
        warnings.warn("toy warning", UserWarning)
        k = np.zeros((kernel_size or 3,) * 2)
        k[k.shape[0] // 2, k.shape[1] // 2] = 1
        info = {"timings": {"x_step": 0.25, "k_step": 0.5}, "face_source": "box", "faces": [face_box],
                "face_region": None}
        return image, k, info

    monkeypatch.setitem(BLIND._items, "toy", toy)
    monkeypatch.setitem(BLIND._meta, "toy", {"description": "test stand-in"})
    return toy


def test_cli_verbose_and_json(capsys, photo, toy_blind):
    code, out, err = _cli(capsys, "run", "in.png", "-m", "toy", "--kernel-size", "5", "-o", "a.png",
                          "--save-kernel", "k.npy", "-v", "--json")
    assert code == 0, err
    report = json.loads(out)  # stdout holds the JSON object only
    assert report["input"] == "in.png" and report["output"] == "a.png" and report["kernel_output"] == "k.npy"
    assert report["method"] == "toy" and report["kind"] == "blind" and report["kernel_size"] == [5, 5]
    assert report["warnings"] == ["toy warning"] and report["timings"] == {"x_step": 0.25, "k_step": 0.5}
    assert set(report["seconds"]) == {"read", "compute", "write", "total"}
    assert "method: toy (blind)" in err and "kernel size: 5x5" in err and "stages: x_step 0.25" in err
    assert "warning: toy warning" in err
    code, out, err = _cli(capsys, "run", "in.png", "-k", "gaussian:sigma=0.5", "-m", "wiener", "-o", "b.png",
                          "--json", "-q")
    report = json.loads(out)
    assert code == 0 and report["kind"] == "non-blind" and report["kernel_size"] == [5, 5] and err == ""


def test_cli_face_box_reaches_a_face_method_clipped(capsys, photo, toy_blind):
    from classicdeblur.blind import BLIND

    BLIND._meta["toy"] = {"description": "test stand-in", "face": True}
    code, out, err = _cli(capsys, "run", "in.png", "-m", "toy", "--face-box", "-4,-6,99999,10", "-o", "a.png",
                          "--json", "-q")
    assert code == 0, err
    assert json.loads(out)["face"]["boxes"] == [[0, 0, 24, 4]]


def test_help_shows_each_default_once(capsys):
    code, out, _ = _cli(capsys, "run", "--help")
    assert code == 0 and "(default: None)" not in out and out.count("(default: 0)") == 1
    assert "which method:" in out and "kernel size" in out and "--face-box whole" in out
    for line in out.splitlines():
        assert line.count("default") <= 1, line


# ----------------------------------------------------------------------------- CLI in a subprocess


def _limit_memory():
    resource.setrlimit(resource.RLIMIT_AS, (2_500_000_000, 2_500_000_000))


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("CLASSICDEBLUR_MAX_PIXELS", None)
    env.pop("CLASSICDEBLUR_DEBUG", None)
    return env


def _run_cli(cwd, args, timeout=120):
    return subprocess.run([sys.executable, "-m", "classicdeblur", *args], cwd=cwd, env=_env(),
                          preexec_fn=_limit_memory, capture_output=True, text=True, timeout=timeout)


def test_broken_pipe_exits_quietly(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "classicdeblur", "kernels"], cwd=tmp_path, env=_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # the reader is gone before the first line, as with '| head -0'
    with proc.stderr:
        err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 141 and err == ""


def _sample_files(rng):
    """Valid small images of several formats and sizes, as bytes."""
    import io as _io

    import tifffile
    from PIL import Image

    x = _ramp((20, 26))
    out = {}
    for name, fmt in (("png", "PNG"), ("jpg", "JPEG"), ("bmp", "BMP"), ("pgm", "PPM")):
        buf = _io.BytesIO()
        Image.fromarray((x * 255).astype(np.uint8)).save(buf, format=fmt)
        out[name] = buf.getvalue()
    buf = _io.BytesIO()
    tifffile.imwrite(buf, (x * 65535).astype(np.uint16))
    out["tif"] = buf.getvalue()
    return out


def _fuzz_cases(d):
    """(args, must_fail) for the issue's list, then for random corrupt headers, truncations and odd sizes."""
    write_image(d / "in.png", _ramp())
    write_image(d / "tiny.png", _ramp((5, 5)))
    (d / "huge.png").write_bytes(_huge_png_header())
    run = ["run", "in.png", "-o", "out.png"]
    cases = [
        (run + ["-m", "exemplar", "--face-box", "-10,-10,5,5"], True),
        (run + ["-m", "shan2008", "--face-box", "1,2,3,4"], True),
        (run + ["-k", "levin:1", "--bit-depth", "16", "-o", "out.jpg"], True),
        (["run", "tiny.png", "-o", "out.png", "-m", "xu2010"], True),
        (run + ["-k", "levin:1", "-o", "x.png", "--save-kernel", "x.png", "--overwrite"], True),
        (run + ["-k", "levin:1", "--save-kernel", "k.bad"], True),
        (run + ["-k", "levin:1", "-o", "out.webp"], True),
        (run + ["-k", "levin:1", "-o", "nodir/out.png"], True),
        (run + ["-k", "levin:1", "-o", "in.png", "--overwrite"], True),
        (run + ["-k", "motion:length=100000"], True),
        (run + ["-k", "gaussian:sigma=1e6"], True),
        (run + ["-k", "disk:radius=1e5"], True),
        (run + ["-k", "disk:radius=500"], True),
        (run + ["-k", "motion:length=15,angle=abc"], True),
        (run + ["-k", "gaussian:sigma=inf"], True),
        (["run", "huge.png", "-o", "out.png", "-k", "levin:1"], True),
        (["run", "huge.png", "-o", "out.png", "-k", "levin:1", "--max-pixels", "5e8"], True),
        (run + ["-k", "levin:1", "--max-pixels", "abc"], True),
    ]
    rng = np.random.default_rng(14)
    samples = _sample_files(rng)
    for i in range(12):
        ext = list(samples)[i % len(samples)]
        data = bytearray(samples[ext])
        how = ("truncate", "flip", "flip", "empty")[i % 4] if i < 8 else "odd"
        if how == "truncate":
            data = data[: int(rng.integers(1, len(data) - 1))]
        elif how == "flip":
            for pos in rng.integers(0, min(len(data), 64), 4):
                data[pos] = int(rng.integers(0, 256))
        elif how == "empty":
            data = data[: int(rng.integers(0, 3))]
        name = f"f{i}.{ext}"
        if how == "odd":  # valid files of odd sizes and layouts, too small for the kernel
            shape = [(1, 1), (1, 40), (40, 1), (9, 7, 2)][i - 8]
            write_image(d / name.replace(ext, "png"), _ramp(shape) if len(shape) == 2
                        else np.dstack([_ramp(shape), np.ones(shape[:2])]))
            name = name.replace(ext, "png")
            cases.append((["run", name, "-o", f"o{i}.png", "-k", "levin:1"], True))
            continue
        (d / name).write_bytes(bytes(data))
        cases.append((["run", name, "-o", f"o{i}.png", "-k", "gaussian:sigma=0.5", "-m", "wiener"], False))
    return cases


def test_fuzz_bad_inputs_in_a_subprocess(tmp_path):
    cases = _fuzz_cases(tmp_path)
    files = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    def check(case):
        args, must_fail = case
        res = _run_cli(tmp_path, args)
        return args, must_fail, res

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(check, cases))
    for args, must_fail, res in results:
        out = args[len(args) - args[::-1].index("-o")]  # the last -o
        assert "Traceback" not in res.stderr, (args, res.stderr)
        assert res.returncode in ((2,) if must_fail else (0, 2)), (args, res.returncode, res.stderr)
        if res.returncode == 2:
            assert len(res.stderr.strip().splitlines()) == 1, (args, res.stderr)
            assert out in files or not (tmp_path / out).exists(), args
        else:
            assert (tmp_path / out).exists(), args
    for name, data in files.items():  # inputs unchanged
        assert (tmp_path / name).read_bytes() == data, name
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


def test_huge_face_box_fits_in_memory(tmp_path):
    """--face-box 0,0,99999,99999 with exemplar once grew to 24 GB; clipped, it runs under 2.5 GB."""
    write_image(tmp_path / "in.png", _ramp((48, 48)))
    res = _run_cli(tmp_path, ["run", "in.png", "-m", "exemplar", "--face-box", "0,0,99999,99999",
                              "--kernel-size", "5", "-o", "out.png", "--json", "-q"])
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["face"]["boxes"] == [[0, 0, 48, 48]]
