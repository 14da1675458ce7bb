"""NAFNet, the nonlinear-activation-free U-Net of Chen et al.

Chen, L., Chu, X., Zhang, X. and Sun, J., "Simple Baselines for Image Restoration",
ECCV 2022 (arXiv:2204.04676). Layout from the paper (Sec. 3, Fig. 3c) and the GoPro
configuration of the official code (megvii-research/NAFNet,
``options/test/GoPro/NAFNet-width{32,64}.yml``): ``enc_blk_nums=[1, 1, 1, 28]``,
``middle_blk_num=1``, ``dec_blk_nums=[1, 1, 1, 1]``, width 32 or 64. The official GoPro test
wraps the network in TLC (local average pooling at test time, ``NAFNetLocal``); this
module is the plain network, whose parameters are the same.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

#: Exact parameter counts of this module (GoPro configuration).
PARAMS = {32: 17_111_907, 64: 67_888_835}


class LayerNorm2d(nn.Module):
    """Layer norm over the channel axis of an NCHW tensor, with weight and bias."""

    def __init__(self, c, eps=1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(c))
        self.bias = nn.Parameter(torch.zeros(c))
        self.eps = eps

    def forward(self, x):
        mu = x.mean(1, keepdim=True)
        var = (x - mu).pow(2).mean(1, keepdim=True)
        y = (x - mu) / torch.sqrt(var + self.eps)
        return self.weight.view(1, -1, 1, 1) * y + self.bias.view(1, -1, 1, 1)


def _gate(x):
    a, b = x.chunk(2, dim=1)
    return a * b


class NAFBlock(nn.Module):
    """Block of Fig. 3c: LN, 1x1 (x2), 3x3 depthwise, SimpleGate, SCA, 1x1; LN, FFN with SimpleGate."""

    def __init__(self, c):
        super().__init__()
        d = 2 * c
        self.norm1, self.norm2 = LayerNorm2d(c), LayerNorm2d(c)
        self.conv1 = nn.Conv2d(c, d, 1)
        self.conv2 = nn.Conv2d(d, d, 3, padding=1, groups=d)
        self.sca = nn.Conv2d(d // 2, d // 2, 1)
        self.conv3 = nn.Conv2d(d // 2, c, 1)
        self.conv4 = nn.Conv2d(c, 2 * c, 1)
        self.conv5 = nn.Conv2d(c, c, 1)
        self.beta = nn.Parameter(torch.zeros(1, c, 1, 1))
        self.gamma = nn.Parameter(torch.zeros(1, c, 1, 1))

    def forward(self, inp):
        x = _gate(self.conv2(self.conv1(self.norm1(inp))))
        x = x * self.sca(F.adaptive_avg_pool2d(x, 1))
        y = inp + self.conv3(x) * self.beta
        x = self.conv5(_gate(self.conv4(self.norm2(y))))
        return y + x * self.gamma


class NAFNet(nn.Module):
    """NAFNet U-Net (GoPro configuration by default).

    Parameters
    ----------
    width : int
        Channels at full resolution (32 or 64 in the paper's GoPro models).
    enc_blocks, middle_blocks, dec_blocks
        Blocks per encoder level, in the middle and per decoder level.
    channels : int
        Image channels (3).
    """

    multiple = 16

    def __init__(self, width=32, enc_blocks=(1, 1, 1, 28), middle_blocks=1, dec_blocks=(1, 1, 1, 1), channels=3):
        super().__init__()
        self.intro = nn.Conv2d(channels, width, 3, padding=1)
        self.ending = nn.Conv2d(width, channels, 3, padding=1)
        self.encoders, self.downs = nn.ModuleList(), nn.ModuleList()
        self.decoders, self.ups = nn.ModuleList(), nn.ModuleList()
        c = width
        for n in enc_blocks:
            self.encoders.append(nn.Sequential(*[NAFBlock(c) for _ in range(n)]))
            self.downs.append(nn.Conv2d(c, 2 * c, 2, stride=2))
            c *= 2
        self.middle = nn.Sequential(*[NAFBlock(c) for _ in range(middle_blocks)])
        for n in dec_blocks:
            self.ups.append(nn.Sequential(nn.Conv2d(c, 2 * c, 1, bias=False), nn.PixelShuffle(2)))
            c //= 2
            self.decoders.append(nn.Sequential(*[NAFBlock(c) for _ in range(n)]))
        self.multiple = 2 ** len(enc_blocks)

    def forward(self, inp):
        h, w = inp.shape[-2:]
        m = self.multiple
        inp = F.pad(inp, (0, (-w) % m, 0, (-h) % m))
        x = self.intro(inp)
        skips = []
        for enc, down in zip(self.encoders, self.downs):
            x = enc(x)
            skips.append(x)
            x = down(x)
        x = self.middle(x)
        for dec, up, skip in zip(self.decoders, self.ups, skips[::-1]):
            x = dec(up(x) + skip)
        return (self.ending(x) + inp)[..., :h, :w]
