"""``classicdeblur batch``: the command's action (its options are defined in :mod:`classicdeblur.cli`)."""

from __future__ import annotations

import signal
import sys
import threading
import time
from contextlib import contextmanager

__all__ = ["main", "EXIT_OK", "EXIT_SOME_FAILED", "EXIT_INTERRUPTED"]

EXIT_OK, EXIT_SOME_FAILED, EXIT_INTERRUPTED = 0, 3, 130


@contextmanager
def _sigterm_as_interrupt():
    """Let ``kill PID`` stop a batch as Ctrl-C does (workers stopped, staging removed)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def main(args) -> int:
    """Run ``classicdeblur batch`` from parsed arguments; returns the exit code.

    0 when every input is done or skipped, 3 when some failed (see the manifest), 130
    when interrupted. Bad arguments raise :class:`classicdeblur.errors.ClassicDeblurError`,
    which the CLI turns into exit code 2.
    """
    from .manifest import MANIFEST_NAME
    from .runner import deblur_files

    t0 = time.perf_counter()
    jobs = args.jobs
    if jobs is None:
        jobs = 1
        if args.device == "gpu" and args.scheduler is None:
            from .executors import gpu_ids

            jobs = max(1, len(gpu_ids()))
    try:
        with _sigterm_as_interrupt():
            records = deblur_files(
                args.inputs, args.output, method=args.method, kernel=args.kernel, kernel_size=args.kernel_size,
                params=dict(args.param), seed=args.seed, pixel_screening=args.pixel_screening,
                face_box=args.face_box, device=args.device, bit_depth=args.bit_depth, max_pixels=args.max_pixels,
                save_kernel=args.save_kernel, recursive=args.recursive, frames=args.frames,
                shared_kernel=args.shared_kernel, kernel_frames=args.kernel_frames, kernel_from=args.kernel_from,
                overwrite=args.overwrite, jobs=jobs, scheduler=args.scheduler, progress=not args.quiet,
                report=args.report)
    except KeyboardInterrupt:
        print(f"interrupted: finished outputs and {args.output / MANIFEST_NAME} are kept; "
              "run the same command again to finish", file=sys.stderr)
        return EXIT_INTERRUPTED
    seconds = time.perf_counter() - t0
    counts = {s: sum(r["status"] == s for r in records) for s in ("done", "skipped", "failed")}
    if not args.quiet:
        rate = f", {counts['done'] / seconds:.2f} inputs/s" if counts["done"] else ""
        print(f"batch: {counts['done']} done, {counts['skipped']} skipped, {counts['failed']} failed "
              f"of {len(records)} inputs in {seconds:.1f} s{rate}")
        for r in records:
            if r["status"] == "failed":
                print(f"  failed: {r['input']}: {r['reason']}", file=sys.stderr)
        print(f"manifest: {args.output / MANIFEST_NAME}")
        if args.report is not None:
            print(f"report: {args.report}")
    return EXIT_SOME_FAILED if counts["failed"] else EXIT_OK
