"""Training the edge network (the optional torch extra): a tiny run lowers the loss, resumes exactly, and the
data never include benchmark faces. Tests that need torch carry the ``torch`` marker and skip without it."""

import json

import numpy as np
import pytest

from classicdeblur.learned import data as tdata
from classicdeblur.learned.network import EdgeNet, parameter_names

TINY = {"arch": "unet", "channels": [4, 8], "convs": 1, "sigma_floor": 0.01, "norm": True}


@pytest.fixture(scope="module")
def tiny_faces(face):
    """Six 96-px crops of the test face (flipped, shifted) as uint8 'training faces', two for validation."""
    f = np.round(np.clip(face, 0, 1) * 255).astype(np.uint8)
    crops = [np.roll(f, s, axis=1) for s in (0, 3, 6, 9)] + [f[:, ::-1], f[::-1]]
    return np.stack(crops[:4]), np.stack(crops[4:])


def _settings(**kw):
    return {"steps": 6, "batch": 4, "crop": 32, "kernels": 6, "validation_pairs": 4, "validation_every": 3,
            "checkpoint_every": 3, "config": TINY, "lr": 3e-3, "margin": 2, **kw}


def test_sampler_pairs_are_reproducible(tiny_faces):
    kernels = tdata.kernel_pool(4, seed=0)
    a = tdata.Sampler(tiny_faces[0], kernels, crop=32, latent=0.5, seed=3).batch(3)
    b = tdata.Sampler(tiny_faces[0], kernels, crop=32, latent=0.5, seed=3).batch(3)
    assert a[0].shape == a[1].shape == (3, 1, 32, 32) and a[0].dtype == np.float32
    np.testing.assert_array_equal(a[0], b[0])
    assert 0 <= a[1].min() and a[1].max() <= 1


def test_training_data_leave_out_the_benchmark(tmp_path):
    root = tmp_path / "data" / "faces"
    for i in range(100):
        d = root / "celeba" / "images" / f"celeb_{i}"
        d.mkdir(parents=True)
        (d / "000001.jpg").write_bytes(b"")
    hq = root / "celebahq" / "ref" / "female"
    hq.mkdir(parents=True)
    for stem in ("048197", "123456"):
        (hq / f"{stem}.jpg").write_bytes(b"")
    train = tdata.face_paths(tmp_path / "data", "train")
    val = tdata.face_paths(tmp_path / "data", "validation")
    folders = {p.parent.name for p in train if "celeba" in p.parts and "images" in p.parts}
    assert folders == {f"celeb_{i}" for i in range(40, 96)}
    assert {p.parent.name for p in val} == {f"celeb_{i}" for i in range(96, 100)}
    assert [p.stem for p in train if "celebahq" in p.parts] == ["123456"]  # 048197 is a faces-256 identity's
    assert tdata.describe()["kernels"].endswith("never the Levin or Lai kernels")


@pytest.mark.torch
def test_tiny_training_run_lowers_the_loss_and_resumes_exactly(tmp_path, tiny_faces):
    pytest.importorskip("torch")
    from classicdeblur.learned.models import load_model, load_weights
    from classicdeblur.learned.train import train_edges

    entry = train_edges(out=tmp_path / "a", faces=tiny_faces, log=None, **_settings(steps=12))
    hist = json.loads((tmp_path / "a" / "edges-history.json").read_text())
    losses = [h["loss"] for h in hist["train"]]
    assert np.mean(losses[-4:]) < np.mean(losses[:4])
    assert (tmp_path / "a" / "edges-loss.png").stat().st_size > 1000
    net = load_model("edges", tmp_path / "a")
    assert isinstance(net, EdgeNet) and entry["parameters"] == net.n_parameters
    arrays, _ = load_weights("edges", tmp_path / "a")
    assert list(arrays) == parameter_names(TINY)

    # 6 steps, stop, resume to 12: the same weights as the uninterrupted run
    train_edges(out=tmp_path / "b", faces=tiny_faces, log=None, **_settings(steps=12, checkpoint_every=6),
                stop_after=6)
    resumed = train_edges(out=tmp_path / "b", faces=tiny_faces, log=None, resume=True,
                          **_settings(steps=12, checkpoint_every=6))
    assert resumed["arrays_sha256"] == entry["arrays_sha256"]
    assert resumed["sha256"] == entry["sha256"]


@pytest.mark.torch
def test_resume_refuses_other_settings(tmp_path, tiny_faces):
    pytest.importorskip("torch")
    from classicdeblur.errors import ClassicDeblurError
    from classicdeblur.learned.train import train_edges

    train_edges(out=tmp_path, faces=tiny_faces, log=None, **_settings(steps=3))
    with pytest.raises(ClassicDeblurError, match="other settings"):
        train_edges(out=tmp_path, faces=tiny_faces, log=None, resume=True, **_settings(steps=4))


def test_learn_edges_without_torch_is_one_line(monkeypatch, capsys, tmp_path):
    import builtins

    from classicdeblur.cli import main

    real = builtins.__import__

    def no_torch(name, *a, **k):
        if name == "torch":
            raise ImportError("no torch here")
        return real(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_torch)
    rc = main(["learn", "edges", "--data", str(tmp_path), "-o", str(tmp_path / "m"), "--steps", "1"])
    assert rc == 2 and "pip install -e \".[torch]\"" in capsys.readouterr().err
