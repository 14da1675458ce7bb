"""Smoke tests of the pure helpers of ``benchmarks/faces.py`` (no shared data, no benchmark run)."""

import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `benchmarks` is a folder of the repository, not an installed package
    sys.path.insert(0, str(ROOT))

from benchmarks import faces as bf
from benchmarks._data import SHAKE_SIZES, case_kernels
from classicdeblur._registry import Registry


def _row(method, **kw):
    r = {"method": method, "shift_psnr": 30.0, "shift_ssim": 0.9, "kernel_similarity": 0.8, "error_ratio": 1.5,
         "detected": 1.0, "landmark_error": 0.05, "identity_distance": 0.3, "seconds": 1.0, "error": ""}
    return {**r, **kw}


def test_geometry_helpers():
    assert bf.box_iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert bf.box_iou((0, 0, 10, 10), (20, 20, 5, 5)) == 0.0
    ref = np.zeros((68, 2))
    ref[36:42] = (10.0, 20.0)
    ref[42:48] = (50.0, 20.0)
    assert bf.inter_ocular(ref) == 40.0
    assert bf.landmark_error(ref + (2.0, 0.0), ref) == pytest.approx(0.05)
    assert bf.landmark_error(ref + (2.0, -3.0), ref, offset=(2, -3)) == pytest.approx(0.0)


def test_face_measures_with_stub_api():
    ref_lm = np.zeros((68, 2))
    ref_lm[42:48, 0] = 40.0
    ref = {"box": (10, 10, 50, 50), "landmarks": ref_lm, "embedding": np.zeros(128)}
    emb = np.zeros(128)
    emb[0] = 0.5

    def api(found_box):
        return SimpleNamespace(
            detect_faces=lambda image, upsample=1: [SimpleNamespace(box=found_box, landmarks=ref_lm + 1.0)],
            face_landmarks=lambda image, box: ref_lm + 4.0,
            face_embedding=lambda image, landmarks: emb)

    img = np.zeros((64, 64))
    hit = bf.face_measures(img, ref, shift=(0, 1), faces=api((12, 10, 50, 50)))
    # detected: its own landmarks, moved back by the (dy, dx) = (0, 1) shift
    assert hit["detected"] == 1.0
    assert hit["landmark_error"] == pytest.approx(1.0 / 40.0)
    assert hit["identity_distance"] == pytest.approx(0.5)
    miss = bf.face_measures(img, ref, faces=api((200, 200, 10, 10)))  # a detection elsewhere is not the face
    assert miss["detected"] == 0.0
    assert miss["landmark_error"] == pytest.approx(np.hypot(4, 4) / 40.0)
    none = bf.face_measures(img, None, faces=api((12, 10, 50, 50)))
    assert all(np.isnan(v) for v in none.values())


def test_entries_skip_missing_methods_and_variants():
    reg = Registry("blind method")
    reg.register("xu2010")(lambda image, *, kernel_size=None, rng=None, face_guided=False: None)
    reg.register("cho2009")(lambda image, *, kernel_size=None, rng=None: None)
    reg.register("tian2015")(lambda image, *, kernel_size=None, rng=None: None)
    runs, notes = bf.entries(None, reg)
    assert [r[0] for r in runs] == ["tian2015", "xu2010", "cho2009", "xu2010+face"]
    assert runs[0] == ("tian2015", "tian2015", {"face_box": "whole"})  # face methods are told: a face crop
    assert runs[-1] == ("xu2010+face", "xu2010", {"face_guided": True})
    assert any(n.startswith("exemplar:") for n in notes) and any(n.startswith("anwar2018:") for n in notes)
    assert any(n.startswith("exemplar (paper") for n in notes) and any(n.startswith("exemplar (edges") for n in notes)
    assert any(n.startswith("cho2009+face") for n in notes)
    assert "xu2010 (edge_predictor=learned): skipped, xu2010 takes no edge_predictor parameter" in notes
    runs, notes = bf.entries(["cho2009", "cho2009+face"], reg)
    assert [r[0] for r in runs] == ["cho2009"] and "face_guided" in notes[0]


def test_summary_table_and_targets():
    rows = [_row(bf.BLURRED, kernel_similarity=float("nan"), error_ratio=float("nan"), seconds=0.0),
            _row(bf.TRUE, shift_psnr=33.0, error_ratio=1.0),
            _row("exemplar", shift_psnr=31.5), _row("exemplar", shift_psnr=31.5, error_ratio=5.0),
            _row("xu2010", shift_psnr=29.0),
            _row("xu2010", error="RuntimeError: boom", **dict.fromkeys(("shift_psnr", "error_ratio"), float("nan")))]
    table = bf.summarise(rows)
    by = {t["method"]: t for t in table}
    assert by["exemplar"]["success"] == 0.5 and by["exemplar"]["psnr"] == 31.5
    assert by["xu2010"]["failed"] == 1 and by["xu2010"]["success"] == 0.5  # a failed run is an ER failure
    assert np.isnan(by[bf.BLURRED]["success"]) and np.isnan(by[bf.BLURRED]["seconds"])
    md = bf.format_table(table, markdown=True).splitlines()
    assert md[0].startswith("| method | PSNR / SSIM |") and len(md) == 2 + len(table)
    assert "| exemplar | 31.50 / 0.900 | 0.800 | 50% | 100% | 0.050 | 0.300 | 100% | 1.00 | 2 |" in md
    assert "1 failed" in bf.format_table(table)
    (line,) = bf.targets(table)
    assert line.startswith("exemplar: within 2 dB of the true-kernel bound: yes (-1.50 dB)")
    assert "ER <= 3 rate >= 90%: no (50%)" in line and line.endswith("beats every general method on mean PSNR: yes")


def test_shen_kernels_per_image():
    a = case_kernels("shen", "img/a")
    assert [n for n, _ in a] == [f"shake:{s}" for s in SHAKE_SIZES]
    assert all(k.shape == (s, s) and np.isclose(k.sum(), 1) for (_, k), s in zip(a, SHAKE_SIZES))
    b = case_kernels("shen", "img/b")
    assert not np.array_equal(a[0][1], b[0][1])
    with pytest.raises(ValueError, match="levin, lai, shen"):
        case_kernels("nope", "x")


def test_kernel_tile_and_contact_sheet(tmp_path):
    pytest.importorskip("matplotlib")
    tile = bf.kernel_tile(np.eye(5) / 5, 9)
    assert tile.shape == (9, 9) and tile.max() == 1.0 and tile[0, 0] == 0.0
    rng = np.random.default_rng(0)
    cases = [{"label": "face\nlevin:1", "panels": [("blurred\n25 dB", rng.random((16, 16)), np.eye(3) / 3),
                                                   ("m", rng.random((16, 16, 3)), np.ones((5, 5)) / 25),
                                                   ("truth", rng.random((16, 16)), None)]}] * 2
    path = bf.write_sheet(tmp_path / "sub" / "sheet.png", cases, "title")
    assert path.is_file() and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list(tmp_path.glob("sub/*.tmp.png"))


def test_face_measures_with_dlib(face):
    cf = pytest.importorskip("classicdeblur.faces")
    if not cf.faces_available():
        pytest.skip("needs the 'faces' extra")
    big = np.kron(face, np.ones((2, 2)))  # 192 px: the detector's comfortable size
    ref = bf.reference_face(big)
    if ref is None:
        pytest.skip("dlib finds no face on the fixture")
    m = bf.face_measures(big, ref)
    assert m["detected"] == 1.0 and m["landmark_error"] < 1e-6 and m["identity_distance"] < 1e-6


def test_speed_profile_and_table():
    # exemplar-like info: detection and matching outside the framework's total
    info = {"exemplar": {"detect_seconds": 0.1, "seconds": 0.3},
            "timings": {"x_step": 0.2, "k_step": 0.4, "screening": 0.0, "final": 0.1, "total": 0.8}}
    prof = bf.speed_profile(info, 1.3)
    assert list(prof) == list(bf.SPEED_STEPS)
    assert prof["pyramid"] == pytest.approx(0.1) and prof["other"] == pytest.approx(0.1)
    # tian2015's keys; no framework steps
    prof = bf.speed_profile({"timings": {"fit": 1.0, "select": 0.5, "total": 1.5}}, 1.6)
    assert prof["k_step"] == 1.0 and prof["x_step"] == 0.5 and prof["other"] == pytest.approx(0.1)
    text = bf.format_speed([("exemplar", 0.8, 0.7, prof, 29.0), ("xu2010", 0.6, 0.6, prof, 28.0)])
    assert "exemplar" in text and "yes" in text and "no (x2.0)" in text
