r"""Training of the edge network (``classicdeblur learn edges``), under the optional ``torch`` extra.

The network of :mod:`classicdeblur.learned.network` is built in torch with
the same parameter names, trained on synthetic blur of the training faces
(:mod:`classicdeblur.learned.data`), and exported to the models folder
(:func:`classicdeblur.learned.models.save_weights`) with its manifest entry,
the training history (JSON) and a loss curve (PNG).

Loss: with :math:`\hat x` the prediction and :math:`x` the sharp crop,
:math:`\|\nabla \hat x - \nabla x\|_1 + \alpha \|\hat x - x\|_1` (forward
differences; ``alpha`` = 0.1), both averaged away from a margin of
``margin`` pixels at the crop's borders, whose blur comes partly from
outside the crop. The gradients are what the kernel step uses; the
intensity term keeps the low frequencies in place.

Reproducible and resumable: one torch thread (``threads``), a seeded
sampler and ``torch.manual_seed``; a checkpoint (model, optimiser, sampler
state, step, history) every ``checkpoint_every`` steps, from which
``resume=True`` continues to the same weights as an uninterrupted run.
Adam with a cosine learning-rate decay from ``lr`` to ``lr / 100``.
"""

from __future__ import annotations

import json
import math
import platform
import time
from pathlib import Path

import numpy as np

from ..errors import ClassicDeblurError
from . import data as tdata
from .models import MANIFEST, arrays_sha256, models_dir, save_weights
from .network import DEFAULT_CONFIG, _check_config, count_parameters, parameter_names

__all__ = ["TORCH_VERSION", "torch_module", "build_torch_model", "torch_model_from_arrays", "export_arrays",
           "train_edges", "TrainConfig", "plot_history"]

#: The torch version the shipped weights were trained with (the ``torch`` extra pins it).
TORCH_VERSION = "2.13.0"


def torch_module():
    """``torch``, or a one-line error naming the extra."""
    try:
        import torch
    except ImportError:
        raise ClassicDeblurError('training needs torch: pip install -e ".[torch]" (torch==2.13.0, the CPU build '
                                 "from the local wheel)") from None
    return torch


def build_torch_model(config=DEFAULT_CONFIG):
    """The U-Net of :mod:`~classicdeblur.learned.network` as a torch module (same parameter names)."""
    torch = torch_module()
    nn, F = torch.nn, torch.nn.functional
    cfg = _check_config(config)
    ch, n = cfg["channels"], cfg["convs"]

    norm = bool(cfg.get("norm", False))
    step = 3 if norm else 2

    def block(cin, cout):
        layers = []
        for j in range(n):
            layers += [nn.Conv2d(cin if j == 0 else cout, cout, 3, padding=1)]
            if norm:
                layers += [nn.BatchNorm2d(cout)]
            layers += [nn.ReLU()]
        return nn.Sequential(*layers)

    class UNet(nn.Module):
        def __init__(self):
            super().__init__()
            for i, c in enumerate(ch):
                self.add_module(f"enc{i}", block(1 if i == 0 else ch[i - 1], c))
            for i in range(len(ch) - 2, -1, -1):
                self.add_module(f"dec{i}", block(ch[i + 1] + ch[i], ch[i]))
            self.out = nn.Conv2d(ch[0], 1, 3, padding=1)
            self.sigma_floor = cfg["sigma_floor"]

        def residual(self, u):
            skips = []
            x = u
            for i in range(len(ch)):
                if i:
                    x = F.avg_pool2d(x, 2)
                x = getattr(self, f"enc{i}")(x)
                skips.append(x)
            for i in range(len(ch) - 2, -1, -1):
                x = F.interpolate(x, scale_factor=2, mode="nearest")
                x = getattr(self, f"dec{i}")(torch.cat([x, skips[i]], 1))
            return self.out(x)

        def forward(self, y):
            """Predicted sharp crops of ``(B, 1, H, W)`` blurred crops (sides multiples of the pooling)."""
            mu = y.mean(dim=(2, 3), keepdim=True)
            sigma = y.std(dim=(2, 3), keepdim=True, unbiased=False).clamp_min(self.sigma_floor)
            return y + sigma * self.residual((y - mu) / sigma)

    model = UNet()
    model.config = cfg
    model.layer_step = step
    return model


def _convs(model):
    """``(name, conv, batchnorm or None)`` of every convolution, named as the NumPy network's parameters."""
    out = []
    for prefix, block in model.named_children():
        if prefix == "out":
            out.append(("out", block, None))
            continue
        members = list(block)
        for j in range(0, len(members), model.layer_step):
            bn = members[j + 1] if model.layer_step == 3 else None
            out.append((f"{prefix}.{j // model.layer_step}", members[j], bn))
    return out


def torch_model_from_arrays(arrays, config=DEFAULT_CONFIG):
    """A torch model (without batch normalisation) carrying exported arrays: the torch twin of an EdgeNet."""
    torch = torch_module()
    model = build_torch_model({**_check_config(config), "norm": False})
    with torch.no_grad():
        for name, conv, _ in _convs(model):
            conv.weight.copy_(torch.from_numpy(np.asarray(arrays[f"{name}.weight"], dtype=np.float32)))
            conv.bias.copy_(torch.from_numpy(np.asarray(arrays[f"{name}.bias"], dtype=np.float32)))
    return model.eval()


def export_arrays(model) -> dict:
    """The model's convolutions as float32 arrays named as :func:`~classicdeblur.learned.network.parameter_names`.

    Batch normalisation (its running statistics: the model in evaluation
    mode) is folded into the convolution before it, so the NumPy network
    needs none.
    """
    arrays = {}
    for name, conv, bn in _convs(model):
        w = conv.weight.detach().cpu().double().numpy()
        b = conv.bias.detach().cpu().double().numpy()
        if bn is not None:
            scale = (bn.weight.detach().double() / (bn.running_var.double() + bn.eps).sqrt()).numpy()
            w = w * scale[:, None, None, None]
            b = (b - bn.running_mean.double().numpy()) * scale + bn.bias.detach().double().numpy()
        arrays[f"{name}.weight"] = w.astype(np.float32)
        arrays[f"{name}.bias"] = b.astype(np.float32)
    return {n: arrays[n] for n in parameter_names(model.config)}


class TrainConfig(dict):
    """Training settings (a dict, stored in the checkpoint and the manifest)."""

    DEFAULTS = {"steps": 3600, "batch": 16, "crop": 96, "lr": 2e-3, "seed": 0, "kernels": 1000, "alpha": 0.1,
                "latent": 0.7, "lam": (3e-3, 3e-2),
                "margin": 6, "threads": 1, "validation_every": 100, "checkpoint_every": 100, "validation_pairs": 64,
                "config": DEFAULT_CONFIG}

    def __init__(self, **kw):
        bad = sorted(set(kw) - set(self.DEFAULTS))
        if bad:
            raise ClassicDeblurError(f"unknown training settings {bad}; valid: {', '.join(self.DEFAULTS)}")
        super().__init__({**self.DEFAULTS, **kw})
        self["config"] = _check_config(self["config"])
        for key in ("steps", "batch", "crop", "kernels", "threads", "validation_every", "checkpoint_every",
                    "validation_pairs"):
            if int(self[key]) < 1:
                raise ClassicDeblurError(f"{key} must be >= 1; got {self[key]}")
        m = 2 ** (len(self["config"]["channels"]) - 1)
        if self["crop"] % m or self["crop"] <= 2 * self["margin"]:
            raise ClassicDeblurError(f"crop must be a multiple of {m} and larger than twice the margin; "
                                     f"got {self['crop']}")


def _loss(torch, pred, sharp, alpha, margin):
    m = margin
    p, s = pred[..., m:-m or None, m:-m or None], sharp[..., m:-m or None, m:-m or None]
    gx = (p[..., :, 1:] - p[..., :, :-1]) - (s[..., :, 1:] - s[..., :, :-1])
    gy = (p[..., 1:, :] - p[..., :-1, :]) - (s[..., 1:, :] - s[..., :-1, :])
    return gx.abs().mean() + gy.abs().mean() + alpha * (p - s).abs().mean()


def _lr(cfg, step):
    return cfg["lr"] * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * min(step, cfg["steps"]) / cfg["steps"])))


def plot_history(history, path, title="edge network"):
    """Loss curve PNG: training loss (running mean over 50 steps) and validation loss against steps."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = np.array([h["step"] for h in history["train"]])
    loss = np.array([h["loss"] for h in history["train"]])
    fig, ax = plt.subplots(figsize=(6, 3.6))
    if loss.size:
        w = min(50, loss.size)
        smooth = np.convolve(loss, np.ones(w) / w, mode="valid")
        ax.plot(steps, loss, color="0.8", lw=0.5, label="training (per step)")
        ax.plot(steps[w - 1 :], smooth, color="C0", label=f"training (mean of {w})")
    if history["validation"]:
        ax.plot([h["step"] for h in history["validation"]], [h["loss"] for h in history["validation"]], "o-",
                color="C3", ms=3, label="validation (held-out identities)")
    ax.set_xlabel("step")
    ax.set_ylabel("gradient L1 + 0.1 intensity L1")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _save_checkpoint(torch, path, model, opt, sampler, step, history, cfg):
    tmp = Path(str(path) + ".tmp")
    torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "sampler": sampler.rng.bit_generator.state,
                "torch_rng": torch.get_rng_state(), "step": step, "history": history, "settings": dict(cfg)}, tmp)
    tmp.replace(path)


def train_edges(data=None, *, out=None, name="edges", checkpoint=None, resume=False, command=None, log=print,
                faces=None, stop_after=None, **settings):
    """Train the edge network and write it to the models folder.

    Parameters
    ----------
    data : str or Path
        The shared data folder (``faces/celeba``, ``faces/celebahq``).
    faces : (ndarray, ndarray), optional
        Instead of ``data``: prepared training and validation faces
        (``uint8 (n, S, S)``, :func:`~classicdeblur.learned.data.load_faces`),
        e.g. a small fixture for a test.
    out : str or Path, optional
        Models folder to write (default :func:`~classicdeblur.learned.models.models_dir`):
        ``<name>.npz``, ``<name>-loss.png``, ``<name>-history.json`` and the
        manifest entry.
    name : str
        Model name in the manifest.
    checkpoint : str or Path, optional
        Checkpoint file (default ``<out>/<name>.ckpt``; git ignores ``*.ckpt``).
    resume : bool
        Continue from ``checkpoint`` (its settings must equal these).
    command : str, optional
        The command line, stored in the manifest.
    log : callable
        Progress lines (``None``: silent).
    stop_after : int, optional
        Stop once this many steps are done, after writing a checkpoint, and
        return None (continue later with ``resume=True``).
    **settings
        :class:`TrainConfig` keys: ``steps``, ``batch``, ``crop``, ``lr``,
        ``seed``, ``kernels`` (pool size), ``alpha``, ``margin``, ``threads``,
        ``validation_every``, ``checkpoint_every``, ``validation_pairs``, ``config``.

    Returns
    -------
    dict or None
        The manifest entry written (None when stopped by ``stop_after``).
    """
    torch = torch_module()
    log = log or (lambda *a, **k: None)
    cfg = TrainConfig(**settings)
    torch.set_num_threads(int(cfg["threads"]))
    out = Path(out) if out is not None else models_dir()
    out.mkdir(parents=True, exist_ok=True)
    checkpoint = Path(checkpoint) if checkpoint is not None else out / f"{name}.ckpt"
    t_start = time.perf_counter()

    if faces is None:
        if data is None:
            raise ClassicDeblurError("give the shared data folder (data) or prepared faces")
        train_paths = tdata.face_paths(data, "train")
        val_paths = tdata.face_paths(data, "validation")
        log(f"faces: {len(train_paths)} training, {len(val_paths)} validation; preparing ...")
        faces, val_faces = tdata.load_faces(train_paths), tdata.load_faces(val_paths)
    else:
        faces, val_faces = (np.asarray(f) for f in faces)
    kernels = tdata.kernel_pool(cfg["kernels"], seed=cfg["seed"])
    val_kernels = tdata.kernel_pool(64, seed=cfg["seed"] + 1)
    sampler = tdata.Sampler(faces, kernels, crop=cfg["crop"], latent=cfg["latent"], lam=cfg["lam"], seed=cfg["seed"])
    vy, vx = tdata.Sampler(val_faces, val_kernels, crop=cfg["crop"], latent=cfg["latent"], lam=cfg["lam"],
                           seed=cfg["seed"] + 2).batch(cfg["validation_pairs"])
    vy, vx = torch.from_numpy(vy), torch.from_numpy(vx)
    log(f"data ready in {time.perf_counter() - t_start:.0f} s ({len(kernels)} kernels)")

    torch.manual_seed(cfg["seed"])
    model = build_torch_model(cfg["config"])
    opt = torch.optim.Adam(model.parameters(), lr=cfg["lr"])
    step, history = 0, {"train": [], "validation": [], "seconds": 0.0}
    if resume:
        if not checkpoint.is_file():
            raise ClassicDeblurError(f"--resume: no checkpoint {checkpoint}")
        ck = torch.load(checkpoint, weights_only=False)
        if ck["settings"] != dict(cfg):
            raise ClassicDeblurError(f"--resume: the checkpoint {checkpoint} was made with other settings "
                                     f"({ck['settings']}); use the same options or start afresh")
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        sampler.rng.bit_generator.state = ck["sampler"]
        torch.set_rng_state(ck["torch_rng"])
        step, history = ck["step"], ck["history"]
        log(f"resumed at step {step} from {checkpoint}")

    def validate():
        model.eval()
        with torch.no_grad():
            v = float(_loss(torch, model(vy), vx, cfg["alpha"], cfg["margin"]))
        model.train()
        return v

    t0 = time.perf_counter()
    seconds0 = history["seconds"]
    if step == 0:
        history["validation"].append({"step": 0, "loss": validate()})
    while step < cfg["steps"]:
        y, x = sampler.batch(cfg["batch"])
        for g in opt.param_groups:
            g["lr"] = _lr(cfg, step)
        loss = _loss(torch, model(torch.from_numpy(y)), torch.from_numpy(x), cfg["alpha"], cfg["margin"])
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
        history["train"].append({"step": step, "loss": float(loss.detach())})
        if step % cfg["validation_every"] == 0 or step == cfg["steps"]:
            history["validation"].append({"step": step, "loss": validate()})
            recent = np.mean([h["loss"] for h in history["train"][-cfg["validation_every"] :]])
            history["seconds"] = seconds0 + time.perf_counter() - t0
            log(f"step {step}/{cfg['steps']}: training {recent:.5f}, validation "
                f"{history['validation'][-1]['loss']:.5f} ({history['seconds']:.0f} s)")
        stop = stop_after is not None and step >= stop_after and step < cfg["steps"]
        if step % cfg["checkpoint_every"] == 0 or step == cfg["steps"] or stop:
            history["seconds"] = seconds0 + time.perf_counter() - t0
            _save_checkpoint(torch, checkpoint, model, opt, sampler, step, history, cfg)
        if stop:
            log(f"stopped at step {step}; continue with --resume")
            return None

    arrays = export_arrays(model)
    digest = save_weights(out / f"{name}.npz", arrays)
    (out / f"{name}-history.json").write_text(json.dumps(history) + "\n")
    plot_history(history, out / f"{name}-loss.png",
                 title=f"{name}: {count_parameters(cfg['config'])} parameters, {cfg['steps']} steps x {cfg['batch']} "
                       f"crops of {cfg['crop']} px, seed {cfg['seed']}")
    entry = {
        "file": f"{name}.npz",
        "sha256": digest,
        "bytes": (out / f"{name}.npz").stat().st_size,
        "arrays_sha256": arrays_sha256(arrays),
        "config": cfg["config"],
        "parameters": count_parameters(cfg["config"]),
        "description": "edge network: predicts the sharp face from the blurred one (classicdeblur.learned.network); "
                       "its gradients are the predicted sharp edges of the k-step (classicdeblur.blind.edges)",
        "training": {
            "command": command or "classicdeblur learn edges --data ../shared/data",
            "settings": {k: v for k, v in cfg.items() if k != "config"},
            "data": tdata.describe(),
            "faces": {"train": len(faces), "validation": len(val_faces)},
            "loss": "gradient L1 + alpha x intensity L1 (classicdeblur.learned.train)",
            "final_training_loss": float(np.mean([h["loss"] for h in history["train"][-100:]])),
            "final_validation_loss": history["validation"][-1]["loss"],
            "seconds": round(history["seconds"], 1),
            "torch": torch.__version__,
            "machine": f"{platform.machine()}, {platform.python_version()}, {cfg['threads']} torch thread(s)",
            "history": f"{name}-history.json",
            "loss_curve": f"{name}-loss.png",
        },
    }
    manifest_path = out / MANIFEST
    manifest = json.loads(manifest_path.read_text()) if manifest_path.is_file() else {
        "format": 1, "description": "classicdeblur learned models (weights trained here; see README.md)",
        "models": {}}
    manifest["models"][name] = entry
    tmp = manifest_path.with_name(MANIFEST + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=2) + "\n")
    tmp.replace(manifest_path)
    log(f"wrote {out / entry['file']} (sha256 {digest[:12]}...), {manifest_path}, "
        f"{out / entry['training']['loss_curve']}")
    return entry
