"""MPRNet, the multi-stage progressive restoration network of Zamir et al.

Zamir, S. W., Arora, A., Khan, S., Hayat, M., Khan, F. S., Yang, M.-H. and Shao, L.,
"Multi-Stage Progressive Image Restoration", CVPR 2021. Layout from the paper (Fig. 2:
stage 1 on four quarter patches, stage 2 on two half patches, stage 3 an original-resolution
subnetwork; channel attention blocks, supervised attention modules, cross-stage feature
fusion) and the deblurring configuration of the official code (swz30/MPRNet,
``Deblurring/MPRNet.py``): 96 features, U-Net growth 48, ORSNet growth 32, 8 CABs per
ORB, reduction 4, no biases, one PReLU shared by every block.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

#: Exact parameter count of this module (deblurring configuration).
PARAMS = 20_127_073


def conv(cin, cout, k=3, bias=False):
    return nn.Conv2d(cin, cout, k, padding=k // 2, bias=bias)


class CAB(nn.Module):
    """Channel attention block: conv, act, conv, squeeze-excitation, residual."""

    def __init__(self, c, act, reduction=4):
        super().__init__()
        self.body = nn.Sequential(conv(c, c), act, conv(c, c))
        self.ca = nn.Sequential(nn.Conv2d(c, c // reduction, 1, bias=False), nn.ReLU(inplace=True),
                                nn.Conv2d(c // reduction, c, 1, bias=False), nn.Sigmoid())

    def forward(self, x):
        r = self.body(x)
        return r * self.ca(F.adaptive_avg_pool2d(r, 1)) + x


class SAM(nn.Module):
    """Supervised attention module: stage image plus attention-weighted features."""

    def __init__(self, c, channels):
        super().__init__()
        self.conv1, self.conv2, self.conv3 = conv(c, c, 1), conv(c, channels, 1), conv(channels, c, 1)

    def forward(self, x, img):
        out = self.conv2(x) + img
        return self.conv1(x) * torch.sigmoid(self.conv3(out)) + x, out


class Down(nn.Sequential):
    def __init__(self, c, s):
        super().__init__(nn.Upsample(scale_factor=0.5, mode="bilinear", align_corners=False), nn.Conv2d(c, c + s, 1, bias=False))


class Up(nn.Sequential):
    def __init__(self, c, s):
        super().__init__(nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False), nn.Conv2d(c + s, c, 1, bias=False))


class Encoder(nn.Module):
    def __init__(self, n, s, act, csff):
        super().__init__()
        cs = (n, n + s, n + 2 * s)
        self.levels = nn.ModuleList(nn.Sequential(CAB(c, act), CAB(c, act)) for c in cs)
        self.downs = nn.ModuleList([Down(cs[0], s), Down(cs[1], s)])
        if csff:
            self.csff_enc = nn.ModuleList(nn.Conv2d(c, c, 1, bias=False) for c in cs)
            self.csff_dec = nn.ModuleList(nn.Conv2d(c, c, 1, bias=False) for c in cs)

    def forward(self, x, enc=None, dec=None):
        outs = []
        for i, level in enumerate(self.levels):
            if i:
                x = self.downs[i - 1](x)
            x = level(x)
            if enc is not None:
                x = x + self.csff_enc[i](enc[i]) + self.csff_dec[i](dec[i])
            outs.append(x)
        return outs


class Decoder(nn.Module):
    def __init__(self, n, s, act):
        super().__init__()
        cs = (n, n + s, n + 2 * s)
        self.levels = nn.ModuleList(nn.Sequential(CAB(c, act), CAB(c, act)) for c in cs)
        self.skip1, self.skip2 = CAB(cs[0], act), CAB(cs[1], act)
        self.up21, self.up32 = Up(cs[0], s), Up(cs[1], s)

    def forward(self, outs):
        e1, e2, e3 = outs
        d3 = self.levels[2](e3)
        d2 = self.levels[1](self.up32(d3) + self.skip2(e2))
        d1 = self.levels[0](self.up21(d2) + self.skip1(e1))
        return [d1, d2, d3]


class ORB(nn.Module):
    def __init__(self, c, act, num_cab):
        super().__init__()
        self.body = nn.Sequential(*[CAB(c, act) for _ in range(num_cab)], conv(c, c))

    def forward(self, x):
        return self.body(x) + x


class ORSNet(nn.Module):
    """Original-resolution subnetwork of stage 3, fed by stage 2's encoder and decoder."""

    def __init__(self, n, o, s, act, num_cab):
        super().__init__()
        self.orbs = nn.ModuleList(ORB(n + o, act, num_cab) for _ in range(3))
        self.up_enc1, self.up_dec1 = Up(n, s), Up(n, s)
        self.up_enc2 = nn.Sequential(Up(n + s, s), Up(n, s))
        self.up_dec2 = nn.Sequential(Up(n + s, s), Up(n, s))
        self.conv_enc = nn.ModuleList(nn.Conv2d(n, n + o, 1, bias=False) for _ in range(3))
        self.conv_dec = nn.ModuleList(nn.Conv2d(n, n + o, 1, bias=False) for _ in range(3))

    def forward(self, x, enc, dec):
        x = self.orbs[0](x) + self.conv_enc[0](enc[0]) + self.conv_dec[0](dec[0])
        x = self.orbs[1](x) + self.conv_enc[1](self.up_enc1(enc[1])) + self.conv_dec[1](self.up_dec1(dec[1]))
        return self.orbs[2](x) + self.conv_enc[2](self.up_enc2(enc[2])) + self.conv_dec[2](self.up_dec2(dec[2]))


class MPRNet(nn.Module):
    """MPRNet (deblurring configuration); returns the stage-3 image only.

    Parameters
    ----------
    n_feat, s_unet, s_ors, num_cab
        Features, U-Net growth per level, ORSNet growth, CABs per ORB.
    channels : int
        Image channels.
    """

    multiple = 8

    def __init__(self, n_feat=96, s_unet=48, s_ors=32, num_cab=8, channels=3):
        super().__init__()
        n, act = n_feat, nn.PReLU()
        self.shallow = nn.ModuleList(nn.Sequential(conv(channels, n), CAB(n, act)) for _ in range(3))
        self.enc1, self.dec1 = Encoder(n, s_unet, act, csff=False), Decoder(n, s_unet, act)
        self.enc2, self.dec2 = Encoder(n, s_unet, act, csff=True), Decoder(n, s_unet, act)
        self.ors = ORSNet(n, s_ors, s_unet, act, num_cab)
        self.sam12, self.sam23 = SAM(n, channels), SAM(n, channels)
        self.concat12, self.concat23 = conv(2 * n, n), conv(2 * n, n + s_ors)
        self.tail = conv(n + s_ors, channels)

    def forward(self, x3):
        h, w = x3.shape[-2:]
        x3 = F.pad(x3, (0, (-w) % 8, 0, (-h) % 8), mode="reflect") if (h % 8 or w % 8) else x3
        H, W = x3.shape[-2:]
        top, bot = x3[..., : H // 2, :], x3[..., H // 2 :, :]
        quads = [top[..., : W // 2], top[..., W // 2 :], bot[..., : W // 2], bot[..., W // 2 :]]
        f = [self.enc1(self.shallow[0](q)) for q in quads]
        f_top = [torch.cat(kv, 3) for kv in zip(f[0], f[1])]
        f_bot = [torch.cat(kv, 3) for kv in zip(f[2], f[3])]
        r_top, r_bot = self.dec1(f_top), self.dec1(f_bot)
        s_top, _ = self.sam12(r_top[0], top)
        s_bot, _ = self.sam12(r_bot[0], bot)
        x2_top = self.concat12(torch.cat([self.shallow[1](top), s_top], 1))
        x2_bot = self.concat12(torch.cat([self.shallow[1](bot), s_bot], 1))
        f2 = [torch.cat(kv, 2) for kv in zip(self.enc2(x2_top, f_top, r_top), self.enc2(x2_bot, f_bot, r_bot))]
        r2 = self.dec2(f2)
        s3, _ = self.sam23(r2[0], x3)
        x = self.ors(self.concat23(torch.cat([self.shallow[2](x3), s3], 1)), f2, r2)
        return (self.tail(x) + x3)[..., :h, :w]
