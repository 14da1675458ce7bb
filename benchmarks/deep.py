"""Deep deblurring architectures timed beside every registered classical blind method (issue 11).

The deep models of :mod:`benchmarks.deep_models` (NAFNet-32/64, Restormer, MPRNet,
MIMO-UNet+, DeepDeblur, SRN-DeblurNet, DeblurGAN-v2 MobileNet, UMSN for faces) are built
in plain PyTorch with **random weights**: the benchmark measures time, peak memory,
parameters and multiply-accumulates, not quality. They run on the same blurred gray faces
as the classical methods (``classicdeblur.api.deblur``, kernel size 27), replicated to 3
channels for the models that take RGB (SRN's paper model is gray).

Images: with ``--data``, the first 8 faces of ``faces-256`` (``benchmarks._data``), each
resized to the size (bicubic; 512 and 1024 px are upsampled 256 px faces) and blurred by
Levin kernel 4 (27x27) with ``classicdeblur.degrade.degrade`` and the pair's seed; without
``--data``, the shipped ``tests/data/astronaut_sharp.png`` blurred by a generated
Boracchi-Foi kernel, repeated to fill a batch.

Every (method, size, batch) cell runs in its own subprocess (``--cell``), one after
another. Timing: one warm-up, then ``--repeat`` timed runs (median); a warm-up longer than
10 s is taken as the only timing. A deep model's batch is one forward pass of all images
(``torch.inference_mode``, all CPU threads); a classical method deblurs the images of the
batch one after another (its warm-up is one image). Seconds per image are the batch time
over the batch size. Peak memory is the child process's resident-set high-water mark
(``VmHWM`` of ``/proc/self/status``; ``ru_maxrss`` would keep the parent's mark across
fork and exec), which includes the interpreter, the imported libraries and the weights;
``base MB`` in the CSV is the same mark just before the data reach the method.

A cell is skipped ("skipped: > budget") when a smaller size or batch of the same method,
scaled by pixel count, predicts more than ``--budget-s`` seconds; after an out-of-memory
(``MemoryError``, a CUDA/CPU allocation ``RuntimeError`` or the child killed) larger cells
are not tried. MACs are counted with forward hooks on ``Conv2d``, ``ConvTranspose2d`` and
``Linear`` (attention products not counted) at 64x64 and scaled by pixel count (layers on
1x1 pooled maps are not scaled), which is exact for these networks.

``--device gpu`` runs the deep models with CUDA (``torch.cuda.synchronize()`` before and
after each timed run, peak memory from ``torch.cuda.max_memory_allocated``) and the
classical methods with ``device="gpu"``; without a CUDA device it prints one line and
exits with status 2. No GPU was available where this was written: the GPU path has not
been run.

Usage::

    .venv/bin/pip install -e ".[torch,bench]"
    .venv/bin/python -m benchmarks.deep --data ../shared/data --markdown
    .venv/bin/python -m benchmarks.deep --sizes 128 256 --batches 1 --models nafnet-32 srn --classical xu2010

Default sizes are 128, 256 and 512 px (``--sizes 128 256 512 1024`` adds 1024: left out of the default for
the time it takes on a 2-core machine). Writes ``benchmarks/results/deep.csv`` and ``benchmarks/plots/deep-seconds.png``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
PLOTS = ROOT / "benchmarks" / "plots"
SIZES = (128, 256, 512)
BATCHES = (1, 8)
KERNEL_SIZE = 27
#: A warm-up longer than this is the only timed run.
LONG_S = 10.0

#: Classical methods' PSNR on faces-256 x 8 Levin kernels, from README.md (face table: 8
#: faces; krishnan2011 / shan2008 from the blind table: 10 faces). Not the deep models' test.
README_FACES_PSNR = {
    "anwar2018": (30.04, "README face methods table (8 faces x 8 Levin kernels)"),
    "xu2010": (29.96, "README face methods table"),
    "exemplar": (29.33, "README face methods table"),
    "cho2009": (29.30, "README face methods table"),
    "tian2015": (26.29, "README face methods table"),
    "shan2008": (27.74, "README blind methods table (10 faces x 8 Levin kernels)"),
    "krishnan2011": (23.91, "README blind methods table (10 faces x 8 Levin kernels)"),
}


# --------------------------------------------------------------------------- images


def make_images(data, n=max(BATCHES), sizes=SIZES):
    """``{size: float32 array (n, size, size)}`` of blurred gray faces in [0, 1], and a description."""
    import cv2

    from classicdeblur.degrade import degrade, pair_seed

    if data:
        from benchmarks._data import load_set
        from classicdeblur.psf.bank import load_kernel

        faces = load_set("faces-256", Path(data), limit=n)
        kname = "levin:4"
        kernel = load_kernel(kname)
        what = f"first {len(faces)} faces of faces-256, bicubic to each size, blurred by {kname} (27x27), sigma 0.01"
    else:
        from classicdeblur.io import read_image
        from classicdeblur.psf.generators import boracchi_foi

        img = read_image(ROOT / "tests" / "data" / "astronaut_sharp.png").image
        img = img.mean(axis=2) if img.ndim == 3 else img
        faces = [("astronaut", img)] * n
        kname = "shake:27"
        kernel = boracchi_foi(27, rng=0)
        what = "tests/data/astronaut_sharp.png repeated, blurred by a generated 27x27 shake kernel, sigma 0.01"
    out = {}
    for s in sizes:
        stack = []
        for i in range(n):
            name, face = faces[i % len(faces)]
            x = np.clip(cv2.resize(np.asarray(face, np.float64), (s, s), interpolation=cv2.INTER_CUBIC), 0, 1)
            stack.append(degrade(x, kernel, rng=pair_seed(f"{name}@{s}#{i}", kname)))
        out[s] = np.stack(stack).astype(np.float32)
    return out, what


# --------------------------------------------------------------------------- one cell (child process)


def _maxrss_mb():
    """This process's resident-set high-water mark in MB (``VmHWM``; ``ru_maxrss`` off Linux).

    ``ru_maxrss`` is not used on Linux: it keeps the parent's mark across fork and exec.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _is_oom(e):
    return isinstance(e, MemoryError) or (isinstance(e, RuntimeError) and (
        "out of memory" in str(e).lower() or "can't allocate" in str(e).lower()
        or "not enough memory" in str(e).lower()))


def run_cell(kind, method, size, batch, images_path, repeat, device, threads=None):
    """Time one (method, size, batch) in this process; return a dict (printed as JSON by ``--cell``)."""
    images = np.load(images_path)[:batch]
    gpu = device == "gpu"
    if kind == "deep":
        import torch

        from benchmarks.deep_models import MODELS, build

        torch.set_num_threads(threads or os.cpu_count() or 1)
        info = MODELS[method]
        dev = torch.device("cuda" if gpu else "cpu")
        model = build(method).to(dev)
        x = torch.from_numpy(images)[:, None]
        if info.channels == 3:
            x = x.expand(-1, 3, -1, -1).contiguous()
        if info.range == "pm1":
            x = x * 2 - 1
        base = _maxrss_mb()
        x = x.to(dev)

        def once():
            if gpu:
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            with torch.inference_mode():
                model(x)
            if gpu:
                torch.cuda.synchronize()
            return time.perf_counter() - t0

        warm = once
        timed = once
    else:
        from classicdeblur.api import deblur
        from classicdeblur.blind import registry

        dev = "gpu" if gpu else "cpu"
        base = _maxrss_mb()
        # the inputs are face crops: face methods are told so (as in benchmarks/faces.py), not left to the detector
        face = {"face_box": "whole"} if registry().meta(method).get("face") else {}

        def warm():
            t0 = time.perf_counter()
            deblur(images[0].astype(np.float64), method, kernel_size=KERNEL_SIZE, rng=0, device=dev, **face)
            return time.perf_counter() - t0

        def timed():
            t0 = time.perf_counter()
            for im in images:
                deblur(im.astype(np.float64), method, kernel_size=KERNEL_SIZE, rng=0, device=dev, **face)
            return time.perf_counter() - t0

    try:
        w = warm()
        if w > LONG_S and (kind == "deep" or batch == 1):
            times, note = [w], "no warm-up (first run > 10 s)"
        else:
            times, note = [timed() for _ in range(max(1, repeat))], ""
    except Exception as e:  # noqa: BLE001 - reported, the parent goes on
        if _is_oom(e):
            return {"status": "out of memory", "error": str(e)[:200]}
        raise
    peak = _maxrss_mb()
    out = {"status": "ok", "seconds": statistics.median(times), "runs": len(times), "note": note,
           "peak_mb": peak, "base_mb": base}
    if gpu and kind == "deep":
        import torch

        out["gpu_peak_mb"] = torch.cuda.max_memory_allocated() / 2**20
    return out


# --------------------------------------------------------------------------- parent


def model_facts():
    """``{name: (params, macs_at_64_scaling, macs_fixed)}`` of the deep models."""
    import torch
    from torch import nn

    from benchmarks.deep_models import MODELS, build, count_params

    facts = {}
    for name, info in MODELS.items():
        model = build(name)
        scaled, fixed = [0], [0]

        def hook(m, inp, out):
            if isinstance(m, nn.ConvTranspose2d):
                macs = inp[0].numel() * m.kernel_size[0] * m.kernel_size[1] * (m.out_channels // m.groups)
            elif isinstance(m, nn.Conv2d):
                macs = out.numel() * m.kernel_size[0] * m.kernel_size[1] * (m.in_channels // m.groups)
            else:
                macs = out.numel() * m.in_features
            (fixed if out.dim() == 4 and out.shape[-1] == 1 and out.shape[-2] == 1 else scaled)[0] += macs

        hooks = [m.register_forward_hook(hook) for m in model.modules()
                 if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear))]
        with torch.inference_mode():
            model(torch.zeros(1, info.channels, 64, 64))
        for h in hooks:
            h.remove()
        facts[name] = (count_params(model), scaled[0], fixed[0])
    return facts


def macs_at(fact, size):
    _, scaled, fixed = fact
    return scaled * (size / 64) ** 2 + fixed


def _child(kind, method, size, batch, images_path, args):
    cmd = [sys.executable, "-m", "benchmarks.deep", "--cell", kind, method, str(size), str(batch), str(images_path),
           "--repeat", str(args.repeat), "--device", args.device] + (["--threads", str(args.threads)] if args.threads else [])
    t0 = time.perf_counter()
    p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if p.returncode < 0 or p.returncode == 137:
        return {"status": "out of memory", "error": f"killed (signal {-p.returncode})", "wall": wall}
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("{")]
    if p.returncode != 0 or not lines:
        return {"status": "error", "error": (p.stderr.strip().splitlines() or ["?"])[-1][:200], "wall": wall}
    res = json.loads(lines[-1])
    res["wall"] = wall
    return res


def predicted(done, method, size, batch):
    """Seconds a cell should take, from the method's measured smaller cells (None: nothing to go on)."""
    best = None
    for (m, s, b), r in done.items():
        if m == method and s <= size and b <= batch and r.get("status") == "ok":
            p = r["seconds"] * (batch / b) * (size / s) ** 2
            best = p if best is None else max(best, p)
    return best


def blocked(done, method, size, batch):
    for (m, s, b), r in done.items():
        if m == method and s <= size and b <= batch and (s, b) != (size, batch):
            if r.get("status") == "out of memory":
                return "out of memory"
            if str(r.get("status", "")).startswith("skipped"):
                return r["status"]
    return None


def run(args):
    from benchmarks._data import machine
    from classicdeblur import blind

    deep_names = list(args.models)
    classical = list(args.classical) if args.classical is not None else list(blind.registry())
    t_start = time.perf_counter()
    load0 = os.getloadavg()[0]
    images, what = make_images(args.data, n=max(args.batches), sizes=args.sizes)
    facts = model_facts() if deep_names else {}
    methods = [("deep", m) for m in deep_names] + [("classical", m) for m in classical]
    done = {}
    with tempfile.TemporaryDirectory() as tmp:
        paths = {}
        for s, arr in images.items():
            paths[s] = Path(tmp) / f"{s}.npy"
            np.save(paths[s], arr)
        for kind, m in methods:
            for s in args.sizes:
                for b in args.batches:
                    why = blocked(done, m, s, b)
                    pred = predicted(done, m, s, b)
                    if why:
                        res = {"status": why}
                    elif pred is not None and pred > args.budget_s:
                        res = {"status": "skipped: > budget", "predicted": pred}
                    else:
                        res = _child(kind, m, s, b, paths[s], args)
                    res["kind"] = kind
                    done[(m, s, b)] = res
                    if args.progress:
                        shown = f"{res['seconds'] / b:.3f} s/img" if res.get("status") == "ok" else res["status"]
                        print(f"  {m:24s} {s:5d} x{b}: {shown}", file=sys.stderr, flush=True)
    elapsed = time.perf_counter() - t_start
    return {"done": done, "facts": facts, "methods": methods, "images": what, "elapsed": elapsed,
            "load": (load0, os.getloadavg()[0]),
            "machine": machine(), "args": args}


# --------------------------------------------------------------------------- output


def _table(head, rows, markdown):
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
        return "\n".join(lines)
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
    fmt = "  ".join(f"{{:{w}}}" for w in widths)
    return "\n".join([fmt.format(*head)] + [fmt.format(*map(str, r)) for r in rows])


def _cell_text(r, b):
    st = r.get("status")
    if st == "ok":
        s = r["seconds"] / b
        return f"{s:.3g} s ({1 / s:.3g}/s, {r['peak_mb']:.0f} MB)"
    return st


def time_table(result, markdown=False):
    args, done = result["args"], result["done"]
    head = ["method", "batch"] + [f"{s}x{s}" for s in args.sizes]
    rows = []
    for kind, m in result["methods"]:
        label = m if kind == "deep" else f"{m} (classical)"
        for b in args.batches:
            rows.append([label, b] + [_cell_text(done[(m, s, b)], b) for s in args.sizes])
    return _table(head, rows, markdown)


def params_table(result, markdown=False):
    from benchmarks.deep_models import MODELS

    head = ["model", "paper", "params (ours)", "params (reported)", "diff", "GMACs at 256x256 (ours)", "source of the reported count"]
    rows = []
    for kind, m in result["methods"]:
        if kind != "deep":
            continue
        info, fact = MODELS[m], result["facts"][m]
        rep = info.reported_params
        diff = f"{100 * (fact[0] - rep) / rep:+.2f}%" if rep else "-"
        rows.append([m, info.paper, f"{fact[0]:,}", f"{rep / 1e6:.2f}M" if rep else "-", diff,
                     f"{macs_at(fact, 256) / 1e9:.1f}", info.params_source])
    return _table(head, rows, markdown)


def psnr_table(result, markdown=False):
    from benchmarks.deep_models import MODELS

    head = ["method", "PSNR (dB)", "test", "source"]
    rows = []
    for kind, m in result["methods"]:
        if kind == "deep":
            info = MODELS[m]
            test, _, src = info.psnr_source.partition("; ")
            rows.append([m, f"{info.reported_psnr:.2f}" if info.reported_psnr else "-", test + " (published, trained weights)", src])
        elif m in README_FACES_PSNR:
            v, src = README_FACES_PSNR[m]
            rows.append([f"{m} (classical)", f"{v:.2f}", "faces-256 x Levin kernels, gray (ours)", src])
        else:
            rows.append([f"{m} (classical)", "-", "faces-256 (ours)", "no row in README"])
    return _table(head, rows, markdown)


def write_csv(result, path):
    done, facts = result["done"], result["facts"]
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["method", "kind", "size", "batch", "status", "s_per_image", "images_per_s", "peak_mb", "base_mb",
                    "runs", "note", "params", "gmacs_per_image"])
        for (m, s, b), r in done.items():
            ok = r.get("status") == "ok"
            spi = r["seconds"] / b if ok else ""
            fact = facts.get(m)
            w.writerow([m, r["kind"], s, b, r.get("status"), f"{spi:.6g}" if ok else "", f"{1 / spi:.6g}" if ok else "",
                        f"{r['peak_mb']:.1f}" if ok else "", f"{r['base_mb']:.1f}" if ok else "", r.get("runs", ""),
                        r.get("note", "") or r.get("error", ""), fact[0] if fact else "",
                        f"{macs_at(fact, s) / 1e9:.3f}" if fact else ""])


def plot(result, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    done, args = result["done"], result["args"]
    fig, ax = plt.subplots(figsize=(8, 5.5))
    for kind, m in result["methods"]:
        for b in args.batches:
            pts = [(s * s, done[(m, s, b)]["seconds"] / b) for s in args.sizes if done[(m, s, b)].get("status") == "ok"]
            if not pts:
                continue
            style = ("-" if kind == "deep" else "--") if b == min(args.batches) else ":"
            line = ax.plot(*zip(*pts), style, marker="o" if kind == "deep" else "s", ms=4,
                           label=f"{m}" + ("" if b == min(args.batches) else f" (batch {b})"))
            if b != min(args.batches):
                line[0].set_alpha(0.6)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("pixels per image")
    ax.set_ylabel("seconds per image")
    ax.set_title(f"Deep (solid, random weights) vs classical (dashed) deblurring, {args.device.upper()}\n{result['machine']}",
                 fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=6, ncol=2)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None):
    from benchmarks.deep_models import MODELS

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, help="shared data folder (faces-256); default: the shipped astronaut")
    ap.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    ap.add_argument("--batches", type=int, nargs="+", default=list(BATCHES))
    ap.add_argument("--models", nargs="*", default=list(MODELS), choices=list(MODELS), metavar="MODEL",
                    help=f"deep models (default all: {', '.join(MODELS)})")
    ap.add_argument("--classical", nargs="*", default=None, metavar="METHOD",
                    help="classical blind methods (default: every registered one)")
    ap.add_argument("--repeat", type=int, default=1, help="timed runs after the warm-up (median)")
    ap.add_argument("--budget-s", type=float, default=15.0,
                    help="skip a cell predicted (from smaller ones, by pixels) to take longer than this")
    ap.add_argument("--device", choices=("cpu", "gpu"), default="cpu")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: all CPU threads)")
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--out", type=Path, default=RESULTS / "deep.csv")
    ap.add_argument("--plot", type=Path, default=PLOTS / "deep-seconds.png")
    ap.add_argument("--quiet", dest="progress", action="store_false")
    ap.add_argument("--cell", nargs=5, metavar=("KIND", "METHOD", "SIZE", "BATCH", "IMAGES"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    args.sizes, args.batches = sorted(set(args.sizes)), sorted(set(args.batches))

    if args.device == "gpu":
        try:
            import torch

            has_torch_gpu = torch.cuda.is_available()
        except ImportError:
            has_torch_gpu = False
        from classicdeblur.backend import cupy_available

        if not (has_torch_gpu and cupy_available()):
            print("benchmarks.deep: --device gpu needs a CUDA device for torch and CuPy; none found", file=sys.stderr)
            return 2
    if args.cell:
        kind, method, size, batch, images = args.cell
        print(json.dumps(run_cell(kind, method, int(size), int(batch), images, args.repeat, args.device, args.threads)))
        return 0

    result = run(args)
    write_csv(result, args.out)
    plot(result, args.plot)
    md = args.markdown
    print(f"Machine: {result['machine']}; torch threads: {args.threads or os.cpu_count()}; device: {args.device}; "
          f"1-min load average {result['load'][0]:.1f} at the start, {result['load'][1]:.1f} at the end")
    print(f"Images: {result['images']}")
    print("Weights are random: time, memory, parameters and MACs only, not quality.\n")
    print("Seconds per image (images per second, peak resident MB of the cell's process):\n")
    print(time_table(result, md))
    if result["facts"]:
        print("\nParameters, ours against the reported count:\n")
        print(params_table(result, md))
    print("\nPublished PSNR of the deep models on their own benchmarks (trained weights) and the classical "
          "methods' PSNR here: NOT the same test, not comparable.\n")
    print(psnr_table(result, md))
    print(f"\nTotal {result['elapsed'] / 60:.1f} min; CSV {args.out}; plot {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
