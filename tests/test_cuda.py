"""The torch models on a CUDA device: skipped where torch sees no GPU.

Run on a GPU machine with ``python -m pytest tests/test_cuda.py``. The CPU suite covers every
property; these tests check that the same code paths run on ``device="cuda"``, that what
the GPU trains is close to what the CPU trains from the same initialisation, and that models
and bitstreams move between devices (a stream written on the GPU decodes on the CPU).
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from rdlab.coding.quantizers import dither  # noqa: E402
from rdlab.estimators.nerd import nerd_point  # noqa: E402
from rdlab.models.learned import (  # noqa: E402  # noqa: E402
    learned_run,
    load_learned_codec,
    load_model,
    load_split,
    preset_config,
)
from rdlab.sources import GaussianSource  # noqa: E402
from rdlab.theory.gaussian import reverse_water_filling_at_rate  # noqa: E402
from test_learned import TINY  # noqa: E402 - the same tiny settings as the CPU tests
from test_nerd import SMALL  # noqa: E402

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")


@pytest.mark.parametrize("quantizer", ["dq", "nq", "uq"])
def test_learned_codec_on_cuda_matches_the_cpu_and_its_streams_move(quantizer, tmp_path):
    cfg = preset_config("quick", "digits", quantizer=quantizer, lam=0.01, **TINY)
    gpu = learned_run(cfg, tmp_path / "gpu", seed=0, device="cuda").to_dict()
    cpu = learned_run(cfg, tmp_path / "cpu", seed=0, device="cpu").to_dict()
    # same initialisation and batches; kernels differ, so close, not bit-identical
    assert gpu["distortion"] == pytest.approx(cpu["distortion"], rel=0.15)
    assert gpu["rate_bits"] > gpu["rate_payload_bits"] > 0
    assert np.isfinite(gpu["perception_w1"])

    x = load_split("digits", "test", n=40)
    codec_gpu = load_learned_codec(tmp_path / "gpu", device="cuda")
    codec_cpu = load_learned_codec(tmp_path / "gpu", device="cpu")
    on_gpu = codec_gpu.encode(x, seed=3)
    on_cpu = codec_cpu.encode(x, seed=3)
    assert on_gpu == on_cpu  # the symbols do not depend on the device here
    y_gpu = codec_gpu.decode(on_gpu)
    y_cpu = codec_cpu.decode(on_gpu)
    np.testing.assert_allclose(y_gpu, y_cpu, atol=1e-5)

    codec, _, _ = load_model(tmp_path / "gpu", device="cuda")
    assert next(codec.decoder.parameters()).device.type == "cuda"
    u = torch.from_numpy(dither(40, codec.config.levels_per_dim, 3))
    with torch.no_grad():
        ref = codec.reconstruct(torch.from_numpy(x.astype(np.float32) / 255).cuda(), u.cuda())
    np.testing.assert_allclose(y_gpu, ref.cpu().numpy(), atol=1e-6)


def test_nerd_on_cuda_reaches_the_gaussian_curve():
    src = GaussianSource([4.0, 2.0, 1.0, 0.5])
    wf = reverse_water_filling_at_rate(src.eigenvalues, 2.0)
    gpu = nerd_point(src, seed=0, slope=wf.slope, config=SMALL, device="cuda")
    assert abs(gpu.excess_rate_bits) < 0.1
