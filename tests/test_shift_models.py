"""Compression under distribution shift (seed 003, rdlab.models.shift) on synthetic images.

Super-resolution runs train on scikit-learn's digits resized to 28x28, denoising runs on
random smooth 3x32x32 images, both given as a user's ``.npy`` (``ShiftConfig(data=PATH)``, one
sixth held out); every training is a few steps, so the file runs in well under a minute.
"""

from __future__ import annotations

import json
import math
from dataclasses import replace

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from safetensors.torch import load_file  # noqa: E402

from rdlab.coding.codec import read_stream  # noqa: E402
from rdlab.coding.container import BitstreamError  # noqa: E402
from rdlab.coding.quantizers import dither, private_dither  # noqa: E402
from rdlab.core.glossary import unknown_keys  # noqa: E402
from rdlab.core.torch_state import step_seed  # noqa: E402
from rdlab.models.shift import (  # noqa: E402
    PER_IMAGE_FILE,
    ShiftConfig,
    ShiftModel,
    eval_noise,
    eval_pair,
    latent_dim_for_rate,
    load_shift_codec,
    load_shift_model,
    per_image_mse,
    preset_config,
    run_settings,
    shift_codec,
    shift_run,
    stage_outputs,
    task_images,
)
from rdlab.models.shift.evaluation import eval_seed  # noqa: E402
from rdlab.models.shift.training import degraded_batch  # noqa: E402
from rdlab.sources.degradations import resize_bilinear  # noqa: E402

SEED = 1
N_SR, N_DN = 300, 200
TINY = {"batch_size": 32, "epochs": 1, "fresh_critic_steps": 2, "eval_batch": 64}


def _finite(x) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def _results(run) -> dict:
    return json.loads((run / "results.json").read_text())


def _weights(run) -> dict:
    return load_file(str(run / "model.safetensors"))


# -- data and runs (module fixtures) ---------------------------------------------------------


@pytest.fixture(scope="module")
def sr_data(tmp_path_factory):
    """300 digits (8x8) resized to 28x28, float32 in [0, 1], shape (n, 1, 28, 28)."""
    from sklearn.datasets import load_digits

    d = load_digits().images[:N_SR, None].astype(np.float32) / np.float32(16.0)
    x = np.clip(resize_bilinear(d, (28, 28)), 0, 1).astype(np.float32)
    path = tmp_path_factory.mktemp("data") / "digits28.npy"
    np.save(path, x)
    return str(path)


@pytest.fixture(scope="module")
def dn_data(tmp_path_factory):
    """200 random smooth colour images (4x4 noise upsampled), float32 (n, 3, 32, 32)."""
    low = np.random.default_rng(0).random((N_DN, 3, 4, 4)).astype(np.float32)
    x = np.clip(resize_bilinear(low, (32, 32)), 0, 1).astype(np.float32)
    path = tmp_path_factory.mktemp("data") / "smooth32.npy"
    np.save(path, x)
    return str(path)


def sr_cfg(data: str, **kw) -> ShiftConfig:
    return ShiftConfig(**{"task": "sr", "data": data, **TINY, **kw})


def dn_cfg(data: str, **kw) -> ShiftConfig:
    return ShiftConfig(
        **{"task": "denoise", "data": data, "levels": 8, "unet_width": 4, **TINY, **kw}
    )


@pytest.fixture(scope="module")
def e2e(sr_data, tmp_path_factory):
    """Finished sr end-to-end runs with (``True``) and without (``False``) common randomness."""
    root = tmp_path_factory.mktemp("e2e")
    runs = {}
    for cr in (True, False):
        out = root / ("cr" if cr else "nocr")
        shift_run(sr_cfg(sr_data, common_randomness=cr), out, seed=SEED)
        runs[cr] = out
    return runs


@pytest.fixture(scope="module")
def branches(sr_data, e2e, tmp_path_factory):
    """two-branch and separate runs on the no-CR end-to-end base."""
    root = tmp_path_factory.mktemp("branches")
    runs = {}
    for stage in ("two-branch", "separate"):
        cfg = sr_cfg(sr_data, stage=stage, common_randomness=False, lam=0.0)
        shift_run(cfg, root / stage, base=e2e[False], seed=SEED)
        runs[stage] = root / stage
    return runs


@pytest.fixture(scope="module")
def baseline(dn_data, tmp_path_factory):
    """A denoising restore run and the restore-compress run on it."""
    root = tmp_path_factory.mktemp("baseline")
    shift_run(dn_cfg(dn_data, stage="restore", lam=0.03), root / "restore", seed=SEED)
    shift_run(
        dn_cfg(dn_data, stage="restore-compress", lam=0.005),
        root / "rc",
        base=root / "restore",
        seed=SEED,
    )
    return {"restore": root / "restore", "restore-compress": root / "rc"}


@pytest.fixture(scope="module")
def same_weights(e2e):
    """The CR run's model and the same weights in a no-CR model, its coding model, identity,
    seed and the test inputs."""
    model_cr, coding, identity, seed = load_shift_model(e2e[True])
    model_no = ShiftModel(replace(model_cr.config, common_randomness=False), seed=seed)
    model_no.load_state_tensors(model_cr.state_tensors())
    model_no.eval()
    _, x = eval_pair(model_cr.config)
    return model_cr, model_no, coding, identity, seed, x


# -- 1. common randomness is a bool ----------------------------------------------------------


@pytest.mark.parametrize("bad", ["False", "True", 1, 0, None, 1.0])
def test_common_randomness_must_be_a_bool(bad):
    with pytest.raises(TypeError, match="common_randomness"):
        ShiftConfig(common_randomness=bad)


def test_common_randomness_string_from_dict_is_refused():
    # the official code's `--common False` bug: a truthy string must never mean True
    with pytest.raises((ValueError, TypeError), match="common_randomness"):
        ShiftConfig.from_dict({"task": "sr", "common_randomness": "False"})
    with pytest.raises(ValueError, match="common_randomness"):
        run_settings({"kind": "shift", "config": {"common_randomness": "False"}}, "run")
    assert ShiftConfig.from_dict({"common_randomness": False}).quantizer == "uq-private"
    assert ShiftConfig.from_dict({"common_randomness": True}).quantizer == "uq"


# -- 2. the decoder's inputs with and without common randomness ------------------------------


def test_eval_noise_shared_or_private():
    cfg = ShiftConfig()
    no = replace(cfg, common_randomness=False)
    u1, u2 = eval_noise(cfg, 9, SEED)
    v1, v2 = eval_noise(no, 9, SEED)
    assert u2 is u1
    assert v2 is not v1 and not torch.equal(v1, v2)
    # the encoder's dither is the same in both settings: the bitstream dither of the eval seed
    expected_u1 = dither(9, (cfg.levels,) * cfg.latent_dim, eval_seed(SEED))
    assert torch.equal(u1, v1) and np.array_equal(u1.numpy(), expected_u1)
    # without common randomness the decoder subtracts its private dither of decoder_seed only
    levels = (cfg.levels,) * cfg.latent_dim
    assert np.array_equal(v2.numpy(), private_dither(9, levels, 0))
    assert torch.equal(eval_noise(no, 9, SEED + 1)[1], v2)
    assert not torch.equal(eval_noise(no, 9, SEED, decoder_seed=3)[1], v2)


def test_stage_outputs_differ_with_the_same_weights(same_weights):
    model_cr, model_no, _, _, seed, x = same_weights
    xt = torch.from_numpy(x)
    out_cr, out_no = stage_outputs(model_cr, xt, seed), stage_outputs(model_no, xt, seed)
    # the same symbols are sent (same encoder, same encoder dither) ...
    assert torch.equal(out_cr["symbols"], out_no["symbols"])
    # ... but the decoders subtract different dithers, so the outputs differ
    assert float((out_cr["output"] - out_no["output"]).abs().max()) > 1e-4
    u1, _ = eval_noise(model_cr.config, x.shape[0], seed)
    _, u2 = eval_noise(model_no.config, x.shape[0], seed)
    s = out_cr["symbols"]
    assert torch.equal(out_cr["output"], model_cr.decode_symbols(s, u1))
    assert torch.equal(out_no["output"], model_no.decode_symbols(s, u2))


def test_codec_with_and_without_common_randomness(same_weights):
    model_cr, model_no, coding, identity, _, x = same_weights
    n = x.shape[0]
    levels = (model_cr.config.levels,) * model_cr.config.latent_dim
    codec_cr = shift_codec(model_cr, coding, identity)
    codec_no = shift_codec(model_no, coding, identity)
    assert (codec_cr.quantizer, codec_no.quantizer) == ("uq", "uq-private")
    s1, s2 = 11, 12345
    d_cr, d_no = codec_cr.encode(x, seed=s1), codec_no.encode(x, seed=s1)
    h_cr, sym_cr = codec_cr.decode_symbols(d_cr)
    h_no, sym_no = codec_no.decode_symbols(d_no)
    assert (h_cr.quantizer, h_no.quantizer) == ("uq", "uq-private")
    assert np.array_equal(sym_cr, sym_no)
    out_cr, out_no = codec_cr.decode(d_cr), codec_no.decode(d_no)
    assert np.abs(out_cr - out_no).max() > 1e-4
    # a codec refuses the other setting's stream
    with pytest.raises(BitstreamError):
        codec_no.decode(d_cr)
    # no CR: the decoder's dither ignores the header's seed; CR: it is the encoder's
    assert np.array_equal(codec_no.decoder_noise(n, s1), codec_no.decoder_noise(n, s2))
    assert np.array_equal(codec_no.decoder_noise(n, s1), private_dither(n, levels, 0))
    assert not np.array_equal(codec_no.decoder_noise(n, s1), codec_no.noise(n, s1))
    assert np.array_equal(codec_cr.decoder_noise(n, s1), codec_cr.noise(n, s1))
    assert not np.array_equal(codec_cr.decoder_noise(n, s1), codec_cr.decoder_noise(n, s2))
    # two streams of different seeds: different symbols, decoded with the same u2
    d_no2 = codec_no.encode(x, seed=s2)
    _, sym_no2 = codec_no.decode_symbols(d_no2)
    assert not np.array_equal(sym_no, sym_no2)
    u2 = torch.from_numpy(private_dither(n, levels, 0))
    for data, sym in ((d_no, sym_no), (d_no2, sym_no2)):
        expected = model_no.decode_symbols(torch.from_numpy(sym), u2).numpy()
        np.testing.assert_array_equal(codec_no.decode(data), expected)
    # and with the CR codec each stream is decoded with its own encoder dither
    expected_cr = model_cr.decode_symbols(
        torch.from_numpy(sym_cr), torch.from_numpy(dither(n, levels, s1))
    ).numpy()
    np.testing.assert_array_equal(out_cr, expected_cr)
    # another decoder seed: another private dither, another output of the same stream
    other = shift_codec(model_no, coding, identity, decoder_seed=7)
    u7 = torch.from_numpy(private_dither(n, levels, 7))
    np.testing.assert_array_equal(
        other.decode(d_no), model_no.decode_symbols(torch.from_numpy(sym_no), u7).numpy()
    )
    assert np.abs(other.decode(d_no) - out_no).max() > 1e-4


def test_load_shift_codec_of_the_two_runs(e2e):
    codec_cr, codec_no = load_shift_codec(e2e[True]), load_shift_codec(e2e[False])
    assert (codec_cr.quantizer, codec_no.quantizer) == ("uq", "uq-private")
    n = 5
    assert np.array_equal(codec_no.decoder_noise(n, 1), codec_no.decoder_noise(n, 2))
    assert not np.array_equal(codec_cr.decoder_noise(n, 1), codec_cr.decoder_noise(n, 2))
    # the decoder seed reaches the no-CR codec only
    assert not np.array_equal(
        load_shift_codec(e2e[False], decoder_seed=4).decoder_noise(n, 1),
        codec_no.decoder_noise(n, 1),
    )


# -- 3. training-path noise ------------------------------------------------------------------


def test_training_noise_shared_or_independent():
    cfg = ShiftConfig()
    m_cr = ShiftModel(cfg, seed=0)
    m_no = ShiftModel(replace(cfg, common_randomness=False), seed=0)
    g = torch.Generator().manual_seed(42)
    u1, u2 = m_cr.noise(16, g)
    assert u2 is u1
    g = torch.Generator().manual_seed(42)
    v1, v2 = m_no.noise(16, g)
    assert v2 is not v1 and not torch.equal(v1, v2)
    assert torch.equal(v1, u1)  # the encoder's dither is the same draw in both settings
    half = m_no.quantizer.step / 2
    for u in (v1, v2):
        assert u.shape == (16, cfg.latent_dim) and float(u.abs().max()) <= half
    # the decoder's input: c_s - u1 with CR, c_s - u2 without
    z = torch.tanh(torch.randn(16, cfg.latent_dim, generator=torch.Generator().manual_seed(1)))
    c = m_no.quantizer.centers()[m_no.quantizer.symbols(z, v1)]
    torch.testing.assert_close(m_no.decoder_input(z, v1, v2), c - v2, rtol=0, atol=1e-6)
    torch.testing.assert_close(m_cr.decoder_input(z, v1, v1), c - v1, rtol=0, atol=1e-6)


# -- 4. an end-to-end run ----------------------------------------------------------------------


@pytest.mark.parametrize("cr", [True, False])
def test_end_to_end_run(e2e, cr):
    run = e2e[cr]
    res = _results(run)
    assert res["stage"] == "end-to-end" and res["common_randomness"] is cr
    assert res["finished"] and res["steps"] == res["total_steps"] == (N_SR - N_SR // 6) // 32
    assert res["n_test"] == N_SR // 6
    for key in ("distortion_input", "distortion_ground_truth"):
        assert _finite(res[key]) and 0 < res[key] < 1, key
    assert res["rate_bound_bits"] == 2 * math.log2(4) == ShiftConfig().rate_bound_bits
    assert res["rate_bits"] >= res["rate_payload_bits"] > 0
    assert _finite(res["rate_information_bits"]) and res["rate_information_bits"] >= 0
    assert res["rate_entropy_bits"] <= res["rate_bound_bits"] + 1e-9

    # the measured outputs are the decoded test stream's
    model, _, _, seed = load_shift_model(run)
    assert seed == SEED and model.config.common_randomness is cr
    codec = load_shift_codec(run)
    y, x = eval_pair(model.config)
    assert x.shape[0] == res["n_test"]
    data = codec.encode(x, seed=eval_seed(seed))
    decoded = codec.decode(data)
    out = stage_outputs(model, torch.from_numpy(x), seed)["output"].numpy()
    np.testing.assert_allclose(decoded, out, rtol=0, atol=1e-6)
    assert res["rate_bits"] == 8 * len(data) / x.shape[0]
    assert res["rate_payload_bits"] == 8 * len(read_stream(data, codec="learned").payload) / len(x)
    measured = per_image_mse(torch.from_numpy(decoded), torch.from_numpy(x)).mean()
    assert measured == pytest.approx(res["distortion_input"], rel=1e-5)

    per_image = np.load(run / PER_IMAGE_FILE)
    assert per_image.shape == (res["n_test"], 2)
    assert per_image[:, 0].mean() == pytest.approx(res["distortion_input"], rel=1e-12)
    assert per_image[:, 1].mean() == pytest.approx(res["distortion_ground_truth"], rel=1e-12)
    d_gt = per_image_mse(torch.from_numpy(out), torch.from_numpy(y))
    np.testing.assert_allclose(per_image[:, 1], d_gt, rtol=1e-12, atol=0)


# -- 5. resume ---------------------------------------------------------------------------------


def test_resume_is_bit_identical(sr_data, tmp_path):
    assert torch.get_num_threads() == 1  # tests/conftest.py
    cfg = sr_cfg(
        sr_data, common_randomness=False, epochs=2, lr_decay_epochs=(1,), fresh_critic_steps=0
    )
    full = shift_run(cfg, tmp_path / "full", seed=4)
    part = shift_run(cfg, tmp_path / "cut", seed=4, stop_after=3)
    assert (part.finished, part.steps, part.total_steps, part.evaluation) == (False, 3, 14, None)
    assert not (tmp_path / "cut" / "model.safetensors").exists()
    part = shift_run(cfg, tmp_path / "cut", seed=4, resume=True, stop_after=10)
    assert (part.finished, part.steps) == (False, 10)
    cut = shift_run(cfg, tmp_path / "cut", seed=4, resume=True)
    assert cut.finished and cut.steps == 14
    a, b = _weights(tmp_path / "full"), _weights(tmp_path / "cut")
    assert a.keys() == b.keys() and "coding.pmf" in a
    for k in a:
        assert torch.equal(a[k], b[k]), k
    ra, rb = _results(tmp_path / "full"), _results(tmp_path / "cut")
    assert ra["distortion_input"] == rb["distortion_input"] == full.evaluation.distortion_input
    assert ra["history"] == rb["history"] and len(ra["history"]) == 2


# -- 6. stages -----------------------------------------------------------------------------


@pytest.mark.parametrize("stage", ["two-branch", "separate"])
def test_branch_stages(e2e, branches, stage):
    run, base = branches[stage], e2e[False]
    res = _results(run)
    assert res["stage"] == stage and res["base"]["stage"] == "end-to-end"
    terms = [res[k] for k in ("branch_input_mse", "branch_output_mse", "branch_cross_mse")]
    assert all(_finite(t) and t >= 0 for t in terms)
    assert res["decomposed_loss"] == pytest.approx(sum(terms), rel=0, abs=1e-12)
    assert res["rate_bound_bits"] is None and res["perception_w1"] is None
    # the frozen end-to-end output is the base's: same weights, same test dither
    assert res["distortion_input"] == _results(base)["distortion_input"]
    w, wb = _weights(run), _weights(base)
    frozen = [k for k in wb if k.split(".")[0] in ("encoder", "decoder")]
    assert frozen and any(k.startswith("decoder.") for k in frozen)
    for k in frozen:
        assert torch.equal(w[k], wb[k]), k
    trained = {
        "two-branch": {"decoder1", "decoder2"},
        "separate": {"encoder1", "decoder1", "encoder2", "decoder2"},
    }[stage]
    assert {k.split(".")[0] for k in w} == {"encoder", "decoder"} | trained


def test_branch_stage_needs_a_matching_base(sr_data, e2e, tmp_path):
    cfg = sr_cfg(sr_data, stage="two-branch", common_randomness=False)
    with pytest.raises(ValueError, match="base"):
        shift_run(cfg, tmp_path / "nobase")
    with pytest.raises(ValueError, match="common_randomness"):
        shift_run(cfg, tmp_path / "crbase", base=e2e[True])
    with pytest.raises(ValueError, match="latent_dim"):
        shift_run(replace(cfg, latent_dim=3), tmp_path / "rate", base=e2e[False])
    with pytest.raises(ValueError, match="no base"):
        shift_run(sr_cfg(sr_data), tmp_path / "e2e", base=e2e[False])
    with pytest.raises(ValueError, match="restore"):
        shift_run(replace(cfg, stage="restore-compress"), tmp_path / "rc", base=e2e[False])
    assert not any(tmp_path.iterdir())


def test_restore_and_restore_compress(baseline):
    r, rc = _results(baseline["restore"]), _results(baseline["restore-compress"])
    assert r["rate_bound_bits"] is None and r["rate_bits"] is None
    assert r["n_test"] == rc["n_test"] == N_DN // 6
    assert _finite(r["distortion_input"]) and _finite(r["perception_w1_own"])
    assert rc["rate_bound_bits"] == 2 * math.log2(8)
    assert rc["rate_bits"] >= rc["rate_payload_bits"] > 0
    w, wr = _weights(baseline["restore-compress"]), _weights(baseline["restore"])
    unet = [k for k in wr if k.startswith("unet.")]
    assert unet
    for k in unet:
        assert torch.equal(w[k], wr[k]), k
    with pytest.raises(ValueError, match="not a codec"):
        load_shift_codec(baseline["restore"])
    # restore-compress codes the frozen U-Net's output: its stream decodes to the measured one
    model, _, _, seed = load_shift_model(baseline["restore-compress"])
    _, x = eval_pair(model.config)
    codec = load_shift_codec(baseline["restore-compress"])
    out = stage_outputs(model, torch.from_numpy(x), seed)["output"].numpy()
    np.testing.assert_allclose(codec.decode(codec.encode(x, seed=eval_seed(seed))), out, atol=1e-6)
    per_image = np.load(baseline["restore-compress"] / PER_IMAGE_FILE)
    assert per_image[:, 0].mean() == pytest.approx(rc["distortion_input"], rel=1e-12)


# -- 7. bad input --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"task": "blur"}, "task"),
        ({"stage": "x"}, "stage"),
        ({"latent_dim": 0}, "latent_dim"),
        ({"latent_dim": 2.0}, "latent_dim"),
        ({"levels": 1}, "levels"),
        ({"lam": -1}, "lam"),
        ({"lam": math.nan}, "lam"),
        ({"betas": (1, 0.5)}, "betas"),
        ({"betas": 0.5}, "betas"),
        ({"lr_decay_epochs": 3}, "lr_decay_epochs"),
        ({"epochs": 0}, "epochs"),
        ({"batch_size": 1}, "batch_size"),
        ({"n_test": 1}, "n_test"),
        ({"data": 3}, "data"),
        ({"factor": 3}, "factor"),
        ({"factor": 1}, "factor"),
        ({"noise_level": -1.0}, "noise_level"),
    ],
)
def test_bad_settings(kwargs, name):
    with pytest.raises((ValueError, TypeError), match=name):
        ShiftConfig(**kwargs)


def test_presets_and_rates():
    with pytest.raises(ValueError, match="preset"):
        preset_config("fast", "sr")
    with pytest.raises(ValueError, match="task"):
        preset_config("quick", "blur")
    with pytest.raises(ValueError, match="multiple"):
        latent_dim_for_rate(5, 4)
    with pytest.raises(ValueError, match="rate_bits"):
        latent_dim_for_rate(0, 4)
    assert latent_dim_for_rate(4, 4) == 2
    assert latent_dim_for_rate(12, 8) == 4
    assert latent_dim_for_rate(114, 8) == 38
    q = preset_config("quick", "denoise")
    assert (q.levels, q.sigma, q.n_test) == (8, 0.25, 1000)
    paper = preset_config("paper", "denoise")
    assert (paper.lam, paper.epochs, paper.lr_decay_epochs) == (3e-3, 100, (40,))
    assert q.lam == pytest.approx(10 * paper.lam)  # the quick preset's tenfold λ


def test_wrong_image_shape_for_the_task(dn_data, tmp_path):
    cfg = ShiftConfig(task="sr", data=dn_data)
    with pytest.raises(ValueError, match="data"):
        task_images(cfg, "train")
    with pytest.raises(ValueError, match="data"):
        shift_run(cfg, tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_codec_refuses_bad_images(e2e):
    codec = load_shift_codec(e2e[True])
    x = np.full((2, 1, 28, 28), np.nan, dtype=np.float32)
    with pytest.raises(ValueError, match="finite"):
        codec.encode(x)
    with pytest.raises(ValueError, match="shape"):
        codec.encode(np.zeros((2, 3, 32, 32), dtype=np.float32))
    with pytest.raises(TypeError):
        codec.encode(np.zeros((2, 1, 28, 28), dtype=np.int64))


@pytest.mark.parametrize(
    "cfg_all",
    [
        {"kind": "learned-codec", "config": {}},
        {"kind": "shift"},
        {"kind": "shift", "config": {}, "seed": 1e30},
        {"kind": "shift", "config": {}, "seed": -1},
        {"kind": "shift", "config": {}, "seed": True},
        {"kind": "shift", "config": []},
        {"kind": "shift", "config": {"bogus": 1}},
        {"kind": "shift", "config": {"betas": "ab"}},
        {"kind": "shift", "config": {"lr_decay_epochs": [1.5]}},
    ],
)
def test_run_settings_refuse_bad_config(cfg_all):
    with pytest.raises(ValueError, match="run"):
        run_settings(cfg_all, "run")


def test_run_settings_round_trip():
    cfg = ShiftConfig(task="denoise", levels=8, common_randomness=False, betas=(0.4, 0.9))
    assert run_settings({"kind": "shift", "config": cfg.to_dict(), "seed": 3}, "r") == (cfg, 3)


# -- 8. training inputs ------------------------------------------------------------------------


def test_degraded_batch_is_the_steps_degradation():
    cfg = ShiftConfig(task="denoise", stage="restore", unet_width=1)
    model = ShiftModel(cfg, seed=0)
    clean = np.random.default_rng(3).random((8, 3, 32, 32)).astype(np.float32)
    x = degraded_batch(model, clean, 5, 3)
    assert isinstance(x, torch.Tensor) and x.dtype == torch.float32
    expected = cfg.degradation.apply(clean, seed=step_seed(5, 2 * 3 + 1))
    assert np.array_equal(x.numpy(), expected)
    noise = x.numpy() - clean
    assert abs(float(noise.std()) - 20 / 255) < 0.1 * 20 / 255
    for other in (degraded_batch(model, clean, 5, 4), degraded_batch(model, clean, 6, 3)):
        assert not torch.equal(x, other)
    # not the seed of the step's dither generator (step_seed(seed, 2 * step))
    assert not np.array_equal(x.numpy(), cfg.degradation.apply(clean, seed=step_seed(5, 6)))
    sr = ShiftModel(ShiftConfig(task="sr", stage="restore", unet_width=1), seed=0)
    digits = clean[:, :1, :28, :28]
    assert np.array_equal(
        degraded_batch(sr, digits, 5, 3).numpy(), sr.config.degradation.apply(digits)
    )


# -- glossary --------------------------------------------------------------------------------


def test_results_keys_are_in_the_glossary(e2e, branches, baseline):
    """Every key of every stage's results.json is a glossary key (fails until the glossary
    defines the shift keys)."""
    runs = [*e2e.values(), *branches.values(), *baseline.values()]
    unknown = sorted({k for run in runs for k in unknown_keys(_results(run))})
    assert unknown == []
