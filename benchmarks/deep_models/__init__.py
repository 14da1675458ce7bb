"""Deep deblurring architectures, written from their papers and official code, for timing.

Plain PyTorch (no torchvision), random weights: these modules are for measuring time,
memory, parameters and multiply-accumulates of the architectures beside the classical
methods, not for deblurring. Each module cites its paper; :data:`MODELS` lists them with
the parameter count the paper or its official code reports, where one is reported.

Examples
--------
>>> sorted(MODELS)[:3]
['deblurgan-v2-mobilenet', 'deepdeblur', 'mimo-unet+']
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import import_module


@dataclass(frozen=True)
class ModelInfo:
    """One architecture: how to build it and what its sources report."""

    module: str
    factory: str
    kwargs: dict = field(default_factory=dict)
    channels: int = 3
    #: input range the network expects: ``"01"`` ([0, 1]) or ``"pm1"`` ([-1, 1])
    range: str = "01"
    params: int = 0
    reported_params: float | None = None
    params_source: str = ""
    reported_psnr: float | None = None
    psnr_source: str = ""
    paper: str = ""


MODELS = {
    "nafnet-32": ModelInfo(
        "nafnet", "NAFNet", {"width": 32}, params=17_111_907,
        params_source="no count in the paper or README (MACs only)",
        reported_psnr=32.87, psnr_source="GoPro; official README, NAFNet-GoPro-width32 (32.8705)",
        paper="Chen et al., ECCV 2022"),
    "nafnet-64": ModelInfo(
        "nafnet", "NAFNet", {"width": 64}, params=67_888_835,
        params_source="no count in the paper or README (MACs only)",
        reported_psnr=33.69, psnr_source="GoPro; paper abstract (official README: 33.7103)",
        paper="Chen et al., ECCV 2022"),
    "restormer": ModelInfo(
        "restormer", "Restormer", params=26_126_644, reported_params=26.13e6,
        params_source="Restormer paper (26.13M)",
        reported_psnr=32.92, psnr_source="GoPro; Restormer paper Table 2",
        paper="Zamir et al., CVPR 2022"),
    "mprnet": ModelInfo(
        "mprnet", "MPRNet", params=20_127_073, reported_params=20.1e6,
        params_source="MPRNet paper / Restormer paper comparison (20.1M)",
        reported_psnr=32.66, psnr_source="GoPro; MPRNet paper Table 2",
        paper="Zamir et al., CVPR 2021"),
    "mimo-unet+": ModelInfo(
        "mimo_unet", "MIMOUNet", {"num_res": 20}, params=16_107_651, reported_params=16.1e6,
        params_source="MIMO-UNet paper Table 1 (16.1M)",
        reported_psnr=32.45, psnr_source="GoPro; MIMO-UNet paper Table 1, official README",
        paper="Cho et al., ICCV 2021"),
    "deepdeblur": ModelInfo(
        "deepdeblur", "DeepDeblur", params=11_721_321, reported_params=11.7e6,
        params_source="MIMO-UNet paper Table 1 (11.7M)",
        reported_psnr=29.23, psnr_source="GoPro; as listed in MIMO-UNet paper Table 1",
        paper="Nah et al., CVPR 2017"),
    "srn": ModelInfo(
        "srn", "SRN", {"channels": 1, "lstm": True}, channels=1, params=8_056_609,
        params_source="6.8M in MIMO-UNet Table 1 is the colour model without LSTM (ours: 6,881,251)",
        reported_psnr=30.26, psnr_source="GoPro; SRN paper (official README: 30.19 with released weights)",
        paper="Tao et al., CVPR 2018"),
    "deblurgan-v2-mobilenet": ModelInfo(
        "deblurgan_v2", "FPNMobileNet", range="pm1", params=2_106_627,
        params_source="no count found in the paper; official module with unused backbone tail: 3,312,707",
        reported_psnr=28.17, psnr_source="GoPro; DeblurGAN-v2 paper Table 2 (MobileNet)",
        paper="Kupyn et al., ICCV 2019"),
    "umsn": ModelInfo(
        "umsn", "UMSN", range="pm1", params=14_380_725,
        params_source="no count in the paper; segmentation 6,192,328 + deblurring 8,188,397",
        reported_psnr=None, psnr_source="face test set of Shen et al. 2018; see UMSN paper Table I (not copied here)",
        paper="Yasarla et al., IEEE TIP 2020"),
}


def build(name: str):
    """The model ``name`` of :data:`MODELS`, in eval mode, with random weights."""
    info = MODELS[name]
    model = getattr(import_module(f"{__name__}.{info.module}"), info.factory)(**info.kwargs)
    return model.eval()


def count_params(model) -> int:
    """Number of parameters (trainable or not)."""
    return sum(p.numel() for p in model.parameters())


def count_macs(model, shape) -> int:
    """Multiply-accumulates of one forward pass at ``shape`` (N, C, H, W).

    Counted with forward hooks on ``Conv2d``, ``ConvTranspose2d`` and ``Linear``, as ptflops
    does; matrix products outside those layers (Restormer's channel attention) and
    element-wise work are not counted.
    """
    import torch
    from torch import nn

    total = [0]

    def conv(m, inp, out):
        k = m.kernel_size[0] * m.kernel_size[1] * (m.in_channels // m.groups)
        total[0] += out.numel() * k

    def tconv(m, inp, out):
        k = m.kernel_size[0] * m.kernel_size[1] * (m.out_channels // m.groups)
        total[0] += inp[0].numel() * k

    def linear(m, inp, out):
        total[0] += out.numel() * m.in_features

    hooks = []
    for m in model.modules():
        if isinstance(m, nn.ConvTranspose2d):
            hooks.append(m.register_forward_hook(tconv))
        elif isinstance(m, nn.Conv2d):
            hooks.append(m.register_forward_hook(conv))
        elif isinstance(m, nn.Linear):
            hooks.append(m.register_forward_hook(linear))
    try:
        with torch.no_grad():
            model(torch.zeros(shape))
    finally:
        for h in hooks:
            h.remove()
    return total[0]
