"""Restormer, the channel-attention Transformer U-Net of Zamir et al.

Zamir, S. W., Arora, A., Khan, S., Hayat, M., Khan, F. S. and Yang, M.-H., "Restormer:
Efficient Transformer for High-Resolution Image Restoration", CVPR 2022. Layout from the
paper (Sec. 3: MDTA, GDFN, Fig. 2) and the official code's defaults used for motion
deblurring (swz30/Restormer, ``Motion_Deblurring/Options/Deblurring_Restormer.yml``):
dim 48, blocks [4, 6, 6, 8], 4 refinement blocks, heads [1, 2, 4, 8], FFN expansion 2.66,
no biases, layer norm with bias.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

#: Exact parameter count of this module (motion-deblurring configuration).
PARAMS = 26_126_644


class LayerNorm(nn.Module):
    """Per-pixel layer norm over channels (with bias), as the ``WithBias`` variant."""

    def __init__(self, c):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(c))
        self.bias = nn.Parameter(torch.zeros(c))

    def forward(self, x):
        mu = x.mean(1, keepdim=True)
        var = x.var(1, keepdim=True, unbiased=False)
        return (x - mu) / torch.sqrt(var + 1e-5) * self.weight.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)


class MDTA(nn.Module):
    """Multi-Dconv head transposed attention: attention across channels, per head."""

    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.temperature = nn.Parameter(torch.ones(heads, 1, 1))
        self.qkv = nn.Conv2d(dim, 3 * dim, 1, bias=False)
        self.qkv_dw = nn.Conv2d(3 * dim, 3 * dim, 3, padding=1, groups=3 * dim, bias=False)
        self.project_out = nn.Conv2d(dim, dim, 1, bias=False)

    def forward(self, x):
        b, c, h, w = x.shape
        q, k, v = (t.reshape(b, self.heads, c // self.heads, h * w) for t in self.qkv_dw(self.qkv(x)).chunk(3, 1))
        q, k = F.normalize(q, dim=-1), F.normalize(k, dim=-1)
        attn = (q @ k.transpose(-2, -1) * self.temperature).softmax(-1)
        return self.project_out((attn @ v).reshape(b, c, h, w))


class GDFN(nn.Module):
    """Gated-Dconv feed-forward network."""

    def __init__(self, dim, factor):
        super().__init__()
        hid = int(dim * factor)
        self.project_in = nn.Conv2d(dim, 2 * hid, 1, bias=False)
        self.dw = nn.Conv2d(2 * hid, 2 * hid, 3, padding=1, groups=2 * hid, bias=False)
        self.project_out = nn.Conv2d(hid, dim, 1, bias=False)

    def forward(self, x):
        a, b = self.dw(self.project_in(x)).chunk(2, 1)
        return self.project_out(F.gelu(a) * b)


class Block(nn.Module):
    def __init__(self, dim, heads, factor=2.66):
        super().__init__()
        self.norm1, self.norm2 = LayerNorm(dim), LayerNorm(dim)
        self.attn, self.ffn = MDTA(dim, heads), GDFN(dim, factor)

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.ffn(self.norm2(x))


def _blocks(n, dim, heads):
    return nn.Sequential(*[Block(dim, heads) for _ in range(n)])


class Restormer(nn.Module):
    """Restormer (motion-deblurring configuration).

    Parameters
    ----------
    dim : int
        Channels at full resolution.
    blocks, refinement, heads
        Transformer blocks per level, refinement blocks, attention heads per level.
    channels : int
        Image channels.
    """

    multiple = 8

    def __init__(self, dim=48, blocks=(4, 6, 6, 8), refinement=4, heads=(1, 2, 4, 8), channels=3):
        super().__init__()
        d1, d2, d3, d4 = dim, 2 * dim, 4 * dim, 8 * dim
        self.embed = nn.Conv2d(channels, d1, 3, padding=1, bias=False)
        self.enc1, self.enc2, self.enc3 = _blocks(blocks[0], d1, heads[0]), _blocks(blocks[1], d2, heads[1]), _blocks(blocks[2], d3, heads[2])
        self.down12 = nn.Sequential(nn.Conv2d(d1, d1 // 2, 3, padding=1, bias=False), nn.PixelUnshuffle(2))
        self.down23 = nn.Sequential(nn.Conv2d(d2, d2 // 2, 3, padding=1, bias=False), nn.PixelUnshuffle(2))
        self.down34 = nn.Sequential(nn.Conv2d(d3, d3 // 2, 3, padding=1, bias=False), nn.PixelUnshuffle(2))
        self.latent = _blocks(blocks[3], d4, heads[3])
        self.up43 = nn.Sequential(nn.Conv2d(d4, 2 * d4, 3, padding=1, bias=False), nn.PixelShuffle(2))
        self.reduce3 = nn.Conv2d(d4, d3, 1, bias=False)
        self.dec3 = _blocks(blocks[2], d3, heads[2])
        self.up32 = nn.Sequential(nn.Conv2d(d3, 2 * d3, 3, padding=1, bias=False), nn.PixelShuffle(2))
        self.reduce2 = nn.Conv2d(d3, d2, 1, bias=False)
        self.dec2 = _blocks(blocks[1], d2, heads[1])
        self.up21 = nn.Sequential(nn.Conv2d(d2, 2 * d2, 3, padding=1, bias=False), nn.PixelShuffle(2))
        self.dec1 = _blocks(blocks[0], d2, heads[0])
        self.refine = _blocks(refinement, d2, heads[0])
        self.output = nn.Conv2d(d2, channels, 3, padding=1, bias=False)

    def forward(self, inp):
        h, w = inp.shape[-2:]
        x0 = F.pad(inp, (0, (-w) % 8, 0, (-h) % 8), mode="reflect") if (h % 8 or w % 8) else inp
        e1 = self.enc1(self.embed(x0))
        e2 = self.enc2(self.down12(e1))
        e3 = self.enc3(self.down23(e2))
        x = self.latent(self.down34(e3))
        x = self.dec3(self.reduce3(torch.cat([self.up43(x), e3], 1)))
        x = self.dec2(self.reduce2(torch.cat([self.up32(x), e2], 1)))
        x = self.refine(self.dec1(torch.cat([self.up21(x), e1], 1)))
        return (self.output(x) + x0)[..., :h, :w]
