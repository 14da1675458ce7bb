"""DeblurGAN-v2 generator with the MobileNet-v2 feature pyramid, of Kupyn et al.

Kupyn, O., Martyniuk, T., Wu, J. and Wang, Z., "DeblurGAN-v2: Deblurring
(Orders-of-Magnitude) Faster and Better", ICCV 2019. Layout from the paper (Sec. 3.1, Fig. 2:
FPN on a backbone, five feature maps, heads upsampled to 1/4 and concatenated, two
upsample-and-smooth steps, tanh residual added to the input) and the official code
(VITA-Group/DeblurGANv2, ``models/fpn_mobilenet.py``, ``models/mobilenet_v2.py``):
MobileNet-v2 (width 1.0) encoder cut after its 16th block, FPN with 128 filters, heads
with 64, instance norm without affine parameters. The official module also stores the
unused last MobileNet-v2 layers (blocks 16-17 and the 1x1 convolution to 1280 channels);
``include_unused=True`` keeps them so that the count matches the official state dict.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

#: Exact parameter counts of this module: layers that run, and with the unused backbone tail.
PARAMS = {"used": 2_106_627, "official": 3_312_707}


def conv_bn(cin, cout, k, stride=1, groups=1, act=True):
    layers = [nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout)]
    if act:
        layers.append(nn.ReLU6(inplace=True))
    return layers


class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, stride, t):
        super().__init__()
        hid = round(cin * t)
        layers = [] if t == 1 else conv_bn(cin, hid, 1)
        layers += conv_bn(hid, hid, 3, stride, groups=hid) + conv_bn(hid, cout, 1, act=False)
        self.conv = nn.Sequential(*layers)
        self.res = stride == 1 and cin == cout

    def forward(self, x):
        return x + self.conv(x) if self.res else self.conv(x)


def mobilenet_v2_features():
    feats = [nn.Sequential(*conv_bn(3, 32, 3, 2))]
    cin = 32
    for t, c, n, s in [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]:
        for i in range(n):
            feats.append(InvertedResidual(cin, c, s if i == 0 else 1, t))
            cin = c
    feats.append(nn.Sequential(*conv_bn(cin, 1280, 1)))
    return feats


def _norm(c):
    return nn.InstanceNorm2d(c, affine=False, track_running_stats=True)


def _td(c):
    return nn.Sequential(nn.Conv2d(c, c, 3, padding=1), _norm(c), nn.ReLU(inplace=True))


class Head(nn.Sequential):
    def __init__(self, cin, cmid, cout):
        super().__init__(nn.Conv2d(cin, cmid, 3, padding=1, bias=False), nn.ReLU(inplace=True),
                         nn.Conv2d(cmid, cout, 3, padding=1, bias=False), nn.ReLU(inplace=True))


class FPNMobileNet(nn.Module):
    """DeblurGAN-v2 generator, MobileNet-v2 backbone. Input and output in [-1, 1].

    Parameters
    ----------
    filters, filters_fpn : int
        Head and pyramid channels.
    include_unused : bool
        Keep the backbone's unused last layers (parameter count of the official module).
    """

    multiple = 32

    def __init__(self, filters=64, filters_fpn=128, include_unused=False, channels=3):
        super().__init__()
        f = mobilenet_v2_features()
        self.enc0, self.enc1, self.enc2 = nn.Sequential(*f[0:2]), nn.Sequential(*f[2:4]), nn.Sequential(*f[4:7])
        self.enc3, self.enc4 = nn.Sequential(*f[7:11]), nn.Sequential(*f[11:16])
        self.unused = nn.Sequential(*f[16:]) if include_unused else None
        n = filters_fpn
        self.td1, self.td2, self.td3 = _td(n), _td(n), _td(n)
        self.lateral4, self.lateral3 = nn.Conv2d(160, n, 1, bias=False), nn.Conv2d(64, n, 1, bias=False)
        self.lateral2, self.lateral1 = nn.Conv2d(32, n, 1, bias=False), nn.Conv2d(24, n, 1, bias=False)
        self.lateral0 = nn.Conv2d(16, n // 2, 1, bias=False)
        self.heads = nn.ModuleList(Head(n, filters, filters) for _ in range(4))
        self.smooth = nn.Sequential(nn.Conv2d(4 * filters, filters, 3, padding=1), _norm(filters), nn.ReLU())
        self.smooth2 = nn.Sequential(nn.Conv2d(filters, filters // 2, 3, padding=1), _norm(filters // 2), nn.ReLU())
        self.final = nn.Conv2d(filters // 2, channels, 3, padding=1)

    def forward(self, x):
        h, w = x.shape[-2:]
        x = F.pad(x, (0, (-w) % 32, 0, (-h) % 32), mode="reflect") if (h % 32 or w % 32) else x
        e0 = self.enc0(x)
        e1 = self.enc1(e0)
        e2 = self.enc2(e1)
        e3 = self.enc3(e2)
        e4 = self.enc4(e3)
        up = lambda t, s: F.interpolate(t, scale_factor=s, mode="nearest")  # noqa: E731
        m4 = self.lateral4(e4)
        m3 = self.td1(self.lateral3(e3) + up(m4, 2))
        m2 = self.td2(self.lateral2(e2) + up(m3, 2))
        m1 = self.td3(self.lateral1(e1) + up(m2, 2))
        maps = [up(self.heads[3](m4), 8), up(self.heads[2](m3), 4), up(self.heads[1](m2), 2), self.heads[0](m1)]
        s = up(self.smooth(torch.cat(maps, 1)), 2)
        s = up(self.smooth2(s + self.lateral0(e0)), 2)
        return torch.clamp(torch.tanh(self.final(s)) + x, -1, 1)[..., :h, :w]
