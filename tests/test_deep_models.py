"""The deep architectures of benchmarks/deep_models: build, shapes, exact parameter counts.

Needs the optional torch extra; skipped without it (CI has no torch).
"""

import pytest

torch = pytest.importorskip("torch")

from benchmarks.deep_models import MODELS, build, count_macs, count_params  # noqa: E402
from benchmarks.deep_models import deblurgan_v2, mimo_unet, nafnet, srn, umsn  # noqa: E402

# Reported counts we check against (within 2%), and where they come from.
REPORTED = {
    "restormer": 26.13e6,   # Restormer paper
    "mprnet": 20.1e6,       # MPRNet (as compared in the Restormer paper)
    "mimo-unet+": 16.1e6,   # MIMO-UNet paper Table 1
    "deepdeblur": 11.7e6,   # MIMO-UNet paper Table 1
}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_builds_runs_and_counts(name):
    info = MODELS[name]
    model = build(name)
    assert count_params(model) == info.params
    # 64x48: not a multiple of every network's stride, so padding and cropping are exercised
    x = torch.rand(1, info.channels, 64, 48)
    with torch.inference_mode():
        y = model(x)
    assert y.shape == x.shape
    assert torch.isfinite(y).all()


@pytest.mark.parametrize("name", sorted(REPORTED))
def test_reported_counts(name):
    ours, reported = MODELS[name].params, REPORTED[name]
    assert MODELS[name].reported_params == reported
    assert abs(ours - reported) / reported < 0.02


def test_variants():
    # MIMO-UNet (8 blocks): 6.8M in MIMO-UNet Table 1
    assert count_params(mimo_unet.MIMOUNet(num_res=8)) == mimo_unet.PARAMS[8]
    assert abs(mimo_unet.PARAMS[8] - 6.8e6) / 6.8e6 < 0.02
    # SRN: 6.8M in MIMO-UNet Table 1 matches the released colour model without LSTM; the
    # paper's gray ConvLSTM model (timed here) adds the LSTM's 3x3 conv 256 -> 512
    # (1,180,160) and has 1 channel instead of 3 at both ends (4,802 fewer)
    assert count_params(srn.SRN(channels=3, lstm=False)) == srn.PARAMS["color"]
    assert abs(srn.PARAMS["color"] - 6.8e6) / 6.8e6 < 0.02
    assert srn.PARAMS["lstm-gray"] - srn.PARAMS["color"] == 1_180_160 - 4_802
    assert nafnet.PARAMS == {32: MODELS["nafnet-32"].params, 64: MODELS["nafnet-64"].params}
    assert count_params(deblurgan_v2.FPNMobileNet(include_unused=True)) == deblurgan_v2.PARAMS["official"]
    m = umsn.UMSN()
    assert count_params(m.segmentation) == umsn.PARAMS["segmentation"]
    assert count_params(m.deblur) == umsn.PARAMS["deblur"]


def test_macs_restormer_and_nafnet():
    # Restormer paper: 140.99 GFLOPs (MACs, ptflops) at 256x256; counting at 64x64 scales by 16
    # exactly except for 1x1 layers on pooled maps (none in Restormer).
    macs = count_macs(build("restormer"), (1, 3, 64, 64)) * 16
    assert abs(macs / 1e9 - 140.99) < 0.01
    # NAFNet-32 GoPro: about 16 GMACs at 256x256
    assert 15.5e9 < count_macs(build("nafnet-32"), (1, 3, 64, 64)) * 16 < 16.5e9
