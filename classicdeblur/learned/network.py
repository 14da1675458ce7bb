r"""The edge network: a small U-Net that predicts the sharp face from the blurred one.

Its forward pass is written once against the array module of the input (NumPy
on the CPU, CuPy on the GPU): 3x3 convolutions as one matrix product per block
of rows and a sum of 9 shifted planes, so the shipped predictor needs no torch at run time. The
same network in torch (:mod:`classicdeblur.learned.train`) trains the
weights; a test checks both forward passes agree to 1e-4.

Architecture (:data:`DEFAULT_CONFIG`; the weights' manifest carries its own)
-------------------------------------------------------------------------------
Input: a gray image :math:`y` (any size), normalised as
:math:`u = (y - \mu_y) / \max(\sigma_y, \sigma_0)` (mean and standard deviation
of the whole image), reflected at the bottom and right to a multiple of
:math:`2^{L-1}`. Encoder: ``L`` levels of two 3x3 convolutions with ReLU
(``channels`` wide), 2x2 average pooling between levels. Decoder: nearest
2x upsampling, concatenation with the encoder's features of the same level,
two 3x3 convolutions with ReLU. A last 3x3 convolution gives the residual
:math:`r`; the predicted sharp image is :math:`\hat x = y + \max(\sigma_y,
\sigma_0)\, r`, cropped back to the input's size. Convolutions are
cross-correlations with zero padding (torch's ``Conv2d``).

The k-step uses the gradients of :math:`\hat x`
(:class:`classicdeblur.blind.edges.LearnedEdges`).
"""

from __future__ import annotations

import math

import numpy as np

from ..backend import asarray_on, get_namespace
from ..errors import ClassicDeblurError

__all__ = ["DEFAULT_CONFIG", "EdgeNet", "parameter_names", "parameter_shapes", "count_parameters"]

#: The architecture of the shipped network (see the module docstring).
DEFAULT_CONFIG = {"arch": "unet", "channels": [8, 16, 32, 64], "convs": 2, "sigma_floor": 0.01, "norm": True}

#: Elements of the tap planes computed at once (bounds the memory of a convolution).
_CHUNK_ELEMENTS = 1 << 22


def _check_config(config):
    if not isinstance(config, dict) or config.get("arch") != "unet":
        raise ClassicDeblurError(f"unknown edge-network config {config!r}: expected arch 'unet'")
    ch = config.get("channels")
    if not (isinstance(ch, (list, tuple)) and ch and all(isinstance(c, int) and c > 0 for c in ch)):
        raise ClassicDeblurError(f"edge-network channels must be a list of positive ints; got {ch!r}")
    if int(config.get("convs", 0)) < 1:
        raise ClassicDeblurError(f"edge-network convs must be >= 1; got {config.get('convs')!r}")
    return {"arch": "unet", "channels": [int(c) for c in ch], "convs": int(config["convs"]),
            "sigma_floor": float(config.get("sigma_floor", DEFAULT_CONFIG["sigma_floor"])),
            "norm": bool(config.get("norm", False))}


def parameter_shapes(config=DEFAULT_CONFIG) -> dict:
    """``{name: shape}`` of every weight and bias, in the order of the forward pass.

    Names follow the torch module of :mod:`~classicdeblur.learned.train`
    (``enc0.0.weight``: level 0 of the encoder, first convolution).

    Examples
    --------
    >>> shapes = parameter_shapes({"arch": "unet", "channels": [4, 8], "convs": 2})
    >>> list(shapes)[:2], shapes["dec0.0.weight"], shapes["out.weight"]
    (['enc0.0.weight', 'enc0.0.bias'], (4, 12, 3, 3), (1, 4, 3, 3))
    """
    cfg = _check_config(config)
    ch, n = cfg["channels"], cfg["convs"]
    shapes = {}

    def block(prefix, cin, cout):
        for j in range(n):
            shapes[f"{prefix}.{j}.weight"] = (cout, cin if j == 0 else cout, 3, 3)
            shapes[f"{prefix}.{j}.bias"] = (cout,)

    for i, c in enumerate(ch):
        block(f"enc{i}", 1 if i == 0 else ch[i - 1], c)
    for i in range(len(ch) - 2, -1, -1):
        block(f"dec{i}", ch[i + 1] + ch[i], ch[i])
    shapes["out.weight"] = (1, ch[0], 3, 3)
    shapes["out.bias"] = (1,)
    return shapes


def parameter_names(config=DEFAULT_CONFIG) -> list:
    """The names of :func:`parameter_shapes`, in order."""
    return list(parameter_shapes(config))


def count_parameters(config=DEFAULT_CONFIG) -> int:
    """Number of scalars in the network.

    Examples
    --------
    >>> count_parameters()
    122033
    """
    return int(sum(math.prod(s) for s in parameter_shapes(config).values()))


def _conv3x3(x, w, b, xp, relu):
    """3x3 cross-correlation with zero padding of a ``(C, H, W)`` array; ``w`` is ``(9 O, C)``, ``b`` ``(O, 1, 1)``.

    One matrix product gives every tap's contribution at every pixel of the
    padded input, ``(9, O, H + 2, W + 2)``; the output adds the 9 taps'
    shifted planes. (Cheaper than im2col here: 9 ``O`` adds per pixel instead
    of copying 9 ``C`` values, and a wider matrix product.) Rows are done in
    blocks to bound the memory.
    """
    C, H, W = x.shape
    O = w.shape[0] // 9
    p = xp.pad(x, ((0, 0), (1, 1), (1, 1)))
    out = xp.empty((O, H, W), dtype=x.dtype)
    rows = max(1, min(H, _CHUNK_ELEMENTS // max((W + 2) * 9 * O, 1) - 2))
    for r0 in range(0, H, rows):
        r1 = min(H, r0 + rows)
        n = r1 - r0
        taps = (w @ p[:, r0 : r1 + 2].reshape(C, -1)).reshape(9, O, n + 2, W + 2)
        acc = taps[0, :, 0:n, 0:W] + b
        for t in range(1, 9):
            dy, dx = divmod(t, 3)
            acc += taps[t, :, dy : dy + n, dx : dx + W]
        if relu:
            xp.maximum(acc, 0, out=acc)
        out[:, r0:r1] = acc
    return out


def _pool2(x):
    return 0.25 * (x[:, 0::2, 0::2] + x[:, 1::2, 0::2] + x[:, 0::2, 1::2] + x[:, 1::2, 1::2])


def _up2(x, xp):
    return xp.repeat(xp.repeat(x, 2, axis=1), 2, axis=2)


class EdgeNet:
    """The edge network with its weights, callable on a gray image of any size.

    Parameters
    ----------
    weights : dict of str to ndarray
        Every array of :func:`parameter_shapes` (torch layout: ``(out, in, 3, 3)``).
    config : dict
        The architecture (:data:`DEFAULT_CONFIG`).

    Examples
    --------
    >>> import numpy as np
    >>> cfg = {"arch": "unet", "channels": [4, 8], "convs": 1}
    >>> rng = np.random.default_rng(0)
    >>> net = EdgeNet({n: 0.1 * rng.standard_normal(s) for n, s in parameter_shapes(cfg).items()}, cfg)
    >>> out = net(rng.random((13, 10)))
    >>> out.shape, out.dtype, net.n_parameters
    ((13, 10), dtype('float64'), 809)
    """

    def __init__(self, weights, config=DEFAULT_CONFIG):
        self.config = _check_config(config)
        shapes = parameter_shapes(self.config)
        missing = [n for n in shapes if n not in weights]
        if missing:
            raise ClassicDeblurError(f"edge-network weights are missing {', '.join(missing[:4])}"
                                     + (" ..." if len(missing) > 4 else ""))
        bad = [n for n, s in shapes.items() if tuple(np.shape(weights[n])) != s]
        if bad:
            n = bad[0]
            raise ClassicDeblurError(f"edge-network weight {n} has shape {tuple(np.shape(weights[n]))}; "
                                     f"expected {shapes[n]}")
        # (out, in, 3, 3) -> (3, 3, out, in) -> (9 out, in): rows ordered (tap dy, tap dx, output channel)
        self._host = {n: np.ascontiguousarray(np.asarray(weights[n], dtype=np.float32)) for n in shapes}
        self._mats = {}
        self.n_parameters = int(sum(a.size for a in self._host.values()))

    def _weights(self, xp):
        key = xp.__name__
        if key not in self._mats:
            mats = {}
            for name, a in self._host.items():
                if name.endswith(".weight"):
                    o, i = a.shape[:2]
                    a = np.ascontiguousarray(a.transpose(2, 3, 0, 1).reshape(9 * o, i))
                else:
                    a = a.reshape(-1, 1, 1)
                mats[name] = asarray_on(xp, a, dtype=np.float32)
            self._mats[key] = mats
        return self._mats[key]

    @property
    def multiple(self) -> int:
        """Input sides are padded to a multiple of this (the pooling factor)."""
        return 2 ** (len(self.config["channels"]) - 1)

    def residual(self, u):
        """The raw network output for a normalised ``(H, W)`` float32 input whose sides are multiples of :attr:`multiple`."""
        xp = get_namespace(u)
        w = self._weights(xp)
        ch, n = self.config["channels"], self.config["convs"]

        def block(prefix, x):
            for j in range(n):
                x = _conv3x3(x, w[f"{prefix}.{j}.weight"], w[f"{prefix}.{j}.bias"], xp, relu=True)
            return x

        x = u[None]
        skips = []
        for i in range(len(ch)):
            if i:
                x = _pool2(x)
            x = block(f"enc{i}", x)
            skips.append(x)
        for i in range(len(ch) - 2, -1, -1):
            x = block(f"dec{i}", xp.concatenate([_up2(x, xp), skips[i]], axis=0))
        return _conv3x3(x, w["out.weight"], w["out.bias"], xp, relu=False)[0]

    def __call__(self, image):
        """The predicted sharp image :math:`\\hat x` of a gray ``(M, N)`` image (same dtype and device)."""
        xp = get_namespace(image)
        if image.ndim != 2:
            raise ClassicDeblurError(f"the edge network takes a gray (M, N) image; got shape {image.shape}")
        M, N = image.shape
        y = image.astype(xp.float32)
        mu = float(y.mean())
        sigma = max(float(y.std()), self.config["sigma_floor"])
        u = (y - mu) / sigma
        m = self.multiple
        ph, pw = (-M) % m, (-N) % m
        if ph or pw:
            u = xp.pad(u, ((0, ph), (0, pw)), mode="symmetric")
        r = self.residual(xp.ascontiguousarray(u))[:M, :N]
        return (y + sigma * r).astype(image.dtype, copy=False)
