"""Run a batch: expand the inputs, reuse what the manifest says is done, run the rest on Dask
(or in this process), and move each finished output into place atomically.

Workers only compute (see :mod:`.tasks`); this process, the client, reads the inputs,
writes every output first under ``OUT_DIR/.classicdeblur-staging/`` and moves it into
place with :func:`os.replace`, and is the only writer of the manifest. A run that is
interrupted (Ctrl-C, ``kill``) therefore leaves complete outputs only; the staging
folder is emptied by the next run.
"""

from __future__ import annotations

import datetime
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..errors import (
    ClassicDeblurError,
    DeviceUnavailableError,
    FacesUnavailableError,
    InvalidParameterError,
)
from . import tasks
from .inputs import Item, expand_inputs
from .manifest import COMPLETE, MANIFEST_NAME, Manifest, file_sha256
from .settings import Settings, make_settings

__all__ = ["deblur_files", "STAGING"]

#: Hidden folder of OUT_DIR where outputs are written before being moved into place.
STAGING = ".classicdeblur-staging"


def _stops_batch(exc) -> bool:
    """Whether an error concerns the batch's options or machine rather than one input.

    An unknown or bad method parameter, no GPU for ``device="gpu"`` or missing face
    tools would fail every input alike: the batch stops (exit code 2). A face box that
    lies outside one image fails that image only.
    """
    if isinstance(exc, (DeviceUnavailableError, FacesUnavailableError)):
        return True
    return isinstance(exc, InvalidParameterError) and "face box" not in str(exc)


@dataclass(frozen=True)
class _Plan:
    index: int
    item: Item
    output: PurePosixPath  # relative to OUT_DIR (a folder for --frames)
    kernel: PurePosixPath | None


def _plan(items, settings: Settings):
    from .video import output_suffix

    plans = []
    for i, item in enumerate(items):
        rel = item.rel
        kernel = None
        if item.kind == "image":
            out = rel
            if settings.save_kernel:
                kernel = rel.with_name(f"{rel.stem}.kernel.{settings.save_kernel}")
        else:
            out = rel.with_name(f"{rel.stem}_frames") if settings.frames else rel.with_suffix(output_suffix(rel.suffix))
            if settings.save_kernel and (settings.shared_kernel or not settings.blind):
                kernel = rel.with_name(f"{rel.stem}.kernel.{settings.save_kernel}")
        plans.append(_Plan(i, item, out, kernel))
    return plans


def _check_plans(plans, out_dir: Path):
    """Refuse two inputs with one output name, outputs that are inputs, and reserved names."""
    inputs = {p.item.path.resolve() for p in plans}
    taken = {}
    reserved = {MANIFEST_NAME, STAGING, ".classicdeblur.lock"}
    for p in plans:
        for rel in (p.output, p.kernel):
            if rel is None:
                continue
            if str(rel) in reserved:
                raise ClassicDeblurError(f"'{p.item.path}' would be written as '{rel}', a name the batch reserves")
            if rel in taken and taken[rel] != p.item.path:
                raise ClassicDeblurError(
                    f"'{p.item.path}' and '{taken[rel]}' would both be written to '{out_dir / rel}'")
            taken[rel] = p.item.path
            if (out_dir / rel).resolve() in inputs:
                raise ClassicDeblurError(
                    f"refusing to write '{out_dir / rel}': it is an input; choose another output folder (-o)")


def _reason(exc) -> str:
    text = str(exc).strip()
    line = text.splitlines()[0] if text else ""
    if isinstance(exc, ClassicDeblurError) and line:
        return line
    return f"{type(exc).__name__}: {line}" if line else type(exc).__name__


def _now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def _result(fut):
    """A task's result dict; an input error the task returned is raised here."""
    res = fut.result()
    if "error" in res:
        raise res["error"]
    return res


def _fsync_write(path: Path, data: bytes):
    with open(path, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


class _Batch:
    """State of one run; :meth:`run` does the work."""

    def __init__(self, plans, out_dir, settings, manifest, *, overwrite, make, progress):
        from .. import __version__

        self.plans = plans
        self.out_dir = out_dir
        self.settings = settings
        self.manifest = manifest
        self.overwrite = overwrite
        self._make = make
        self.executor = None
        self.records = {}
        self.version = __version__
        self.staging = out_dir / STAGING
        self.pending = {}
        self.bar = None
        self.progress = progress

    # -- helpers ------------------------------------------------------------------
    def _executor(self):
        if self.executor is None:
            self.executor = self._make()
        return self.executor

    def _record(self, plan, status, *, sha=None, size=None, reason=None, seconds=None, **extra):
        rec = {
            "input": str(plan.item.path.resolve()),
            "kind": plan.item.kind,
            "sha256": sha,
            "size": size,
            "method": self.settings.method,
            "params": self.settings.fingerprint(plan.item.kind),
            "status": status,
            "reason": reason,
            "output": str(plan.output) if status != "failed" else None,
            "kernel": str(plan.kernel) if plan.kernel is not None and status != "failed" else None,
            "seconds": None if seconds is None else round(float(seconds), 4),
            "time": _now(),
            "version": self.version,
        }
        rec.update(extra)
        return rec

    def _finish(self, plan, rec):
        """Record an input's final status for this run."""
        self.manifest.append(rec)
        self.records[plan.index] = rec
        if self.bar is not None:
            self.bar.update(1)

    def _fail(self, plan, exc_or_reason, **kw):
        reason = exc_or_reason if isinstance(exc_or_reason, str) else _reason(exc_or_reason)
        self._finish(plan, self._record(plan, "failed", reason=reason, **kw))

    def _reusable(self, plan, sha):
        """The earlier record whose output this run can keep, if any."""
        prev = self.manifest.latest.get(str(plan.item.path.resolve()))
        if not prev or prev.get("status") not in COMPLETE:
            return None
        if prev.get("sha256") != sha or prev.get("params") != self.settings.fingerprint(plan.item.kind):
            return None
        if prev.get("output") != str(plan.output) or not (self.out_dir / plan.output).exists():
            return None
        if plan.kernel is not None and not (self.out_dir / plan.kernel).exists():
            return None
        return prev

    def _skip(self, plan, prev):
        keep = {k: prev.get(k) for k in ("seconds", "frames", "fps", "warnings") if k in prev}
        self._finish(plan, self._record(plan, "skipped", sha=prev["sha256"], size=prev.get("size"), **keep))

    def _blocked(self, plan):
        """Why an output may not be written (a file that no batch here wrote), or None."""
        if self.overwrite:
            return None
        for rel in (plan.output, plan.kernel):
            if rel is not None and os.path.lexists(self.out_dir / rel) and not self.manifest.owns(rel):
                return f"'{self.out_dir / rel}' already exists and was not written by a batch; use --overwrite"
        return None

    def _place(self, staged: Path, rel: PurePosixPath):
        """Move a finished output from staging into place (replacing a folder in two renames)."""
        dest = self.out_dir / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        if staged.is_dir() and dest.is_dir():
            trash = self.staging / f"old-{os.getpid()}-{time.monotonic_ns()}"
            os.replace(dest, trash)
            os.replace(staged, dest)
            shutil.rmtree(trash, ignore_errors=True)
        else:
            if dest.is_dir():
                shutil.rmtree(dest)
            os.replace(staged, dest)

    def _commit(self, plan, rec, staged, staged_kernel):
        """Write ``running``, move the outputs into place, write the final record."""
        self.manifest.append({**rec, "status": "running"})
        if staged_kernel is not None:
            self._place(staged_kernel, plan.kernel)
        self._place(staged, plan.output)
        self._finish(plan, rec)

    def _raise_if_argument_error(self, exc):
        if _stops_batch(exc):
            raise exc
        if isinstance(exc, ModuleNotFoundError) and "classicdeblur" in str(exc):
            raise ClassicDeblurError(f"a Dask worker cannot import classicdeblur ({exc}); install it on every worker")

    # -- images -------------------------------------------------------------------
    def _submit_image(self, plan):
        try:
            data = plan.item.path.read_bytes()
        except OSError as e:
            self._fail(plan, f"cannot read '{plan.item.path}': {e.strerror or e}")
            return
        import hashlib

        sha, size = hashlib.sha256(data).hexdigest(), len(data)
        prev = self._reusable(plan, sha)
        if prev is not None:
            self._skip(plan, prev)
            return
        blocked = self._blocked(plan)
        if blocked:
            self._fail(plan, blocked, sha=sha, size=size)
            return
        ex = self._executor()
        while len(self.pending) >= ex.slots:
            self._collect_images(ex)
        fut = ex.submit(tasks.deblur_image, str(plan.item.path), data, self.settings)
        self.pending[fut] = (plan, sha, size)

    def _collect_images(self, ex):
        for fut in ex.wait(self.pending):
            plan, sha, size = self.pending.pop(fut)
            try:
                res = _result(fut)
            except Exception as e:
                self._raise_if_argument_error(e)
                self._fail(plan, e, sha=sha, size=size)
                continue
            staged = self.staging / f"{plan.index}{plan.output.suffix}"
            _fsync_write(staged, res["image"])
            staged_kernel = None
            if plan.kernel is not None:
                staged_kernel = self.staging / f"{plan.index}.kernel{plan.kernel.suffix}"
                _fsync_write(staged_kernel, res["kernel"])
            extra = {"warnings": res["warnings"]} if res.get("warnings") else {}
            rec = self._record(plan, "done", sha=sha, size=size, seconds=res["seconds"], **extra)
            self._commit(plan, rec, staged, staged_kernel)

    # -- videos -------------------------------------------------------------------
    def _video(self, plan):
        from .video import VideoReader

        try:
            sha, size = file_sha256(plan.item.path)
        except OSError as e:
            self._fail(plan, f"cannot read '{plan.item.path}': {e.strerror or e}")
            return
        prev = self._reusable(plan, sha)
        if prev is not None:
            self._skip(plan, prev)
            return
        blocked = self._blocked(plan)
        if blocked:
            self._fail(plan, blocked, sha=sha, size=size)
            return
        try:
            with VideoReader(plan.item.path) as reader:
                fps, frames, seconds, staged, staged_kernel = self._video_frames(plan, reader)
        except Exception as e:
            self._raise_if_argument_error(e)
            self._fail(plan, e, sha=sha, size=size)
            return
        rec = self._record(plan, "done", sha=sha, size=size, seconds=seconds, frames=frames, fps=fps)
        self._commit(plan, rec, staged, staged_kernel)

    def _shared_kernel(self, plan, ex):
        """One kernel for the clip: the mean of the kernels of its N sharpest (or first N) frames."""
        import numpy as np

        from .video import VideoReader, sharpness

        n, chosen = self.settings.kernel_frames, []
        with VideoReader(plan.item.path) as reader:
            if self.settings.kernel_from == "first":
                for frame in reader:
                    chosen.append(frame)
                    if len(chosen) == n:
                        break
            else:
                scored = []
                for i, frame in enumerate(reader):
                    scored.append((sharpness(frame), -i, frame))
                    scored.sort(key=lambda t: t[:2], reverse=True)
                    del scored[n:]
                chosen = [f for _, _, f in scored]
        if not chosen:
            raise ClassicDeblurError(f"'{plan.item.path}' has no frames")
        futs = [ex.submit(tasks.estimate_kernel, f, self.settings) for f in chosen]
        try:
            kernels = [_result(f)["kernel"] for f in futs]
        finally:
            ex.cancel(futs)
        h = max(k.shape[0] for k in kernels)
        w = max(k.shape[1] for k in kernels)
        total = np.zeros((h, w))
        for k in kernels:  # centred sum (odd sizes, centre at (h // 2, w // 2))
            dy, dx = (h - k.shape[0]) // 2, (w - k.shape[1]) // 2
            total[dy:dy + k.shape[0], dx:dx + k.shape[1]] += k
        return total / total.sum()

    def _video_frames(self, plan, reader):
        """Deblur every frame in parallel and write them in order; returns what the record needs."""
        from .. import write_image, write_kernel
        from .video import VideoWriter

        ex = self._executor()
        s = self.settings
        kernel = None
        if s.shared_kernel:
            kernel = self._shared_kernel(plan, ex)
        elif not s.blind:
            kernel = s.kernel
        base = self.staging / f"{plan.index}"
        if s.frames:
            staged = base.with_name(f"{plan.index}_frames")
            staged.mkdir()
            sink = None
        else:
            staged = base.with_name(f"{plan.index}{plan.output.suffix}")
            sink = VideoWriter(staged, reader.fps, reader.size)
        bar = None
        if self.progress:
            from tqdm import tqdm

            bar = tqdm(total=reader.count or None, desc=plan.item.path.name, unit="frame", leave=False,
                       position=1, dynamic_ncols=True)
        pending, done, nxt, seconds, written = {}, {}, 0, 0.0, 0

        def emit(frame):
            nonlocal written
            if sink is not None:
                sink.write(frame)
            else:
                f = frame[..., 0] if (frame[..., 0] == frame[..., 1]).all() and (frame[..., 0] == frame[..., 2]).all() \
                    else frame[..., ::-1]
                write_image(staged / f"frame_{written:06d}.png", f)
            written += 1
            if bar is not None:
                bar.update(1)

        def collect():
            nonlocal nxt, seconds
            for fut in ex.wait(pending):
                i = pending.pop(fut)
                try:
                    res = _result(fut)
                except Exception as e:
                    self._raise_if_argument_error(e)
                    raise ClassicDeblurError(f"frame {i}: {_reason(e)}") from e
                done[i] = res["frame"]
                seconds += res["seconds"]
            while nxt in done:
                emit(done.pop(nxt))
                nxt += 1

        try:
            for i, frame in enumerate(reader):
                while len(pending) + len(done) >= 2 * ex.slots:
                    collect()
                if kernel is not None:
                    fut = ex.submit(tasks.deconvolve_frame, frame, kernel, s)
                else:
                    fut = ex.submit(tasks.deblur_frame, frame, s)
                pending[fut] = i
            while pending:
                collect()
        except BaseException:
            ex.cancel(pending)
            raise
        finally:
            if sink is not None:
                sink.close()
            if bar is not None:
                bar.close()
        if written == 0:
            raise ClassicDeblurError(f"'{plan.item.path}' has no frames that OpenCV can decode")
        staged_kernel = None
        if plan.kernel is not None and kernel is not None:
            staged_kernel = self.staging / f"{plan.index}.kernel{plan.kernel.suffix}"
            write_kernel(staged_kernel, kernel)
        return reader.fps, written, seconds, staged, staged_kernel

    # -- the run ------------------------------------------------------------------
    def run(self):
        if self.progress:
            from tqdm import tqdm

            self.bar = tqdm(total=len(self.plans), unit="file", desc="batch", dynamic_ncols=True)
        try:
            for plan in self.plans:
                if plan.item.kind == "image":
                    self._submit_image(plan)
            while self.pending:
                self._collect_images(self.executor)
            for plan in self.plans:
                if plan.item.kind == "video":
                    self._video(plan)
        finally:
            if self.bar is not None:
                self.bar.close()
        return [self.records[p.index] for p in self.plans]

    def close(self):
        if self.executor is not None:
            try:
                self.executor.cancel(self.pending)
            finally:
                self.executor.close()


def deblur_files(inputs, out_dir, *, method=None, kernel=None, kernel_size=None, params=None, seed=None,
                 pixel_screening=False, face_box=None, device="auto", bit_depth=None, max_pixels=None,
                 save_kernel=None, recursive=False, frames=False, shared_kernel=False, kernel_frames=3,
                 kernel_from="sharpest", overwrite=False, jobs=1, scheduler=None, client=None,
                 progress=False, report=None) -> list[dict]:
    """Deblur many images and videos into ``out_dir``, resumably, on Dask.

    Parameters
    ----------
    inputs : str, path or iterable of them
        Files, folders and glob patterns (see :func:`.inputs.expand_inputs`). Images
        keep their format; bit depth is kept unless ``bit_depth``. Videos are deblurred
        frame by frame and written as a video with the same frame rate and size, or as
        PNG frames in ``<name>_frames/`` with ``frames=True``.
    out_dir : str or path
        Output folder (created); outputs mirror the inputs' names under it, and it
        holds the manifest ``manifest.jsonl`` (see :mod:`.manifest`).
    method, kernel, kernel_size, params, seed, pixel_screening, face_box, device
        As ``classicdeblur run`` (``params`` is the dict of ``-p KEY=VALUE``):
        blind methods via :func:`classicdeblur.deblur`, non-blind ones with a known
        ``kernel`` via :func:`classicdeblur.deconvolve`.
    bit_depth : {None, 8, 16}
    max_pixels : int, optional
        Refuse (fail) larger images.
    save_kernel : str, optional
        Also write each kernel in this format (``"png"``, ``"npy"``, ...) as
        ``<name>.kernel.<format>`` beside its output.
    recursive : bool
        Descend into sub-folders.
    frames : bool
        Write videos as frames.
    shared_kernel : bool
        Estimate one kernel per video, from its ``kernel_frames`` sharpest frames
        (``kernel_from="sharpest"``) or first ones (``"first"``), as the mean of
        their kernels, and deconvolve every frame with it (``hyper_laplacian``).
    overwrite : bool
        Replace existing files that no batch wrote (outputs of earlier batches in this
        folder are always replaced when redone).
    jobs : int
        Worker processes of the ``dask.distributed`` LocalCluster started for the run
        (one thread each); 0 runs in this process without Dask.
    scheduler : str, optional
        Address of an existing Dask scheduler to submit to instead (its workers need
        classicdeblur installed, the same version).
    client : distributed.Client, optional
        A client to submit to (left open).
    progress : bool
        Show progress bars (count, rate, ETA) on stderr.
    report : str or path, optional
        Also write an HTML contact sheet of this run there (see :mod:`.report`).

    Returns
    -------
    list of dict
        This run's manifest record of every input, in input order; ``status`` is
        ``"done"``, ``"skipped"`` (done before with the same input bytes and
        parameters) or ``"failed"`` (``reason`` says why).

    Raises
    ------
    ClassicDeblurError
        Bad options, no inputs, clashing output names, a batch already writing to
        ``out_dir``, or an error that concerns the options rather than one input
        (an unknown method parameter, no GPU for ``device="gpu"``).
    KeyboardInterrupt
        Passed on after stopping the workers; finished outputs and their records stay.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> import classicdeblur as cd
    >>> d = tempfile.mkdtemp()
    >>> cd.write_image(os.path.join(d, "a.png"), np.random.default_rng(0).random((32, 32)))
    >>> recs = deblur_files([os.path.join(d, "a.png")], os.path.join(d, "out"), kernel="gaussian:sigma=1",
    ...                     jobs=0)
    >>> recs[0]["status"], recs[0]["output"]
    ('done', 'a.png')
    >>> deblur_files([os.path.join(d, "a.png")], os.path.join(d, "out"), kernel="gaussian:sigma=1",
    ...              jobs=0)[0]["status"]
    'skipped'
    """
    settings = make_settings(method, kernel=kernel, kernel_size=kernel_size, params=params, seed=seed,
                             pixel_screening=pixel_screening, face_box=face_box, device=device,
                             bit_depth=bit_depth, max_pixels=max_pixels, save_kernel=save_kernel,
                             frames=frames, shared_kernel=shared_kernel, kernel_frames=kernel_frames,
                             kernel_from=kernel_from)
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise ClassicDeblurError(f"'{out_dir}' is not a folder; -o takes the output folder")
    if report is not None and Path(report).suffix.lower() not in (".html", ".htm"):
        raise ClassicDeblurError(f"the report must be an .html file; got '{report}'")
    items = expand_inputs(inputs, recursive=recursive, exclude=[out_dir])
    plans = _plan(items, settings)
    _check_plans(plans, out_dir)
    if report is not None and Path(report).resolve() in {p.item.path.resolve() for p in plans}:
        raise ClassicDeblurError(f"refusing to write the report over the input '{report}'")

    def make():
        from .executors import make_executor

        return make_executor(jobs=jobs, scheduler=scheduler, client=client, device=device)

    with Manifest(out_dir) as manifest:
        staging = out_dir / STAGING
        shutil.rmtree(staging, ignore_errors=True)  # left by a killed run
        staging.mkdir()
        batch = _Batch(plans, out_dir, settings, manifest, overwrite=overwrite, make=make, progress=progress)
        try:
            records = batch.run()
        finally:
            try:
                batch.close()
            finally:
                shutil.rmtree(staging, ignore_errors=True)
    if report is not None:
        from .report import write_report

        write_report(report, records, out_dir)
    return records
