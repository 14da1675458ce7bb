"""MIMO-UNet+, the multi-input multi-output U-Net of Cho et al.

Cho, S.-J., Ji, S.-W., Hong, J.-P., Jung, S.-W. and Ko, S.-J., "Rethinking Coarse-to-Fine
Approach in Single Image Deblurring", ICCV 2021. Layout from the paper (Fig. 3: shallow
convolutional modules on 1/2 and 1/4 inputs, feature attention modules, asymmetric
feature fusion, three outputs) and the official code (chosj95/MIMO-UNet,
``models/MIMOUNet.py``): base 32 channels, 20 residual blocks per encoder / decoder block
for MIMO-UNet+ (8 for MIMO-UNet). Returns the full-resolution output only.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

#: Exact parameter counts of this module: MIMO-UNet+ (20 blocks) and MIMO-UNet (8).
PARAMS = {20: 16_107_651, 8: 6_807_171}


def basic(cin, cout, k, stride=1, relu=True, transpose=False):
    if transpose:
        layers = [nn.ConvTranspose2d(cin, cout, k, stride=stride, padding=k // 2 - 1)]
    else:
        layers = [nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2)]
    if relu:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class ResBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.body = nn.Sequential(basic(c, c, 3), basic(c, c, 3, relu=False))

    def forward(self, x):
        return self.body(x) + x


def res_blocks(c, n):
    return nn.Sequential(*[ResBlock(c) for _ in range(n)])


class AFF(nn.Module):
    """Asymmetric feature fusion of the three encoder scales."""

    def __init__(self, cin, cout):
        super().__init__()
        self.conv = nn.Sequential(basic(cin, cout, 1), basic(cout, cout, 3, relu=False))

    def forward(self, *xs):
        return self.conv(torch.cat(xs, 1))


class SCM(nn.Module):
    """Shallow convolutional module on a downscaled input."""

    def __init__(self, c, channels=3):
        super().__init__()
        self.main = nn.Sequential(basic(channels, c // 4, 3), basic(c // 4, c // 2, 1), basic(c // 2, c // 2, 3),
                                  basic(c // 2, c - channels, 1))
        self.conv = basic(c, c, 1, relu=False)

    def forward(self, x):
        return self.conv(torch.cat([x, self.main(x)], 1))


class FAM(nn.Module):
    """Feature attention module: x1 + conv(x1 * x2)."""

    def __init__(self, c):
        super().__init__()
        self.merge = basic(c, c, 3, relu=False)

    def forward(self, x1, x2):
        return x1 + self.merge(x1 * x2)


class MIMOUNet(nn.Module):
    """MIMO-UNet (``num_res=8``) or MIMO-UNet+ (``num_res=20``, the default).

    Parameters
    ----------
    num_res : int
        Residual blocks per encoder and decoder block.
    channels : int
        Image channels.
    """

    multiple = 4

    def __init__(self, num_res=20, channels=3):
        super().__init__()
        b = 32
        self.enc = nn.ModuleList([res_blocks(b, num_res), res_blocks(2 * b, num_res), res_blocks(4 * b, num_res)])
        self.feat = nn.ModuleList([basic(channels, b, 3), basic(b, 2 * b, 3, 2), basic(2 * b, 4 * b, 3, 2),
                                   basic(4 * b, 2 * b, 4, 2, transpose=True), basic(2 * b, b, 4, 2, transpose=True),
                                   basic(b, channels, 3, relu=False)])
        self.dec = nn.ModuleList([res_blocks(4 * b, num_res), res_blocks(2 * b, num_res), res_blocks(b, num_res)])
        self.convs = nn.ModuleList([basic(4 * b, 2 * b, 1), basic(2 * b, b, 1)])
        self.outs = nn.ModuleList([basic(4 * b, channels, 3, relu=False), basic(2 * b, channels, 3, relu=False)])
        self.aff = nn.ModuleList([AFF(7 * b, b), AFF(7 * b, 2 * b)])
        self.fam1, self.scm1 = FAM(4 * b), SCM(4 * b, channels)
        self.fam2, self.scm2 = FAM(2 * b), SCM(2 * b, channels)

    def forward(self, x):
        h, w = x.shape[-2:]
        x = F.pad(x, (0, (-w) % 4, 0, (-h) % 4), mode="reflect") if (h % 4 or w % 4) else x
        x2 = F.interpolate(x, scale_factor=0.5)
        x4 = F.interpolate(x2, scale_factor=0.5)
        z2, z4 = self.scm2(x2), self.scm1(x4)
        res1 = self.enc[0](self.feat[0](x))
        res2 = self.enc[1](self.fam2(self.feat[1](res1), z2))
        z = self.enc[2](self.fam1(self.feat[2](res2), z4))
        z12 = F.interpolate(res1, scale_factor=0.5)
        z21 = F.interpolate(res2, scale_factor=2)
        z42 = F.interpolate(z, scale_factor=2)
        z41 = F.interpolate(z42, scale_factor=2)
        res2, res1 = self.aff[1](z12, res2, z42), self.aff[0](res1, z21, z41)
        z = self.feat[3](self.dec[0](z))
        z = self.feat[4](self.dec[1](self.convs[0](torch.cat([z, res2], 1))))
        z = self.feat[5](self.dec[2](self.convs[1](torch.cat([z, res1], 1))))
        return (z + x)[..., :h, :w]
