"""classicdeblur batch: a real 2-worker LocalCluster, resume after a kill, videos, the manifest, the CLI.

Images are tiny (32-48 px) and blind runs use a 5x5 kernel bound, so the file stays fast on 2 cores.
"""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import classicdeblur as cd
from classicdeblur.batch import MANIFEST_NAME, deblur_files
from classicdeblur.batch.inputs import expand_inputs
from classicdeblur.cli import main
from classicdeblur.errors import ClassicDeblurError

BLIND = {"method": "xu2010", "kernel_size": 5}


@pytest.fixture(scope="module")
def client():
    """A real LocalCluster: 2 worker processes of one thread each."""
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as c:
        yield c


def _blurred(face, i, size):
    k = cd.resolve_kernel("motion:length=5,angle=30")
    from classicdeblur.operators import convolve

    img = np.roll(face, 7 * i, axis=1)[10:10 + size, 20:20 + size]
    return np.clip(convolve(img, k), 0, 1)


def _images(face, folder, n, size=32):
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        p = folder / f"face{i}.png"
        cd.write_image(p, _blurred(face, i, size))
        paths.append(p)
    return paths


def _manifest(out):
    return [json.loads(line) for line in (out / MANIFEST_NAME).read_text().splitlines()]


def _statuses(records):
    return {os.path.basename(r["input"]): r["status"] for r in records}


def test_local_cluster_six_images_one_corrupt(client, face, tmp_path):
    src = tmp_path / "in"
    _images(face, src / "sub", 5)
    (src / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)  # a truncated PNG
    out = tmp_path / "out"
    recs = deblur_files([src], out, recursive=True, client=client, save_kernel="png",
                        report=tmp_path / "report.html", **BLIND)
    assert [r["status"] for r in recs] == ["failed"] + ["done"] * 5
    assert "broken.png" in recs[0]["reason"] and "\n" not in recs[0]["reason"]
    for r in recs[1:]:
        assert r["output"].startswith("sub/") and cd.read_image(out / r["output"]).image.shape == (32, 32)
        assert (out / r["kernel"]).exists() and r["seconds"] > 0 and len(r["sha256"]) == 64
        assert r["method"] == "xu2010" and r["params"]["kernel_size"] == 5
    # the manifest holds the last record of each input; no staging or temporary file is left
    assert _statuses(_manifest(out)) == _statuses(recs)
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == [".classicdeblur.lock"]
    page = (tmp_path / "report.html").read_text()
    assert page.count("<tr>") == 7 and page.count("data:image/png;base64,") == 5 * 3
    # the same command again: done inputs are skipped, the failed one is tried again
    again = deblur_files([src], out, recursive=True, client=client, save_kernel="png", **BLIND)
    assert [r["status"] for r in again] == ["failed"] + ["skipped"] * 5


def test_changed_input_or_parameters_are_redone(face, tmp_path):
    paths = _images(face, tmp_path / "in", 3)
    out = tmp_path / "out"
    opts = {"kernel": "motion:length=5,angle=30", "method": "wiener", "jobs": 0}
    assert {r["status"] for r in deblur_files(paths, out, **opts)} == {"done"}
    before = (out / "face1.png").read_bytes()
    cd.write_image(paths[1], _blurred(face, 9, 32), overwrite=True)  # same name, new content
    recs = deblur_files(paths, out, **opts)
    assert [r["status"] for r in recs] == ["skipped", "done", "skipped"]
    assert (out / "face1.png").read_bytes() != before
    assert recs[1]["sha256"] == cd.batch.file_sha256(paths[1])[0]
    recs = deblur_files(paths, out, **{**opts, "params": {"nsr": 0.1}})  # other parameters
    assert {r["status"] for r in recs} == {"done"}


def test_same_output_as_run(client, face, tmp_path, capsys):
    (path,) = _images(face, tmp_path / "in", 1, size=40)
    assert main(["run", str(path), "-o", str(tmp_path / "run.png"), "--save-kernel", str(tmp_path / "run.k.png"),
                 "--method", "xu2010", "--kernel-size", "5", "-q"]) == 0
    (rec,) = deblur_files([path], tmp_path / "out", client=client, save_kernel="png", **BLIND)
    assert (tmp_path / "out" / rec["output"]).read_bytes() == (tmp_path / "run.png").read_bytes()
    assert (tmp_path / "out" / rec["kernel"]).read_bytes() == (tmp_path / "run.k.png").read_bytes()


def test_interrupt_and_resume(client, face, tmp_path):
    src = tmp_path / "in"
    _images(face, src, 8, size=48)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "classicdeblur", "batch", str(src), "-o", str(out), "--method", "xu2010",
           "--kernel-size", "5", "--jobs", "1", "-q"]
    proc = subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if (out / MANIFEST_NAME).exists() and '"done"' in (out / MANIFEST_NAME).read_text():
                break
            time.sleep(0.01)
        assert proc.poll() is None, proc.stderr.read().decode()
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the client and its workers, with no chance to clean up
        proc.wait()
        proc.stderr.close()
    done_before = {r["input"] for r in _manifest(out) if r["status"] == "done"}
    assert 1 <= len(done_before) < 8
    # no partial output: every image in place is complete and recorded as done
    placed = {p.name for p in out.glob("*.png")}
    assert placed == {os.path.basename(i) for i in done_before}
    for name in placed:
        assert cd.read_image(out / name).image.shape == (48, 48)

    recs = deblur_files([src], out, client=client, **BLIND)  # the same batch again
    assert {r["input"] for r in recs if r["status"] == "skipped"} == done_before
    assert {r["input"] for r in recs if r["status"] == "done"} == {r["input"] for r in recs} - done_before
    assert not (out / ".classicdeblur-staging").exists()
    clean = tmp_path / "clean"
    deblur_files([src], clean, client=client, **BLIND)
    for p in sorted(src.iterdir()):
        assert (out / p.name).read_bytes() == (clean / p.name).read_bytes()


def _video(path, n=5, size=(40, 24), fps=12.5):
    import cv2

    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, size, True)
    rng = np.random.default_rng(0)
    base = cv2.GaussianBlur(rng.random((size[1], size[0])), (5, 5), 1.0)
    for i in range(n):
        f = (np.roll(base, i, axis=1) * 255).astype(np.uint8)
        w.write(np.dstack([f, f // 2, f]))
    w.release()


def _probe(path):
    import cv2

    cap = cv2.VideoCapture(str(path))
    n = 0
    while cap.read()[0]:
        n += 1
    size = (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
    out = n, size, cap.get(cv2.CAP_PROP_FPS)
    cap.release()
    return out


def test_video_round_trip(client, tmp_path):
    _video(tmp_path / "clip.avi")
    (rec,) = deblur_files([tmp_path / "clip.avi"], tmp_path / "out", client=client, **BLIND)
    assert rec["status"] == "done" and rec["frames"] == 5 and rec["fps"] == 12.5
    assert _probe(tmp_path / "out" / "clip.avi") == (5, (40, 24), 12.5)
    # as frames, one kernel for the clip from its 2 sharpest frames
    (rec,) = deblur_files([tmp_path / "clip.avi"], tmp_path / "frames", client=client, frames=True,
                          shared_kernel=True, kernel_frames=2, save_kernel="npy", **BLIND)
    frames = sorted((tmp_path / "frames" / "clip_frames").iterdir())
    assert rec["status"] == "done" and len(frames) == 5
    assert cd.read_image(frames[0]).image.shape == (24, 40, 3)
    k = np.load(tmp_path / "frames" / rec["kernel"])
    assert k.shape == (5, 5) and abs(k.sum() - 1) < 1e-9


def test_cli_exit_codes_and_summary(face, tmp_path, capsys):
    src = tmp_path / "in"
    _images(face, src, 2)
    args = ["batch", str(src), "-o", str(tmp_path / "out"), "--kernel", "gaussian:sigma=1", "--jobs", "0"]
    assert main(args) == 0
    out, err = capsys.readouterr()
    assert "2 done, 0 skipped, 0 failed" in out and "file" in err  # summary, and the progress bar
    (src / "bad.jpg").write_bytes(b"not a jpeg")
    assert main(args + ["-q"]) == 3
    out, err = capsys.readouterr()
    assert out == "" and err == ""
    assert main(args[:-4] + ["--method", "xu2010", "--kernel", "levin:1"]) == 2  # blind with a kernel
    assert main(["batch", str(tmp_path / "missing"), "-o", str(tmp_path / "o2"), "--kernel", "levin:1"]) == 2
    assert main(args + ["-p", "no_such_parameter=1"]) == 2  # a bad option stops the batch
    assert "no_such_parameter" in capsys.readouterr().err
    assert main(["batch", "--help"]) == 0 and "--shared-kernel" in capsys.readouterr().out


def test_existing_file_not_written_by_a_batch_is_kept(face, tmp_path):
    (path,) = _images(face, tmp_path / "in", 1)
    out = tmp_path / "out"
    out.mkdir()
    (out / "face0.png").write_bytes(b"mine")
    opts = {"kernel": "gaussian:sigma=1", "jobs": 0}
    (rec,) = deblur_files([path], out, **opts)
    assert rec["status"] == "failed" and "--overwrite" in rec["reason"]
    assert (out / "face0.png").read_bytes() == b"mine"
    assert deblur_files([path], out, overwrite=True, **opts)[0]["status"] == "done"
    with pytest.raises(ClassicDeblurError, match="is an input"):
        deblur_files([path], path.parent, **opts)


def test_inputs_files_folders_globs(tmp_path):
    for rel in ("a/x.png", "a/b/y.jpg", "a/b/notes.txt", "c/x.png", "v.mp4"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"")
    names = lambda items: [(str(i.rel), i.kind) for i in items]  # noqa: E731
    assert names(expand_inputs([tmp_path / "a"])) == [("x.png", "image")]
    assert names(expand_inputs([tmp_path / "a"], recursive=True)) == [("x.png", "image"), ("b/y.jpg", "image")]
    assert names(expand_inputs([str(tmp_path / "*" / "x.png"), tmp_path / "v.mp4"])) == [
        ("a/x.png", "image"), ("c/x.png", "image"), ("v.mp4", "video")]
    with pytest.raises(ClassicDeblurError, match="both be written"):
        expand_inputs([tmp_path / "a" / "x.png", tmp_path / "c" / "x.png"])
    with pytest.raises(ClassicDeblurError, match="no images or videos match"):
        expand_inputs([str(tmp_path / "*.tif")])


def test_import_stays_light():
    code = ("import sys, classicdeblur, classicdeblur.batch; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'dask', 'distributed', 'cv2', 'tqdm'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_scheduler_address(client, face, tmp_path):
    (path,) = _images(face, tmp_path / "in", 1)
    (rec,) = deblur_files([path], tmp_path / "out", scheduler=client.scheduler.address, **BLIND)
    assert rec["status"] == "done"
    import dask

    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}), \
            pytest.raises(ClassicDeblurError, match="cannot reach"):
        deblur_files([path], tmp_path / "out2", scheduler="tcp://127.0.0.1:9", **BLIND)
