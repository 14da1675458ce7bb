"""DeepDeblur, the multi-scale residual network of Nah et al.

Nah, S., Kim, T. H. and Lee, K. M., "Deep Multi-scale Convolutional Neural Network for
Dynamic Scene Deblurring", CVPR 2017. Layout from the paper (Sec. 3, Fig. 3: three scales,
each a 5x5 convolution, 19 residual blocks of 64 channels without batch norm and a 5x5
convolution to the image; the coarser output is up-convolved and concatenated with the
finer input) and the official PyTorch code (SeungjunNah/DeepDeblur-PyTorch,
``src/model/MSResNet.py``: up-convolution as a 5x5 convolution to 12 channels and pixel
shuffle). The Gaussian input pyramid that the official data loader builds is made here by
2x2 average pooling.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

#: Exact parameter count of this module (3 scales, 19 blocks, 64 features, 5x5).
PARAMS = 11_721_321


def conv(cin, cout, k=5):
    return nn.Conv2d(cin, cout, k, padding=k // 2)


class ResBlock(nn.Module):
    def __init__(self, c, k):
        super().__init__()
        self.body = nn.Sequential(conv(c, c, k), nn.ReLU(inplace=True), conv(c, c, k))

    def forward(self, x):
        return self.body(x) + x


class DeepDeblur(nn.Module):
    """Multi-scale ResNet; returns the finest scale.

    Parameters
    ----------
    scales, blocks, features, kernel
        Pyramid levels, residual blocks per level, channels, convolution size.
    channels : int
        Image channels.
    """

    def __init__(self, scales=3, blocks=19, features=64, kernel=5, channels=3):
        super().__init__()
        self.scales = scales
        self.multiple = 2 ** (scales - 1)

        def body(cin):
            return nn.Sequential(conv(cin, features, kernel), *[ResBlock(features, kernel) for _ in range(blocks)],
                                 conv(features, channels, kernel))

        # index 0: finest; the coarsest level sees the blurred image only
        self.bodies = nn.ModuleList([body(2 * channels) for _ in range(scales - 1)] + [body(channels)])
        self.upconvs = nn.ModuleList(nn.Sequential(conv(channels, 4 * channels, 5), nn.PixelShuffle(2))
                                     for _ in range(scales - 1))

    def forward(self, x):
        h, w = x.shape[-2:]
        m = self.multiple
        x = F.pad(x, (0, (-w) % m, 0, (-h) % m), mode="reflect") if (h % m or w % m) else x
        pyramid = [x - 0.5]
        for _ in range(self.scales - 1):
            pyramid.append(F.avg_pool2d(pyramid[-1], 2))
        inp = pyramid[-1]
        for s in range(self.scales - 1, -1, -1):
            out = self.bodies[s](inp)
            if s:
                inp = torch.cat([pyramid[s - 1], self.upconvs[s - 1](out)], 1)
        return (out + 0.5)[..., :h, :w]
