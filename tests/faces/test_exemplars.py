"""The exemplar database: the shipped default, building, learners, the CLI."""

import json
from pathlib import Path

import numpy as np
import pytest

from classicdeblur import blind, cli
from classicdeblur.errors import OutputExistsError
from classicdeblur.faces.exemplar_build import build_database
from classicdeblur.faces.exemplar_learn import _learner_label, learn_priors
from classicdeblur.faces.exemplars import (
    ExemplarDBError,
    file_sha256,
    load_database,
)
from classicdeblur.faces.structure import structure_mask

DATA = Path(__file__).resolve().parents[1] / "data"


def _toy_learn(db):
    return {"mean": db.faces.mean(0), "n": np.array(len(db))}


def _count_learn(db):
    return {"count": np.array(len(db))}


@pytest.fixture(scope="module")
def face_dir(tmp_path_factory):
    """Three identities of one astronaut face (original, mirrored, darker + shifted)."""
    import cv2

    img = cv2.imread(str(DATA / "astronaut_sharp.png"))
    root = tmp_path_factory.mktemp("faces")
    darker = np.clip(np.roll(img, 5, axis=1) * 0.8, 0, 255).astype(np.uint8)
    variants = {"a": img, "b": img[:, ::-1], "c": darker}
    for name, v in variants.items():
        (root / f"id_{name}").mkdir()
        cv2.imwrite(str(root / f"id_{name}" / "1.png"), v)
    (root / "id_a" / "2.png").write_bytes((root / "id_b" / "1.png").read_bytes())
    cv2.imwrite(str(root / "id_c" / "flat.png"), np.full((60, 60), 128, np.uint8))
    return root


def test_default_database_matches_manifest():
    db = load_database()
    m = db.manifest
    n, s = len(db), db.resolution
    assert n == m["count"] >= 300 and s == m["resolution"] == 128
    assert db.faces.shape == (n, s, s) and db.faces.dtype == np.float32
    assert 0.0 <= db.faces.min() and db.faces.max() <= 1.0
    assert db.masks.shape == (n, s, s) and db.masks.dtype == bool
    assert db.landmarks.shape == (n, 68, 2) and db.names.shape == (n,)
    for name, entry in m["files"].items():
        assert file_sha256(db.path / name) == entry["sha256"]
    with np.load(db.path / "exemplars.npz") as z:
        assert z["faces"].dtype == np.uint8 and z["masks"].shape == (n, s * s // 8)
    for i in range(n):
        assert np.array_equal(db.masks[i], structure_mask(db.landmarks[i], (s, s)))
    # benchmark people excluded: faces-256 uses celeb_0 .. celeb_39
    excluded = set(m["selection"]["identities_excluded"])
    assert excluded == {f"celeb_{k}" for k in range(40)}
    assert not {name.split("/")[0] for name in db.names} & excluded
    assert sum(m["skipped"].values()) >= 0 and "non-commercial" in m["terms"]
    assert not db.faces.flags.writeable
    assert load_database() is db


def test_build_database_and_priors(face_dir, tmp_path):
    notes = []
    out = tmp_path / "db"
    db = build_database(face_dir, out, size=64, learners={"toy": _toy_learn}, log=notes.append)
    assert len(db) == 4 and db.resolution == 64 and db.faces.shape == (4, 64, 64)
    assert db.manifest["skipped"]["no_face"] == 1 and db.manifest["selection"]["images_examined"] == 5
    assert list(db.names) == ["id_a/1.png", "id_a/2.png", "id_b/1.png", "id_c/1.png"]
    assert any("prior 'toy'" in n for n in notes)
    assert db.manifest["priors"]["toy"]["learner"] == f"{__name__}:_toy_learn"
    assert db.manifest["priors_skipped"] == {}
    prior = db.prior("toy")
    assert prior["mean"].shape == (64, 64) and int(prior["n"]) == 4
    with pytest.raises(ExemplarDBError, match="unknown exemplar prior 'nope'; choose from: toy"):
        db.prior("nope")
    # eyes of the aligned crops at the template's eye positions
    from classicdeblur.faces.align import template_points

    eyes = np.stack([db.landmarks[:, 36:42].mean(1), db.landmarks[:, 42:48].mean(1)], 1)
    assert np.abs(eyes - template_points(64)[:2]).max() < 2.0
    # corrupt data is refused
    with open(out / "exemplars.npz", "ab") as f:
        f.write(b"x")
    with pytest.raises(ExemplarDBError, match="sha256"):
        load_database(out)


def test_build_options(face_dir, tmp_path):
    db = build_database(face_dir, tmp_path / "a", size=64, per_identity=1, exclude_first_identities=1,
                        learners={}, log=lambda m: None)
    assert list(db.names) == ["id_b/1.png", "id_c/1.png"]
    assert db.manifest["selection"]["identities_excluded"] == ["id_a"]
    db = build_database(face_dir, tmp_path / "b", size=64, limit=2, learners={}, log=lambda m: None)
    assert len(db) == 2
    with pytest.raises(OutputExistsError, match="overwrite"):
        build_database(face_dir, tmp_path / "b", size=64, learners={}, log=lambda m: None)
    with pytest.raises(ValueError, match="multiple of 8"):
        build_database(face_dir, tmp_path / "c", size=60, learners={})
    with pytest.raises(ExemplarDBError, match="no usable face"):
        build_database(face_dir / "id_c", tmp_path / "d", size=64, learners={}, exclude_first_identities=0,
                       limit=None, per_identity=None, log=lambda m: None, upsample=0, tolerance=-1.0)
    with pytest.raises(TypeError, match="must be a callable"):  # checked before any face is read
        build_database(face_dir, tmp_path / "e", size=64, learners={"toy": "toy_learner:learn"})
    assert not (tmp_path / "e").exists()


def test_prior_learners_are_the_shipped_ones():
    """The CLI's learners are the methods' registered ones, recorded as in the shipped manifest."""
    from classicdeblur.blind import anwar2018, tian2015

    learners = blind.prior_learners()
    assert learners == {"anwar2018": anwar2018.learn_prior, "tian2015": tian2015.learn_model}
    shipped = load_database().manifest["priors"]
    assert list(shipped) == list(learners)
    assert {n: _learner_label(f) for n, f in learners.items()} == {n: p["learner"] for n, p in shipped.items()}


def test_cli_exemplars_build(face_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(blind, "prior_learners", lambda: {})
    out = tmp_path / "db"
    out.mkdir()
    (out / "README.md").write_text("notes")
    argv = ["exemplars", "build", str(face_dir), "-o", str(out), "--size", "64", "--per-identity", "1", "-q"]
    assert cli.main(argv) == 0
    manifest = json.loads((out / "MANIFEST.json").read_text())
    assert manifest["count"] == 3 and manifest["build"]["command"] == "classicdeblur " + " ".join(argv)
    assert (out / "README.md").read_text() == "notes"
    capsys.readouterr()
    assert cli.main(argv) == 2  # refuses to overwrite
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--overwrite" in err
    assert cli.main(argv[:-3] + ["--limit", "2", "--overwrite", "-q"]) == 0
    assert json.loads((out / "MANIFEST.json").read_text())["count"] == 2
    assert (out / "README.md").read_text() == "notes"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["db"]  # no temporary folders left
    assert cli.main(["exemplars", "build", str(tmp_path / "missing"), "-o", str(tmp_path / "x")]) == 2
    assert "not a folder" in capsys.readouterr().err


def test_missing_database(tmp_path):
    with pytest.raises(ExemplarDBError, match="exemplars build"):
        load_database(tmp_path)


def test_cli_exemplars_learn(face_dir, tmp_path, monkeypatch, capsys):
    out = tmp_path / "db"
    db = build_database(face_dir, out, size=64, limit=1, learners={}, log=lambda m: None)
    with pytest.raises(ExemplarDBError, match="has no 'toy' prior; build it with 'classicdeblur exemplars learn"):
        db.prior("toy")
    with pytest.raises(ExemplarDBError, match="unknown prior"):
        learn_priors(out, ["toy"], learners={}, log=lambda m: None)
    monkeypatch.setattr(blind, "prior_learners", lambda: {"toy": _count_learn})
    assert cli.main(["exemplars", "learn", str(out), "-q"]) == 0
    db = load_database(out)
    assert int(db.prior("toy")["count"]) == 1 and db.has_prior("toy")
    assert file_sha256(out / "toy.npz") == db.manifest["files"]["toy.npz"]["sha256"]
    assert cli.main(["exemplars", "learn", str(out), "--only", "nope"]) == 2
    assert "unknown prior" in capsys.readouterr().err
