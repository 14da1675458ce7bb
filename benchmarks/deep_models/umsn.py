"""UMSN, the uncertainty-guided multi-stream semantic face deblurring network of Yasarla et al.

Yasarla, R., Perazzi, F. and Patel, V. M., "Deblurring Face Images Using Uncertainty Guided
Multi-Stream Semantic Networks", IEEE Transactions on Image Processing 29, 6251-6263, 2020
(arXiv:1907.13106). Layout from the paper (Sec. III, Fig. 3: a segmentation network gives
four semantic class maps of the face; one base network per class deblurs the face with its
class map; their features join a global network that also takes the half-size image) and
the official code (rajeevyasarla/UMSN-Face-Deblurring, ``models/face_fed.py``:
``Segmentation``, ``Deblur_first``, ``Deblur_segdl``). Densely connected bottleneck blocks
with instance norm (batch norm in the segmentation network's dilated blocks), transition
blocks that pool or upsample. The confidence branch (``scale_kernel_conf``) compares the
result with the ground truth and only serves the training loss: it is built (so the count
matches the official module) but not run.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

#: Exact parameter counts of this module: segmentation net, deblurring net (with the
#: training-only confidence branch) and their sum.
PARAMS = {"segmentation": 6_192_328, "deblur": 8_188_397, "total": 14_380_725}

_lrelu = nn.LeakyReLU(0.2)


class ShareSepConv(nn.Module):
    """One 3x3 kernel shared by every channel (depthwise), starting as identity."""

    def __init__(self, k=3):
        super().__init__()
        w = torch.zeros(1, 1, k, k)
        w[0, 0, k // 2, k // 2] = 1
        self.weight = nn.Parameter(w)

    def forward(self, x):
        c = x.shape[1]
        return F.conv2d(x, self.weight.expand(c, 1, *self.weight.shape[-2:]).contiguous(), None, 1, 1, 1, c)


def _in(c):
    return nn.InstanceNorm2d(c)


class Bottleneck(nn.Module):
    """Bottleneck of the official code; concatenates its input unless ``concat=False``.

    ``kind`` picks the variant: ``rs`` (3x3, 3x3, 3x3), ``rs1`` (3x3, dilated 3x3, 3x3),
    ``dl`` (3x3, dilated, shared-kernel + dilated), ``dls`` (batch norm; dilated,
    shared-kernel + dilated; 4x width), ``plain`` (3x3, 3x3; no concatenation) and ``cf``
    (3x3, 3x3, no shortcut, no concatenation).
    """

    def __init__(self, cin, cout, kind):
        super().__init__()
        self.kind = kind
        mid = cout * (4 if kind == "dls" else 3)
        norm = nn.BatchNorm2d if kind == "dls" else _in
        self.bn1, self.conv1 = norm(cin), nn.Conv2d(cin, mid, 1, bias=False)
        self.bn2 = norm(mid)
        dil2 = 2 if kind == "dls" else 1
        self.conv2 = nn.Conv2d(mid, mid, 3, padding=dil2, dilation=dil2, bias=False)
        if kind in ("rs", "rs1", "dl"):
            self.bn3 = _in(mid)
            dil3 = 1 if kind == "rs" else 2
            self.conv3 = nn.Conv2d(mid, mid, 3, padding=dil3, dilation=dil3, bias=False)
        self.bn4 = norm(mid)
        dil4 = 2 if kind in ("dl", "dls") else 1
        self.conv4 = nn.Conv2d(mid, cout, 3, padding=dil4, dilation=dil4, bias=False)
        self.shared = ShareSepConv() if kind in ("dl", "dls") else None
        self.shared_unused = ShareSepConv() if kind == "dls" else None  # built, never used, in the official code
        self.conv_o = nn.Conv2d(cin, cout, 1, bias=False) if kind != "cf" else None

    def forward(self, x):
        out = self.conv1(F.relu(self.bn1(x)))
        out = self.conv2(F.relu(self.bn2(out)))
        if hasattr(self, "conv3"):
            out = self.conv3(F.relu(self.bn3(out)))
        out = F.relu(self.bn4(out))
        if self.shared is not None:
            out = self.shared(out)
        out = self.conv4(out)
        if self.conv_o is None:
            return out
        out = out + self.conv_o(x)
        return out if self.kind == "plain" else torch.cat([x, out], 1)


class Transition(nn.Module):
    """Norm, ReLU, 1x1 (transposed) convolution, then ``pool``, ``up`` (nearest), ``same`` or ``bil``."""

    def __init__(self, cin, cout, mode):
        super().__init__()
        self.mode = mode
        self.bn1 = _in(cin)
        if mode == "bil":
            self.conv1 = nn.Conv2d(cin, cout, 1, bias=False)
            self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        else:
            self.conv1 = nn.ConvTranspose2d(cin, cout, 1, bias=False)

    def forward(self, x):
        out = self.conv1(F.relu(self.bn1(x)))
        if self.mode == "pool":
            return F.avg_pool2d(out, 2)
        if self.mode == "up":
            return F.interpolate(out, scale_factor=2, mode="nearest")
        if self.mode == "bil":
            return self.conv2(F.interpolate(out, scale_factor=2, mode="bilinear", align_corners=True))
        return out


def _side_convs():
    return nn.ModuleList(nn.Conv2d(64, 1, 3, padding=1) for _ in range(7))


class Segmentation(nn.Module):
    """Face parsing into 4 class maps (sigmoid), from the image and its half-size copy."""

    def __init__(self):
        super().__init__()
        self.d1, self.t1 = Bottleneck(3, 61, "rs1"), Transition(64, 64, "pool")
        self.d2, self.t2 = Bottleneck(67, 64, "dls"), Transition(131, 64, "pool")
        self.d3, self.t3 = Bottleneck(64, 64, "dls"), Transition(128, 64, "same")
        self.d31, self.t31 = Bottleneck(64, 64, "dls"), Transition(128, 64, "same")
        self.d32, self.t32 = Bottleneck(64, 64, "dls"), Transition(128, 64, "same")
        self.d4, self.t4 = Bottleneck(128, 64, "dls"), Transition(192, 64, "up")
        self.d5, self.t5 = Bottleneck(128, 64, "dls"), Transition(196, 64, "up")
        self.d6, self.t6 = Bottleneck(64, 64, "rs1"), Transition(128, 16, "same")
        self.conv_refin, self.conv_refin64 = nn.Conv2d(23, 16, 3, padding=1), nn.Conv2d(192, 16, 3, padding=1)
        self.refine3, self.refine3_i = nn.Conv2d(16, 4, 3, padding=1), nn.Conv2d(16, 4, 3, padding=1)
        self.refineclean1, self.refineclean2 = nn.Conv2d(4, 8, 7, padding=3), nn.Conv2d(8, 4, 3, padding=1)  # unused
        self.side = _side_convs()
        self.bn20, self.bn1 = nn.BatchNorm2d(20), nn.BatchNorm2d(1)  # unused, as in the official code

    def forward(self, x, x2):
        x1 = self.t1(self.d1(x))
        y2 = self.t2(self.d2(torch.cat([x1, x2], 1)))
        y3 = self.t3(self.d3(y2))
        y31 = self.t31(self.d31(y3))
        y32 = self.t32(self.d32(y31))
        y4 = self.t4(self.d4(torch.cat([y32, y2], 1)))
        y5i = self.d5(torch.cat([y4, x1], 1))
        xhat = torch.sigmoid(self.refine3_i(_lrelu(self.conv_refin64(y5i))))
        y5 = self.t5(torch.cat([y5i, xhat], 1))
        y6 = self.t6(self.d6(y5))
        size = y6.shape[-2:]
        sides = [F.interpolate(_lrelu(c(t)), size=size, mode="nearest")
                 for c, t in zip(self.side, (x1, y2, y3, y31, y32, y4, y5))][::-1]
        return torch.sigmoid(self.refine3(_lrelu(self.conv_refin(torch.cat([y6, *sides], 1)))))


class ClassNet(nn.Module):
    """Base network of one semantic class (``Deblur_first``): image and class map in."""

    def __init__(self, cin=4):
        super().__init__()
        self.d1, self.t1 = Bottleneck(cin, 32 - cin, "rs"), Transition(32, 16, "pool")
        self.d2, self.t2 = Bottleneck(16, 16, "dl"), Transition(32, 16, "same")
        self.d3, self.t3 = Bottleneck(16, 16, "dl"), Transition(32, 16, "same")
        self.d5, self.t5 = Bottleneck(32, 16, "dl"), Transition(48, 16, "same")
        self.d6, self.t6 = Bottleneck(16, 16, "rs"), Transition(32, 16, "bil")
        self.conv_refin, self.conv_refin_in = nn.Conv2d(16, 16, 3, padding=1), nn.Conv2d(cin, 16, 3, padding=1)
        self.conv10 = nn.ModuleList(nn.Conv2d(20, 1, 1) for _ in range(4))  # unused, as in the official code
        self.refine3 = nn.Conv2d(16, 3, 3, padding=1)
        self.refineclean1, self.refineclean2 = nn.Conv2d(3, 8, 7, padding=3), nn.Conv2d(8, 3, 3, padding=1)

    def forward(self, x, cmap):
        xin = torch.cat([x, cmap], 1)
        x1 = self.t1(self.d1(xin))
        x3 = self.t3(self.d3(self.t2(self.d2(x1))))
        x5 = self.t5(self.d5(torch.cat([x3, x1], 1)))
        x6 = self.t6(self.d6(x5))
        res = torch.tanh(self.refine3(_lrelu(self.conv_refin_in(xin)) - _lrelu(self.conv_refin(x6))))
        clean = torch.tanh(self.refineclean2(_lrelu(self.refineclean1(x - res))))
        return clean, x5


class Confidence(nn.Module):
    """Training-only confidence branch (``scale_kernel_conf``); built for the count, never run here."""

    def __init__(self):
        super().__init__()
        self.conv1, self.t1 = nn.Conv2d(6, 16, 3, padding=1), Transition(16, 16, "pool")
        self.conv2, self.t2 = Bottleneck(16, 32, "cf"), Transition(32, 16, "pool")
        self.conv3, self.t3 = Bottleneck(16, 32, "cf"), Transition(32, 16, "pool")
        self.conv4, self.t4 = Bottleneck(16, 32, "cf"), Transition(32, 16, "same")
        self.conv_refin = nn.Conv2d(16, 3, 1)


class DeblurNet(nn.Module):
    """Global network (``Deblur_segdl``) with its four class streams."""

    def __init__(self):
        super().__init__()
        self.classes = nn.ModuleList(ClassNet(4) for _ in range(4))
        self.d1, self.dcl, self.t1 = Bottleneck(7, 57, "rs"), Bottleneck(64, 32, "plain"), Transition(64, 32, "pool")
        self.d2, self.t2 = Bottleneck(67, 64, "rs1"), Transition(131, 64, "same")
        self.d3, self.t3 = Bottleneck(64, 64, "dl"), Transition(128, 64, "same")
        self.d31, self.t31 = Bottleneck(64, 64, "dl"), Transition(128, 64, "same")
        self.d32, self.t32 = Bottleneck(64, 64, "dl"), Transition(128, 64, "same")
        self.d4, self.t4 = Bottleneck(64, 64, "dl"), Transition(128, 64, "same")
        self.d5, self.t5 = Bottleneck(128, 64, "rs1"), Transition(195, 64, "bil")
        self.d6, self.t6 = Bottleneck(71, 64, "rs"), Transition(135, 16, "same")
        self.conv_refin, self.conv_refin_in = nn.Conv2d(23, 16, 3, padding=1), nn.Conv2d(7, 16, 3, padding=1)
        self.conv_refin_in64, self.conv_refin64 = nn.Conv2d(3, 16, 3, padding=1), nn.Conv2d(192, 16, 3, padding=1)
        self.conv10 = nn.ModuleList(nn.Conv2d(20, 1, 1) for _ in range(4))  # unused, as in the official code
        self.refine3 = nn.Conv2d(16, 3, 3, padding=1)
        self.refineclean1, self.refineclean2 = nn.Conv2d(3, 8, 7, padding=3), nn.Conv2d(8, 3, 3, padding=1)
        self.side = _side_convs()
        self.confidence = Confidence()

    def forward(self, x, x2, smaps):
        feats = [net(x, smaps[:, i : i + 1])[1] for i, net in enumerate(self.classes)]
        xcl = self.dcl(torch.cat(feats, 1))
        xin = torch.cat([x, smaps], 1)
        x1 = self.t1(self.d1(xin))
        y2 = self.t2(self.d2(torch.cat([x1, x2, xcl], 1)))
        y3 = self.t3(self.d3(y2))
        y31 = self.t31(self.d31(y3))
        y32 = self.t32(self.d32(y31))
        y4 = self.t4(self.d4(y32))
        y5i = self.d5(torch.cat([y4, x1, xcl], 1))
        xhat = torch.tanh(self.refine3(_lrelu(self.conv_refin_in64(x2)) - _lrelu(self.conv_refin64(y5i))))
        y5 = self.t5(torch.cat([y5i, xhat], 1))
        y6 = self.t6(self.d6(torch.cat([y5, xin], 1)))
        size = y6.shape[-2:]
        srcs = (torch.cat([x1, xcl], 1), y2, y3, y31, y32, y4, y5)
        sides = [F.interpolate(_lrelu(c(t)), size=size, mode="nearest") for c, t in zip(self.side, srcs)][::-1]
        res = torch.tanh(self.refine3(_lrelu(self.conv_refin_in(xin)) - _lrelu(self.conv_refin(torch.cat([y6, *sides], 1)))))
        return torch.tanh(self.refineclean2(_lrelu(self.refineclean1(x - res))))


class UMSN(nn.Module):
    """Segmentation network followed by the multi-stream deblurring network (inference path)."""

    multiple = 4

    def __init__(self):
        super().__init__()
        self.segmentation = Segmentation()
        self.deblur = DeblurNet()

    def forward(self, x):
        h, w = x.shape[-2:]
        x = F.pad(x, (0, (-w) % 4, 0, (-h) % 4), mode="reflect") if (h % 4 or w % 4) else x
        x2 = F.interpolate(x, scale_factor=0.5)
        smaps = self.segmentation(x, x2)
        return self.deblur(x, x2, smaps)[..., :h, :w]
