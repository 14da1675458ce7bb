"""Command-line interface: a thin shell over the public API.

``classicdeblur run|batch|methods|blur|synth|eval|kernels|exemplars``. Bad input gives one line on
stderr and exit code 2; the solvers never call :func:`sys.exit`.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import sys
from pathlib import Path

from . import __version__
from .errors import ClassicDeblurError, OutputExistsError

__all__ = ["build_parser", "main"]

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2
EXIT_BROKEN_PIPE = 128 + 13  # as a process killed by SIGPIPE


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors in one line with exit code 2."""

    def error(self, message):
        raise _UsageError(f"{self.prog}: {message}")


class _UsageError(Exception):
    pass


def _param(text):
    """``KEY=VALUE`` with VALUE read as a Python literal when it is one."""
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    key, value = text.split("=", 1)
    try:
        value = ast.literal_eval(value)
    except (ValueError, SyntaxError):
        pass
    return key.strip().replace("-", "_"), value


def _face_box(text):
    """``X,Y,W,H`` (pixels, negative values allowed) or ``whole``; clipped to the image once it is read."""
    if text.strip().lower() == "whole":
        return "whole"
    from .faces.detect import check_box

    try:
        return check_box(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _kernel_size(text):
    """``auto`` or an odd whole number of pixels (checked further once the image is read)."""
    if text.strip().lower() == "auto":
        return "auto"
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected 'auto' or an odd number of pixels, got {text!r}") from None


def _pixel_count(text):
    """A positive whole number of pixels, ``5e8`` notation allowed."""
    from ._validation import _as_pixel_count

    try:
        return _as_pixel_count(text, "the pixel limit")
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


#: An option value that argparse would take for an option: ``-10,-10,5,5``.
_NEGATIVE_VALUE = re.compile(r"^-\d")


def _join_negative_values(argv):
    """``--face-box -10,-10,5,5`` -> ``--face-box=-10,-10,5,5``, so that argparse reads it as the value."""
    out, it = [], iter(argv)
    for a in it:
        if a == "--face-box":
            nxt = next(it, None)
            if nxt is not None and _NEGATIVE_VALUE.match(nxt):
                out.append(f"{a}={nxt}")
                continue
            out.append(a)
            if nxt is not None:
                out.append(nxt)
            continue
        out.append(a)
    return out


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Help with each default shown once: ``(default: X)`` unless the text already says it or there is none."""

    def _get_help_string(self, action):
        text = action.help or ""
        d = action.default
        if "default" in text.lower() or d is None or d is False or d is argparse.SUPPRESS or d == []:
            return text
        if action.option_strings or action.nargs in (argparse.OPTIONAL, argparse.ZERO_OR_MORE):
            return f"{text} (default: %(default)s)"
        return text


_RUN_EPILOG = """\
which method:
  known blur (a kernel file, levin:3, motion:length=15,angle=30)
      --kernel K                 non-blind; hyper_laplacian unless -m says otherwise
                                 (-m wiener or tikhonov: fastest, rougher)
  unknown blur, face photo       -m anwar2018  best on the face benchmarks (~1 s at 256 px)
                                 -m exemplar   best on very large blur (~4 s)
  unknown blur, any subject      -m xu2010     fastest blind method; -m cho2009 also good
  unknown blur, and a sharp photo of the same face
                                 -m hacohen2013 --reference SHARP.jpg
  neither --method nor --kernel: anwar2018 when a face is found on the photo, else
  xu2010 (said on stderr). 'classicdeblur methods' lists every method.

kernel size (--kernel-size, blind methods): the side in pixels of the window the
  kernel is estimated in. Default 'auto': the blur's extent, measured by a quick
  probe estimation, plus 2 pixels, at most a quarter of the smaller image side
  (-v shows it). An odd number overrides it: at least the longest streak you see.
  Too small cannot hold the blur, too large is slower and less stable. Blind methods
  need images of at least 12x12 pixels.

faces: face methods (exemplar, anwar2018, tian2015) find the face with dlib (HOG,
  then the CNN detector on small copies of the photo, then both on a quick xu2010
  deblur), estimate the kernel on it and restore the whole photo. No face found: the
  kernel is estimated on the whole image, with a warning (an image of at most 512
  pixels is taken to be a face crop); --require-face makes it an error instead.
  --face-box X,Y,W,H (pixels, clipped to the image) gives the face, --face-box whole
  says the image is a face crop. Other methods need no face.

memory: images over --max-pixels (or $CLASSICDEBLUR_MAX_PIXELS; default 64000000)
  are refused from the file header, before decoding.
"""


def _common_output(group):
    group.add_argument("-o", "--output", type=Path, help="output file (default: INPUT stem + suffix)")
    group.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    group.add_argument("--bit-depth", type=int, choices=(8, 16), default=None,
                       help="output bit depth (default: that of the input)")


def _algorithm_options(parser, *, run=False):
    """The algorithm and backend options of ``run`` (``run=True``: auto kernel size, --require-face), shared with
    ``batch``."""
    g = parser.add_argument_group("algorithm")
    g.add_argument("-m", "--method", default=None,
                   help="method name (see 'classicdeblur methods'); default hyper_laplacian with --kernel")
    g.add_argument("-k", "--kernel", default=None,
                   help="known kernel for non-blind methods: a file, a bank name like levin:3, "
                        "or a recipe like motion:length=15,angle=30")
    if run:
        g.add_argument("--kernel-size", type=_kernel_size, default=None, metavar="N|auto",
                       help="blind methods: odd side of the kernel's window in pixels, or 'auto' (default: auto, "
                            "estimated from the image, at most a quarter of the smaller side)")
    else:
        g.add_argument("--kernel-size", type=int, default=None,
                       help="blind methods: odd bound on the blur's extent in pixels (default: 31, or a quarter "
                            "of the smaller image side when less)")
    g.add_argument("-p", "--param", type=_param, action="append", default=[], metavar="KEY=VALUE",
                   help="method parameter, repeatable (e.g. -p lam=2000 -p alpha=0.5)")
    g.add_argument("--seed", type=int, default=None, help="random seed of blind methods (default: 0)")
    g.add_argument("--pixel-screening", action="store_true",
                   help="blind methods: correct the intermediate image before each kernel step "
                        "(pixel screening, Zhang et al. 2022)")
    g.add_argument("--face-box", type=_face_box, default=None, metavar="X,Y,W,H|whole",
                   help="face methods (and -p face_guided=True): where the face is, in pixels, when the detector "
                        "misses it (clipped to the image); 'whole' for a face crop")
    if run:
        g.add_argument("--reference", type=Path, default=None, metavar="FILE",
                       help="methods that need one (hacohen2013): a sharp photo of the same face, any size or framing")
        g.add_argument("--require-face", action="store_true",
                       help="face methods: stop with an error when no face is found (default: estimate the kernel on "
                            "the whole image, with a warning)")
    g = parser.add_argument_group("backend")
    g.add_argument("--device", choices=("auto", "cpu", "gpu"), default="auto", help="where to compute")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``classicdeblur`` command."""
    p = _Parser(prog="classicdeblur", description="Classical, model-based deblurring of face images.")
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    quiet = argparse.ArgumentParser(add_help=False)
    quiet.add_argument("-q", "--quiet", action="store_true", help="no progress or summary messages")
    fmt = _HelpFormatter

    def add(name, help, **kw):
        return sub.add_parser(name, help=help, formatter_class=fmt, parents=[quiet], **kw)

    r = add("run", "deblur an image (blind, or non-blind with --kernel)", epilog=_RUN_EPILOG,
            description="Deblur one image: non-blind with a known --kernel, or blind with --method (default: "
                        "anwar2018 when a face is found, else xu2010).")
    g = r.add_argument_group("input")
    g.add_argument("input", type=Path, help="blurred image (PNG, JPEG, TIFF, PGM/PPM, BMP)")
    g.add_argument("--max-pixels", type=_pixel_count, default=None, metavar="N",
                   help="refuse images with more pixels, checked from the file header before decoding, "
                        "e.g. 5e8 (default: $CLASSICDEBLUR_MAX_PIXELS, else 64000000)")
    _algorithm_options(r, run=True)
    g = r.add_argument_group("output")
    _common_output(g)
    g.add_argument("--save-kernel", type=Path, default=None,
                   help="write the (estimated) kernel here (.png, .npy, .txt, .csv, .tif, .mat)")
    g.add_argument("-v", "--verbose", action="store_true",
                   help="print the method, kernel size, face and per-stage seconds to stderr")
    g.add_argument("--json", action="store_true",
                   help="print one JSON object (paths, method, kernel size, face, seconds, warnings) to stdout")

    bt = add("batch", "deblur many images and videos into a folder (resumable; on Dask)")
    bt.epilog = "exit status: 0 all done or skipped, 3 some inputs failed (see OUT_DIR/manifest.jsonl), 2 bad arguments"
    g = bt.add_argument_group("input")
    g.add_argument("inputs", nargs="+", metavar="INPUT", help="image or video files, folders and glob patterns")
    g.add_argument("-r", "--recursive", action="store_true", help="descend into sub-folders (and let ** match them)")
    g.add_argument("--max-pixels", type=_pixel_count, default=None, metavar="N", help="fail larger images")
    _algorithm_options(bt)
    g = bt.add_argument_group("video")
    g.add_argument("--frames", action="store_true", help="write videos as PNG frames in NAME_frames/")
    g.add_argument("--shared-kernel", action="store_true", help="blind methods: one kernel per video clip")
    g.add_argument("--kernel-frames", type=int, default=3, metavar="N", help="frames the shared kernel comes from")
    g.add_argument("--kernel-from", choices=("sharpest", "first"), default="sharpest",
                   help="which frames the shared kernel comes from")
    g = bt.add_argument_group("scale-out")
    g.add_argument("-j", "--jobs", type=int, default=None,
                   help="worker processes of a local Dask cluster (default 1, or one per GPU with --device gpu); "
                        "0: in this process, no Dask")
    g.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="submit to an existing Dask scheduler (tcp://host:8786) instead")
    g = bt.add_argument_group("output")
    g.add_argument("-o", "--output", type=Path, required=True, metavar="OUT_DIR",
                   help="output folder: mirrored names, manifest.jsonl")
    g.add_argument("--overwrite", action="store_true", help="replace existing files that no batch wrote")
    g.add_argument("--bit-depth", type=int, choices=(8, 16), default=None,
                   help="output bit depth of images (default: that of each input)")
    g.add_argument("--save-kernel", nargs="?", const="png", default=None, metavar="FORMAT",
                   help="also write each kernel as NAME.kernel.FORMAT (png, npy, txt, csv, tif, mat; default png)")
    g.add_argument("--report", type=Path, default=None, metavar="HTML", help="write an HTML contact sheet here")

    m = add("methods", "list the registered methods")
    m.add_argument("--kind", choices=("blind", "non-blind"), default=None, help="only this kind (default: both)")
    m.add_argument("--json", action="store_true", help="print JSON")

    b = add("blur", "blur an image with a named or generated kernel plus noise")
    b.add_argument("input", type=Path)
    b.add_argument("-k", "--kernel", required=True,
                   help="levin:N, lai:N, a kernel file or a recipe like motion:length=15,angle=30")
    b.add_argument("--noise", choices=("gaussian", "poisson", "none"), default="gaussian", help="noise model")
    b.add_argument("--sigma", type=float, default=0.01, help="Gaussian noise standard deviation")
    b.add_argument("--peak", type=float, default=255.0, help="Poisson peak photon count")
    b.add_argument("--no-quantize", action="store_true", help="skip 8-bit quantisation")
    b.add_argument("--seed", type=int, default=0, help="random seed of the kernel and the noise")
    _common_output(b)
    b.add_argument("--save-kernel", type=Path, default=None,
                   help="write the kernel here (.png, .npy, .txt, .csv, .tif, .mat)")

    s = add("synth", "make a paired blurred/sharp dataset from a folder of sharp faces")
    s.add_argument("source", type=Path, help="folder of sharp images")
    s.add_argument("-o", "--output", type=Path, required=True, help="output folder")
    s.add_argument("--recipe", default="shen2018", help="dataset recipe (survey Table 2)")
    s.add_argument("--seed", type=int, default=0, help="random seed of the kernels and the noise")
    s.add_argument("--limit", type=int, default=None, help="use at most this many images")
    s.add_argument("--overwrite", action="store_true", help="allow a non-empty output folder")

    e = add("eval", "metrics of results against the ground truth")
    e.add_argument("truth", type=Path, help="sharp ground-truth image")
    e.add_argument("results", type=Path, nargs="+", help="restored image(s)")
    e.add_argument("--kernel-size", type=int, default=None,
                   help="shift search and border for shift-tolerant measures (default: size of --true-kernel, else 0)")
    e.add_argument("--true-kernel", default=None, help="ground-truth kernel (file or name)")
    e.add_argument("--kernel", action="append", default=[],
                   help="estimated kernel of each result, in order (for kernel similarity)")
    e.add_argument("--json", action="store_true", help="print JSON instead of a table")

    k = add("kernels", "list the shipped kernel banks")
    k.add_argument("bank", nargs="?", default=None, help="only this bank (levin, lai, ...)")

    x = add("exemplars", "build the face-exemplar database (needs the 'faces' extra)")
    xs = x.add_subparsers(dest="action", metavar="ACTION", parser_class=_Parser, required=True)
    xb = xs.add_parser("build", help="detect, align and mask faces; learn the face priors",
                       formatter_class=fmt, parents=[quiet])
    xb.add_argument("faces_dir", type=Path, metavar="FACES_DIR",
                    help="folder of sharp face photos, or of one sub-folder per identity")
    xb.add_argument("-o", "--output", type=Path, required=True, metavar="DB", help="database folder")
    xb.add_argument("--size", type=int, default=128, help="side of the aligned crops (multiple of 8)")
    xb.add_argument("--limit", type=int, default=None, help="at most this many exemplars")
    xb.add_argument("--per-identity", type=int, default=None,
                    help="at most this many per identity (chosen to cover poses and expressions)")
    xb.add_argument("--exclude-first-identities", type=int, default=0,
                    help="skip the first N identity folders (natural order), e.g. a test set's people")
    xb.add_argument("--upsample", type=int, default=1, help="face detector upsampling")
    xb.add_argument("--tolerance", type=float, default=0.06,
                    help="skip faces with landmarks more than this fraction of --size outside the crop")
    xb.add_argument("--source", default=None, help="source description for the manifest")
    xb.add_argument("--terms", default=None, help="terms of use for the manifest")
    xb.add_argument("--overwrite", action="store_true", help="replace an existing database")
    xl = xs.add_parser("learn", help="(re)learn the face priors of an existing database",
                       formatter_class=fmt, parents=[quiet])
    xl.add_argument("db", type=Path, nargs="?", default=None, metavar="DB",
                    help="database folder (default: the shipped one)")
    xl.add_argument("--only", action="append", default=None, metavar="NAME",
                    help="only this prior (repeatable)")

    ln = add("learn", "train a learned face prior (needs the 'torch' extra)")
    ls = ln.add_subparsers(dest="action", metavar="MODEL", parser_class=_Parser, required=True)
    le = ls.add_parser("edges", help="train the edge network of pan2018 / edge_predictor='learned'",
                       formatter_class=fmt, parents=[quiet],
                       description="Train the edge network on synthetic blur of the shared training faces (CelebA "
                                   "identities outside faces-256, CelebA-HQ) and write it with its manifest, "
                                   "history and loss curve. Seeded and resumable; one torch thread by default.")
    le.add_argument("--data", type=Path, required=True, help="the shared data folder (with faces/celeba, faces/celebahq)")
    le.add_argument("-o", "--output", type=Path, default=None, metavar="DIR",
                    help="models folder to write (default: the repository's models/)")
    le.add_argument("--name", default="edges", help="model name in the manifest")
    le.add_argument("--steps", type=int, default=None, help="training steps")
    le.add_argument("--batch", type=int, default=None, help="crops per step")
    le.add_argument("--crop", type=int, default=None, help="crop side in pixels (a multiple of the pooling)")
    le.add_argument("--lr", type=float, default=None, help="initial learning rate (cosine decay to 1/100)")
    le.add_argument("--seed", type=int, default=None, help="seed of the weights, kernels and samples")
    le.add_argument("--threads", type=int, default=None, help="torch threads (1 reproduces the shipped weights)")
    le.add_argument("--channels", default=None, metavar="C1,C2,...", help="U-Net widths per level")
    le.add_argument("--checkpoint", type=Path, default=None, help="checkpoint file (default: DIR/NAME.ckpt)")
    le.add_argument("--resume", action="store_true", help="continue from the checkpoint")
    return p


def _default_output(inp: Path, suffix: str) -> Path:
    return inp.with_name(f"{inp.stem}.{suffix}{inp.suffix}")


def _same_path(a, b) -> bool:
    return os.path.normcase(os.path.realpath(a)) == os.path.normcase(os.path.realpath(b))


def _check_outputs(args, out: Path, *extra):
    """Before any computation: the image ``out`` and the kernel paths ``extra`` can be written.

    Their formats are known, their folders exist and are writable, none is the
    input or another output, existing files need --overwrite, and --bit-depth
    16 needs a format that holds it.
    """
    from .io import IMAGE_EXTENSIONS, check_output_path

    kernels = [e for e in extra if e is not None]
    check_output_path(out, overwrite=args.overwrite, protect=[args.input], kind="image")
    for k in kernels:
        if _same_path(k, out):
            raise OutputExistsError(f"-o and --save-kernel are the same file '{k}'; give the kernel its own path")
        check_output_path(k, overwrite=args.overwrite, protect=[args.input], kind="kernel")
    if getattr(args, "bit_depth", None) == 16 and IMAGE_EXTENSIONS[Path(out).suffix.lower()] in ("jpeg", "bmp"):
        raise ClassicDeblurError(f"--bit-depth 16 cannot be written to '{out}': {Path(out).suffix} holds 8 bits; "
                                 "use .png, .tif or .ppm/.pgm")


def _write_outputs(args, out, image, data, kernel) -> int:
    """Write the image (keeping the input's alpha and bit depth) and, if asked, the kernel: both or neither."""
    from .io import output_group, write_image, write_kernel

    with output_group():
        write_image(out, image, alpha=data.alpha, bit_depth=args.bit_depth or data.bit_depth,
                    overwrite=args.overwrite, protect=[args.input])
        if args.save_kernel is not None:
            write_kernel(args.save_kernel, kernel, overwrite=args.overwrite, protect=[args.input])
    if not args.quiet and not getattr(args, "json", False):
        print(f"wrote {out}" + (f" and {args.save_kernel}" if args.save_kernel is not None else ""))
    return EXIT_OK


def _face_box_for(method, params, face_box):
    """Refuse --face-box where ``method`` would ignore it (a general method without -p face_guided=True)."""
    import inspect

    from .api import _blind

    reg = _blind()
    if reg.meta(method).get("face"):
        return face_box
    faces = [n for n in reg.names() if reg.meta(n).get("face")]
    guided = [n for n in reg.names() if "face_guided" in inspect.signature(reg.get(n)).parameters]
    if method in guided and params.get("face_guided") and face_box != "whole":
        return face_box
    if method in guided and face_box != "whole":
        raise ClassicDeblurError(f"--face-box with {method!r} needs -p face_guided=True (else it is ignored)")
    raise ClassicDeblurError(
        f"--face-box {'whole ' if face_box == 'whole' else ''}is for the face methods ({', '.join(faces)})"
        + (f" and {', '.join(guided)} with -p face_guided=True" if face_box != "whole" else "")
        + f"; {method!r} would ignore it"
    )


def _jsonable(value):
    """NumPy scalars and arrays, tuples and paths as JSON values."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _report(args, *, method, kind, out, kernel, info, seconds, warnings_):
    """The ``-v`` lines (stderr) and the ``--json`` object (stdout) of a run."""
    face = None
    if "face_source" in info or "faces" in info:
        face = {"source": info.get("face_source"), "boxes": [list(b) for b in info.get("faces") or [] if b is not None],
                "region": info.get("face_region"),
                "detectors": [d.get("detector") for d in info.get("face_detections") or []]}
    timings = {k: v for k, v in (info.get("timings") or {}).items() if isinstance(v, (int, float))}
    report = {
        "input": str(args.input), "output": str(out),
        "kernel_output": None if args.save_kernel is None else str(args.save_kernel),
        "method": method, "kind": kind, "device": info.get("device", args.device),
        "kernel_size": list(kernel.shape), "kernel_size_source": info.get("kernel_size_source"), "face": face,
        "seconds": seconds, "timings": timings,
        "warnings": warnings_,
    }
    if "identity" in info:  # a method that recognises the face (zhang2011)
        report["identity"] = info["identity"]
    if args.verbose:
        err = sys.stderr
        print(f"method: {method} ({kind}) on {report['device']}", file=err)
        source = info.get("kernel_size_source")
        extent = (info.get("kernel_size_estimate") or {}).get("extent")
        print(f"kernel size: {kernel.shape[1]}x{kernel.shape[0]}" + (f" ({source}" + (
            f": blur extent about {extent:g} px" if extent is not None else "") + ")" if source else ""), file=err)
        if face is not None:
            box = face["boxes"][0] if face["boxes"] else None
            found_by = f" ({face['detectors'][0]})" if face["detectors"] and face["detectors"][0] != "box" else ""
            print(f"face: {face['source']}{found_by}" + (f", box x,y,w,h = {','.join(map(str, box))}" if box else "")
                  + (f", kernel estimated on rows {face['region'][0]}:{face['region'][1]}, "
                     f"columns {face['region'][2]}:{face['region'][3]}" if face["region"] else ""), file=err)
        stages = ", ".join(f"{k} {v:.2f}" for k, v in timings.items())
        print("seconds: " + ", ".join(f"{k} {v:.2f}" for k, v in seconds.items())
              + (f" (stages: {stages})" if stages else ""), file=err)
    if args.json:
        print(json.dumps(report, default=_jsonable))


def _cmd_run(args) -> int:
    import time
    import warnings

    from . import api
    from ._progress import Progress
    from ._validation import check_blind_shape, pixel_limit
    from .io import read_image

    t_start = time.perf_counter()
    params = dict(args.param)
    method = args.method or ("hyper_laplacian" if args.kernel else None)
    kinds = {m.name: m.kind for m in api.methods()}
    pick = method is None  # neither --method nor --kernel: chosen by looking for a face once the image is read
    if pick:
        from .blind.photo import DEFAULT_FACE_METHOD, DEFAULT_METHOD

        # a face box, or a face required, says there is a face: the face method, without looking
        pick = args.face_box is None and not args.require_face
        method = DEFAULT_METHOD if pick else DEFAULT_FACE_METHOD
    if method not in kinds:
        raise ClassicDeblurError(f"unknown method {method!r}; choose from: {', '.join(sorted(kinds))}")
    blind = kinds[method] == "blind"
    # every argument check comes before reading the image and computing
    if not blind:
        if args.kernel is None:
            raise ClassicDeblurError(f"method {method!r} is non-blind: give --kernel FILE|levin:N")
        for flag, value in (("--kernel-size", args.kernel_size), ("--seed", args.seed),
                            ("--pixel-screening", args.pixel_screening or None), ("--face-box", args.face_box)):
            if value is not None:
                raise ClassicDeblurError(f"{flag} applies to blind methods; {method!r} is non-blind")
    else:
        if args.kernel is not None:
            raise ClassicDeblurError(f"method {method!r} is blind: use --kernel-size, not --kernel")
        if args.face_box is not None:
            _face_box_for(method, params, args.face_box)
        if args.pixel_screening:
            params["pixel_screening"] = True
    if args.require_face:
        if not blind or not api._blind().meta(method).get("face"):
            faces = [m.name for m in api.methods("blind") if api._blind().meta(m.name).get("face")]
            raise ClassicDeblurError(f"--require-face is for the face methods ({', '.join(faces)}); "
                                     f"{method!r} looks for no face")
        params["require_face"] = True
    needs = api._blind().meta(method).get("needs", ()) if blind else ()
    if args.reference is not None and "reference" not in needs:
        raise ClassicDeblurError(f"--reference is for the methods that need one; {method!r} would ignore it")
    if "reference" in needs and args.reference is None:
        raise ClassicDeblurError(f"method {method!r} needs --reference FILE, a sharp photo of the same face")
    out = args.output or _default_output(args.input, "deblurred")
    _check_outputs(args, out, args.save_kernel)
    seconds = {}
    with pixel_limit(args.max_pixels), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        t0 = time.perf_counter()
        data = read_image(args.input)  # the limit is checked from the header, before decoding
        if args.reference is not None:
            params["reference"] = read_image(args.reference).image
        if blind:
            check_blind_shape(data.image.shape, None if args.kernel_size == "auto" else args.kernel_size)
            if args.face_box is not None:
                from .faces.detect import check_box

                params["face_box"] = "whole" if args.face_box == "whole" else check_box(args.face_box,
                                                                                         data.image.shape)
        else:
            kernel = api.resolve_kernel(args.kernel)
        seconds["read"] = time.perf_counter() - t0
        if pick:
            from .blind.photo import default_method

            t0 = time.perf_counter()
            with Progress(f"looking for a face in {args.input.name}", enabled=not args.quiet):
                method, _, why = default_method(data.image)
            seconds["choose"] = time.perf_counter() - t0
            if not args.quiet:
                print(f"classicdeblur: no --method given: {why}, using {method}", file=sys.stderr)
        t0 = time.perf_counter()
        with Progress(f"{method} on {args.input.name}", enabled=not args.quiet):
            if blind:
                size = "auto" if args.kernel_size is None else args.kernel_size
                res = api.deblur(data.image, method, kernel_size=size, device=args.device,
                                 rng=0 if args.seed is None else args.seed, **params)
                image, kernel, info = res.image, res.kernel, res.info
            else:
                image = api.deconvolve(data.image, kernel, method=method, device=args.device, **params)
                from .backend import resolve_device

                info = {"device": resolve_device(args.device)}
        seconds["compute"] = time.perf_counter() - t0
    notes = list(dict.fromkeys([str(w.message) for w in caught]
                               + [str(info[k]) for k in ("warning", "final_note") if k in info]))
    if not args.quiet:
        for note in notes:
            print(f"classicdeblur: warning: {note}", file=sys.stderr)
    t0 = time.perf_counter()
    code = _write_outputs(args, out, image, data, kernel)
    seconds["write"] = time.perf_counter() - t0
    seconds["total"] = time.perf_counter() - t_start
    _report(args, method=method, kind=kinds[method], out=out, kernel=kernel, info=info, seconds=seconds,
            warnings_=notes)
    return code


def _cmd_methods(args) -> int:
    from .api import methods

    rows = methods(args.kind)
    if args.json:
        print(json.dumps([m.__dict__ for m in rows], indent=2))
        return EXIT_OK
    width = max((len(m.name) for m in rows), default=4)
    for m in rows:
        print(f"{m.name:<{width}}  {m.kind:<9}  {m.description}")
    return EXIT_OK


def _cmd_blur(args) -> int:
    import numpy as np

    from .api import resolve_kernel
    from .degrade import degrade
    from .io import read_image

    out = args.output or _default_output(args.input, "blurred")
    _check_outputs(args, out, args.save_kernel)
    data = read_image(args.input)
    rng = np.random.default_rng(args.seed)
    kernel = resolve_kernel(args.kernel, rng=rng)
    if kernel.shape[0] > data.image.shape[0] or kernel.shape[1] > data.image.shape[1]:
        raise ClassicDeblurError(f"kernel {kernel.shape} is larger than the image {data.image.shape[:2]}")
    noise = None if args.noise == "none" else args.noise
    blurred = degrade(data.image, kernel, noise=noise, sigma=args.sigma, peak=args.peak,
                      quantize=not args.no_quantize, rng=rng)
    return _write_outputs(args, out, blurred, data, kernel)


def _cmd_synth(args) -> int:
    from ._progress import Progress
    from .datasets import synthesize

    if not args.source.is_dir():
        raise ClassicDeblurError(f"{args.source}: not a folder of images")
    if args.output.exists() and any(args.output.iterdir()) and not args.overwrite:
        raise OutputExistsError(f"{args.output} is not empty; use --overwrite or another folder")
    with Progress(f"synth {args.recipe}", enabled=not args.quiet) as progress:
        manifest = synthesize(args.source, args.output, recipe=args.recipe, seed=args.seed,
                              limit=args.limit, progress=progress, overwrite=args.overwrite)
    if not args.quiet:
        print(f"wrote {len(manifest['items'])} pairs to {args.output}")
    return EXIT_OK


def _cmd_eval(args) -> int:
    from . import metrics
    from .api import resolve_kernel
    from .io import read_image, read_kernel

    truth = read_image(args.truth).image
    true_k = resolve_kernel(args.true_kernel) if args.true_kernel else None
    size = args.kernel_size if args.kernel_size is not None else (max(true_k.shape) if true_k is not None else 0)
    if args.kernel and len(args.kernel) != len(args.results):
        raise ClassicDeblurError(f"got {len(args.kernel)} --kernel for {len(args.results)} results")
    rows = []
    for i, path in enumerate(args.results):
        img = read_image(path).image
        row = {"result": str(path)}
        row.update(metrics.evaluate(truth, img, kernel_size=size))
        if args.kernel and true_k is not None:
            row["kernel_similarity"] = metrics.kernel_similarity(true_k, read_kernel(args.kernel[i]))
        rows.append(row)
    if args.json:
        print(json.dumps(rows, indent=2))
        return EXIT_OK
    cols = [c for c in rows[0] if c != "result"]
    width = max(len(r["result"]) for r in rows)
    print(f"{'result':<{width}}  " + "  ".join(f"{c:>12}" for c in cols))
    for r in rows:
        print(f"{r['result']:<{width}}  " + "  ".join(f"{r[c]:>12.4f}" for c in cols))
    return EXIT_OK


def _cmd_kernels(args) -> int:
    from .psf.bank import list_kernels, load_kernel

    for name in list_kernels(args.bank):
        h, w = load_kernel(name).shape
        print(f"{name:<16} {w}x{h}")
    return EXIT_OK


def _cmd_exemplars(args, argv=None) -> int:
    from ._progress import Progress
    from .blind import prior_learners
    from .faces.exemplar_build import build_database
    from .faces.exemplar_learn import learn_priors

    log = (lambda *a, **k: None) if args.quiet else (lambda msg: print(msg))
    learners = prior_learners()  # each method's registered learner (anwar2018, tian2015)
    if args.action == "learn":
        db = learn_priors(args.db, args.only, learners=learners, log=log)
        if not args.quiet:
            print(f"priors of {db.path}: {', '.join(db.manifest.get('priors', {})) or 'none'}")
        return EXIT_OK
    import shlex

    command = "classicdeblur " + shlex.join(argv if argv is not None else sys.argv[1:])
    with Progress(f"exemplars from {args.faces_dir}", enabled=not args.quiet) as progress:
        db = build_database(args.faces_dir, args.output, size=args.size, limit=args.limit,
                            per_identity=args.per_identity,
                            exclude_first_identities=args.exclude_first_identities,
                            upsample=args.upsample, tolerance=args.tolerance, overwrite=args.overwrite,
                            learners=learners, source=args.source, terms=args.terms, command=command,
                            progress=progress, log=log)
    if not args.quiet:
        print(f"wrote {len(db)} exemplars to {args.output}")
    return EXIT_OK


def _cmd_learn(args, argv=None) -> int:
    import shlex

    from .learned.network import DEFAULT_CONFIG
    from .learned.train import train_edges

    settings = {k: getattr(args, k) for k in ("steps", "batch", "crop", "lr", "seed", "threads")
                if getattr(args, k) is not None}
    if args.channels is not None:
        try:
            channels = [int(c) for c in args.channels.split(",")]
        except ValueError:
            raise _UsageError(f"--channels must be comma-separated integers; got {args.channels!r}") from None
        settings["config"] = {**DEFAULT_CONFIG, "channels": channels}
    command = "classicdeblur " + shlex.join(argv if argv is not None else sys.argv[1:])
    log = (lambda *a, **k: None) if args.quiet else (lambda msg: print(msg, flush=True))
    train_edges(args.data, out=args.output, name=args.name, checkpoint=args.checkpoint, resume=args.resume,
                command=command, log=log, **settings)
    return EXIT_OK


def _cmd_batch(args) -> int:
    from . import api
    from .batch.command import main as batch_main

    if args.face_box is not None and args.method in {m.name for m in api.methods("blind")}:
        _face_box_for(args.method, dict(args.param), args.face_box)  # as run: refuse a box the method ignores
    return batch_main(args)


_COMMANDS = {"run": _cmd_run, "batch": _cmd_batch, "methods": _cmd_methods, "blur": _cmd_blur, "synth": _cmd_synth,
             "eval": _cmd_eval, "kernels": _cmd_kernels, "exemplars": _cmd_exemplars}


def _one_line(exc) -> str:
    return " ".join(line.strip() for line in str(exc).splitlines() if line.strip())


def _quiet_stdout():
    """Point stdout at /dev/null, so that the interpreter's last flush of a closed pipe stays silent."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # no real stdout (tests, embedding)
        pass


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code.

    0 ok; 2 bad input or usage (one line on stderr); 1 unexpected error; 130
    interrupted; 141 (as for SIGPIPE) when the reader of stdout went away,
    e.g. ``classicdeblur kernels | head``, silently.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(_join_negative_values(sys.argv[1:] if argv is None else argv))
        if args.command is None:
            parser.print_help()
            return EXIT_USAGE
        if args.command == "exemplars":
            return _cmd_exemplars(args, argv)
        if args.command == "learn":
            return _cmd_learn(args, argv)
        return _COMMANDS[args.command](args)
    except SystemExit as exc:  # --help and --version
        return int(exc.code or 0)
    except _UsageError as exc:
        print(f"error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except (ClassicDeblurError, ValueError) as exc:
        print(f"error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        _quiet_stdout()
        return EXIT_BROKEN_PIPE
    except MemoryError:
        print("error: not enough memory for this input; use a smaller image or kernel, or a lower --max-pixels",
              file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted; no output written", file=sys.stderr)
        return 130
    except Exception as exc:  # never show a traceback to users
        if os.environ.get("CLASSICDEBLUR_DEBUG"):
            raise
        print(f"error: unexpected {type(exc).__name__}: {_one_line(exc)} (set CLASSICDEBLUR_DEBUG=1 for details)",
              file=sys.stderr)
        return EXIT_ERROR
