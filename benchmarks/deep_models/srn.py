"""SRN-DeblurNet, the scale-recurrent encoder-decoder of Tao et al.

Tao, X., Gao, H., Shen, X., Wang, J. and Jia, J., "Scale-Recurrent Network for Deep Image
Deblurring", CVPR 2018. Layout from the paper (Sec. 3, Fig. 3: three scales with ratio 0.5
sharing weights; encoder blocks of a convolution and three residual blocks, 32/64/128
channels, 5x5 kernels; a ConvLSTM at the bottleneck carried across scales; decoder blocks of
three residual blocks and a 4x4 transposed convolution) and the official TensorFlow code
(jiangsutx/SRN-Deblur, ``models/model.py``, ``util/BasicConvLSTMCell.py``): the paper's
model is ``--model lstm`` on gray images (1 channel in and out; colour images go channel by
channel), the later released ``--model color`` has 3 channels and no LSTM.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

#: Exact parameter counts of this module: the paper's gray LSTM model and the colour model without LSTM.
PARAMS = {"lstm-gray": 8_056_609, "color": 6_881_251}


def conv(cin, cout, k=5, stride=1):
    return nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2)


class ResBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.body = nn.Sequential(conv(c, c), nn.ReLU(inplace=True), conv(c, c))

    def forward(self, x):
        return self.body(x) + x


def rbs(c):
    return nn.Sequential(*[ResBlock(c) for _ in range(3)])


class ConvLSTM(nn.Module):
    """Convolutional LSTM cell: one 3x3 convolution of [input, h] to the four gates (forget bias 1)."""

    def __init__(self, c, k=3):
        super().__init__()
        self.c = c
        self.conv = nn.Conv2d(2 * c, 4 * c, k, padding=k // 2)

    def forward(self, x, state):
        h, c = state
        i, j, f, o = self.conv(torch.cat([x, h], 1)).chunk(4, 1)
        c = c * torch.sigmoid(f + 1.0) + torch.sigmoid(i) * torch.tanh(j)
        h = torch.tanh(c) * torch.sigmoid(o)
        return h, (h, c)


class SRN(nn.Module):
    """Scale-recurrent network; returns the finest scale.

    Parameters
    ----------
    channels : int
        Image channels (1: the paper's gray model; 3: the released colour model).
    lstm : bool
        ConvLSTM at the bottleneck (the paper's model).
    levels : int
        Scales (ratio 0.5).
    """

    multiple = 16

    def __init__(self, channels=1, lstm=True, levels=3):
        super().__init__()
        self.levels = levels
        self.enc1 = nn.Sequential(conv(2 * channels, 32), nn.ReLU(inplace=True), rbs(32))
        self.enc2 = nn.Sequential(conv(32, 64, stride=2), nn.ReLU(inplace=True), rbs(64))
        self.enc3 = nn.Sequential(conv(64, 128, stride=2), nn.ReLU(inplace=True), rbs(128))
        self.lstm = ConvLSTM(128) if lstm else None
        self.dec3 = nn.Sequential(rbs(128), nn.ConvTranspose2d(128, 64, 4, stride=2, padding=1), nn.ReLU(inplace=True))
        self.dec2 = nn.Sequential(rbs(64), nn.ConvTranspose2d(64, 32, 4, stride=2, padding=1), nn.ReLU(inplace=True))
        self.dec1 = nn.Sequential(rbs(32), conv(32, channels))

    def forward(self, x):
        h, w = x.shape[-2:]
        m = 4 * 2 ** (self.levels - 1)
        x = F.pad(x, (0, (-w) % m, 0, (-h) % m), mode="reflect") if (h % m or w % m) else x
        H, W = x.shape[-2:]
        pred, state = x, None
        for i in range(self.levels):
            s = 0.5 ** (self.levels - i - 1)
            size = (int(round(H * s)), int(round(W * s)))
            blur = F.interpolate(x, size=size, mode="bilinear", align_corners=False) if s < 1 else x
            pred = F.interpolate(pred, size=size, mode="bilinear", align_corners=False)
            e1 = self.enc1(torch.cat([blur, pred], 1))
            e2 = self.enc2(e1)
            z = self.enc3(e2)
            if self.lstm is not None:
                if state is None:
                    state = (torch.zeros_like(z), torch.zeros_like(z))
                else:
                    state = tuple(F.interpolate(t, size=z.shape[-2:], mode="bilinear", align_corners=False) for t in state)
                z, state = self.lstm(z, state)
            d2 = self.dec3(z) + e2
            d1 = self.dec2(d2) + e1
            pred = self.dec1(d1)
        return pred[..., :h, :w]
