"""Nonlinear transform coding: the density against its definition, real bytes against the
information content, the codec on the protocol, bad input."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from rdlab.coding.codec import decoder_for, measure_codec  # noqa: E402
from rdlab.coding.container import BitstreamError  # noqa: E402
from rdlab.models.ntc import (  # noqa: E402
    NTCConfig,
    NTCModel,
    NTCTables,
    candidate_seed,
    factorized_density,
    load_ntc_codec,
    ntc_config,
    ntc_objective,
    ntc_run,
    train_ntc,
)
from rdlab.models.ntc.density import TAIL_MASS  # noqa: E402
from rdlab.sources.base import GaussianSource  # noqa: E402


@pytest.fixture(scope="module")
def density():
    torch.manual_seed(0)
    d = factorized_density(3)
    with torch.no_grad():  # move it away from its initialisation: different shapes per channel
        for p in d.parameters():
            p.add_(0.3 * torch.randn(p.shape))
    return d


def test_cdf_is_monotone_and_likelihoods_sum_to_one(density):
    grid = torch.linspace(-60, 60, 4001)[:, None].expand(-1, 3)
    with torch.no_grad():
        f = density.cdf(grid)
        assert torch.all(f[1:] >= f[:-1]) and f.min() >= 0 and f.max() <= 1
        ints = torch.arange(-300, 301, dtype=torch.float32)[:, None].expand(-1, 3)
        total = density.likelihood(ints).double().sum(0)
    assert torch.allclose(total, torch.ones(3, dtype=torch.float64), atol=1e-5), total


def test_likelihood_gradients_match_finite_differences(density):
    d = factorized_density(2, (3, 3)).double()
    y = torch.randn(5, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda v: d.likelihood(v), (y,))
    names = [n for n, _ in d.named_parameters()]

    def of_params(*ps):
        return torch.func.functional_call(d, dict(zip(names, ps, strict=True)), (y.detach(),))

    start = tuple(p.detach().clone().requires_grad_() for p in d.parameters())
    assert torch.autograd.gradcheck(of_params, start)


def test_coding_tables_are_the_bin_masses_with_the_tails_folded(density):
    offsets, pmfs = density.pmf_tables()
    for c, (lo, p) in enumerate(zip(offsets, pmfs, strict=True)):
        assert p.sum() == pytest.approx(1.0, abs=1e-12) and np.all(p > 0)
        k = torch.arange(lo + 1, lo + p.size - 1, dtype=torch.float32)
        inner = density.likelihood(k[:, None].expand(-1, 3)).detach().double().numpy()[:, c]
        assert np.allclose(p[1:-1], inner, rtol=1e-4, atol=1e-7)
        # the tables cover all but the tail mass on each side
        with torch.no_grad():
            below = density.cdf(torch.full((1, 3), lo - 0.5))[0, c].item()
        assert below < TAIL_MASS * 1.01


SOURCE = GaussianSource(np.array([4.0, 2.0, 1.0, 0.5]))


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("ntc") / "run"
    cfg = ntc_config(
        "quick", distortion_weight=1.0, latent_dim=4, width=32, steps=600, n_train=4000, n_eval=500
    )
    return ntc_run(SOURCE, cfg, out, seed=0), out


def test_bytes_match_the_information_content(run):
    """tensorflow-compression's standard: within 1 % + a few bytes, and never below."""
    res, out = run
    codec = load_ntc_codec(out)
    x = np.random.default_rng(1).normal(size=(4000, 4)) * np.sqrt([4, 2, 1, 0.5])
    report = measure_codec(codec, x, seed=0)
    payload_bytes = report.rate_payload_bits * report.n_samples / 8
    info_bytes = report.rate_information_bits * report.n_samples / 8
    assert info_bytes <= payload_bytes <= 1.01 * info_bytes + 8, (payload_bytes, info_bytes)
    assert res.rate_information_bits <= res.rate_payload_bits <= res.rate_bits


def test_an_operational_code_is_above_r_of_d(run):
    res, _ = run
    assert res.closed_form_rate_bits is not None
    assert res.rate_information_bits > res.closed_form_rate_bits - 0.05
    assert res.distortion_measure == "squared_error" and res.active_latents >= 1


def test_the_stored_tables_decode_bit_for_bit(run, tmp_path):
    _, out = run
    codec = load_ntc_codec(out)
    x = np.random.default_rng(2).normal(size=(50, 4))
    data = codec.encode(x, seed=0)
    again = load_ntc_codec(out)
    assert again.identity() == codec.identity() and again.encode(x, seed=0) == data
    assert decoder_for(data, again) is again
    assert np.array_equal(again.decode(data), codec.decode(data))
    from safetensors.numpy import load_file

    tables = NTCTables.from_tensors(load_file(out / "model.safetensors"))
    assert len(tables.offsets) == 4 and codec.coding_model == tables.coding_model(1)


def test_same_seed_same_model_file(run, tmp_path):
    res, out = run
    cfg = NTCConfig.from_dict(res.config.to_dict())
    ntc_run(SOURCE, cfg, tmp_path / "again", seed=0)
    assert (tmp_path / "again" / "model.safetensors").read_bytes() == (
        out / "model.safetensors"
    ).read_bytes()


def test_bad_input(run, tmp_path):
    _, out = run
    codec = load_ntc_codec(out)
    for bad, match in (
        (np.zeros((3, 5)), "shape"),
        (np.full((3, 4), np.nan), "finite"),
    ):
        with pytest.raises(ValueError, match=match):
            codec.encode(bad)
    with pytest.raises(ValueError, match="distortion_weight"):
        NTCConfig(distortion_weight=-1.0)
    with pytest.raises(ValueError, match="quantization"):
        NTCConfig(distortion_weight=1.0, quantization="soft")
    with pytest.raises(ValueError, match="rate_warmup"):
        NTCConfig(distortion_weight=1.0, rate_warmup=2.0)
    for filters in ((3,) * 100, (), (3, 1000)):
        with pytest.raises(ValueError, match="filters"):
            NTCConfig(distortion_weight=1.0, filters=filters)
    with pytest.raises(ValueError, match="unknown NTC settings"):
        NTCConfig.from_dict({"distortion_weight": 1, "colour": 2})
    with pytest.raises(ValueError, match="divisible by 4"):
        NTCModel(ntc_config("quick", distortion_weight=1.0), (1, 6, 6), seed=0)
    # a stream of another model is refused
    other = tmp_path / "other"
    ntc_run(SOURCE, ntc_config("quick", distortion_weight=1.0, latent_dim=4, width=32, steps=5,
            n_train=500, n_eval=100), other, seed=1)  # fmt: skip
    data = load_ntc_codec(other).encode(np.zeros((2, 4)))
    with pytest.raises(BitstreamError, match="written by"):
        codec.decode(data)
    broken = tmp_path / "broken"
    broken.mkdir()
    for name in ("config.json",):
        (broken / name).write_bytes((out / name).read_bytes())
    (broken / "model.safetensors").write_bytes(b"not a model")
    with pytest.raises(ValueError, match="safetensors"):
        load_ntc_codec(broken)


def _model_of(path, cfg, shape):
    """An NTC model with the weights of the checkpoint or model file ``path``."""
    from rdlab.core.io import read_safetensors

    tensors, _ = read_safetensors(path, framework="pt")
    model = NTCModel(cfg, shape, seed=0)
    model.load_state_tensors({k: v for k, v in tensors.items() if k.split(".")[0] in
                              ("analysis", "synthesis", "density")})  # fmt: skip
    model.train(False)
    return model


def test_the_objective_is_the_codes_information_plus_lambda_distortion(run):
    """ntc_objective (the density's likelihoods of rounded latents) against the codec's own
    measurement (quantised coding tables, range-coded): the same rate + λ · distortion to 1 %."""
    res, out = run
    model = _model_of(out / "model.safetensors", res.config, (4,))
    x = np.random.default_rng(3).normal(size=(3000, 4)) * np.sqrt([4, 2, 1, 0.5])
    report = measure_codec(load_ntc_codec(out), x, seed=0)
    expected = report.rate_information_bits + res.config.distortion_weight * report.distortion
    assert ntc_objective(model, x, batch_size=700) == pytest.approx(expected, rel=0.01)
    assert ntc_objective(model, x, batch_size=700) == pytest.approx(
        ntc_objective(model, x), rel=1e-6
    )
    for bad in (np.zeros((0, 4)), np.zeros((5, 3)), np.zeros(4)):
        with pytest.raises(ValueError, match="at least one sample"):
            ntc_objective(model, bad)
    with pytest.raises(ValueError, match="batch_size"):
        ntc_objective(model, x, batch_size=0)


def test_candidates_keep_the_least_objective(tmp_path):
    """Three candidates: each one's objective is that of its own checkpoint on the selection
    samples, the model kept is the least one's, and candidate 0 is the plain training."""
    from rdlab.core.io import read_safetensors
    from rdlab.estimators.nerd import split_samples
    from rdlab.models.ntc import SELECTION_SAMPLES

    kw = dict(distortion_weight=1.0, latent_dim=4, width=16, steps=150, n_train=3000, n_eval=200)
    cfg = ntc_config("quick", candidates=3, **kw)
    res = ntc_run(SOURCE, cfg, tmp_path / "three", seed=4)
    objectives = res.candidate_objective_bits
    assert len(objectives) == 3 and res.candidate_chosen == int(np.argmin(objectives))
    assert len(set(objectives)) == 3  # different seeds, different models
    x_sel = split_samples(SOURCE, cfg, 4)[0][:SELECTION_SAMPLES]
    for j, name in enumerate(("train", "train-1", "train-2")):
        model = _model_of(tmp_path / "three" / f"{name}.safetensors", cfg, (4,))
        assert ntc_objective(model, x_sel) == pytest.approx(objectives[j], rel=1e-9)
    kept = read_safetensors(tmp_path / "three" / "model.safetensors", framework="pt")[0]
    chosen = ("train", "train-1", "train-2")[res.candidate_chosen]
    trained = read_safetensors(tmp_path / "three" / f"{chosen}.safetensors", framework="pt")[0]
    for key in ("analysis.0.weight", "synthesis.4.bias"):
        assert torch.equal(kept[key], trained[key])
    plain = ntc_run(SOURCE, ntc_config("quick", **kw), tmp_path / "one", seed=4)
    assert plain.candidate_objective_bits == () and plain.candidate_chosen == 0
    first = read_safetensors(tmp_path / "one" / "train.safetensors", framework="pt")[0]
    again = read_safetensors(tmp_path / "three" / "train.safetensors", framework="pt")[0]
    assert all(torch.equal(first[k], again[k]) for k in first)
    # a resumed run reads the finished candidates back and keeps the same model
    resumed = ntc_run(SOURCE, cfg, tmp_path / "three", seed=4, resume=True)
    assert resumed.candidate_objective_bits == objectives
    assert resumed.candidate_chosen == res.candidate_chosen
    assert candidate_seed(4, 0) == 4 and len({candidate_seed(4, j) for j in range(3)}) == 3
    for bad, error in ((0, ValueError), (65, ValueError), (1.5, TypeError)):
        with pytest.raises(error, match="candidates"):
            NTCConfig(distortion_weight=1.0, candidates=bad)


def test_gaussian_reproduction_points_record_their_candidates(tmp_path):
    """The NTC points of the Gaussian reproductions: the best of the candidates, their
    objectives recorded under glossary keys, the scalar code beside them."""
    from rdlab.core.glossary import unknown_keys
    from rdlab.experiments.ntc import ntc_gaussian_points

    (point,) = ntc_gaussian_points(tmp_path, "gaussian20", [2.0], preset="quick", seed=0,
                                   steps=30, width=16, candidates=2)  # fmt: skip
    assert unknown_keys(point) == []
    assert len(point["candidate_objective_bits"]) == 2
    assert point["candidate_chosen"] == int(np.argmin(point["candidate_objective_bits"]))
    assert point["ecsq_rate_bits"] >= point["closed_form_rate_bits"] >= 0
    assert (tmp_path / "ntc-R2" / "train-1.safetensors").is_file()


def test_command_line_options_reach_the_model(tmp_path, capsys):
    import json

    from rdlab.cli.main import main

    argv = ["ntc", "train", "--source", "gaussian", "--variances", "4,2", "--lam", "1",
            "--latent-dim", "2", "--width", "8", "--steps", "20", "--n-train", "500",
            "--n-eval", "50", "--candidates", "2", "--rate-warmup", "0.05",
            "--out", str(tmp_path / "r"), "--no-progress", "--json"]  # fmt: skip
    assert main(argv) == 0
    (row,) = json.loads(capsys.readouterr().out)["models"]
    assert row["config"]["candidates"] == 2 and row["config"]["rate_warmup"] == 0.05
    assert len(row["candidate_objective_bits"]) == 2
    for flag, value in (("--candidates", "0"), ("--rate-warmup", "1.5")):
        bad = [*argv[:-4], flag, value, "--out", str(tmp_path / "bad"), "--json"]
        assert main(bad) == 2
        assert flag.lstrip("-").replace("-", "_") in capsys.readouterr().err


def test_command_line_sweep_resumes_and_codes(tmp_path, capsys, monkeypatch):
    import json

    from rdlab.cli.main import main

    monkeypatch.chdir(tmp_path)
    argv = ["ntc", "train", "--source", "gaussian", "--variances", "4,2,1,0.5", "--lam", "0.5,2",
            "--latent-dim", "4", "--width", "16", "--steps", "60", "--out", "runs",
            "--no-progress", "--json"]  # fmt: skip
    assert main(argv) == 0
    first = json.loads(capsys.readouterr().out)
    assert [m["distortion_weight"] for m in first["models"]] == [0.5, 2.0]
    assert not any(m["reused"] for m in first["models"])
    assert main(argv) == 0
    again = json.loads(capsys.readouterr().out)
    assert all(m["reused"] for m in again["models"])
    assert [m["rate_bits"] for m in again["models"]] == [m["rate_bits"] for m in first["models"]]
    np.save("x.npy", np.random.default_rng(0).normal(size=(20, 4)))
    assert main(["encode", "runs/lam-2", "x.npy", "x.rdl"]) == 0
    assert main(["decode", "--model", "runs/lam-2", "x.rdl", "y.npy"]) == 0
    assert np.load("y.npy").shape == (20, 4)
    capsys.readouterr()
    np.save("nan.npy", np.full((30, 4), np.nan))
    for bad in (
        [*argv[:6], "--lam", "-1", "--out", "r2"],
        ["ntc", "train", "--data", "nan.npy", "--lam", "1", "--out", "r3"],
        ["decode", "--model", "runs/lam-0.5", "x.rdl", "z.npy"],  # another model's stream
    ):
        assert main(bad) == 2, bad
        assert capsys.readouterr().err.startswith("rdlab: error:")


def test_blocks_tile_and_untile():
    from rdlab.models.ntc import from_blocks, to_blocks

    imgs = np.random.default_rng(0).random((9, 1, 2, 3))
    tiled = to_blocks(imgs, 4)  # the ninth image is dropped
    assert tiled.shape == (2, 1, 4, 6)
    assert np.array_equal(tiled[0, 0, :2, 3:], imgs[1, 0]) and np.array_equal(
        tiled[0, 0, 2:, :3], imgs[2, 0]
    )
    assert np.array_equal(from_blocks(tiled, 4, (1, 2, 3)), imgs[:8])
    vecs = np.arange(12.0).reshape(6, 2)
    assert np.array_equal(from_blocks(to_blocks(vecs, 3), 3, (2,)), vecs)
    with pytest.raises(ValueError, match="square"):
        to_blocks(imgs, 2)


def test_a_block_code_reports_per_sample(tmp_path):
    from rdlab.models.ntc import to_blocks

    cfg = ntc_config(
        "quick", distortion_weight=1.0, latent_dim=4, width=16, steps=40, n_train=1000,
        n_eval=101, block_size=2,
    )  # fmt: skip
    res = ntc_run(SOURCE, cfg, tmp_path / "b", seed=0)
    codec = load_ntc_codec(tmp_path / "b")
    assert codec.input_shape == (8,) and res.n_eval == 100  # 101 held out: 50 blocks
    from rdlab.estimators.nerd import split_samples

    held = to_blocks(split_samples(SOURCE, cfg, 0)[1], 2)
    report = measure_codec(codec, held, seed=0)
    assert res.rate_bits == pytest.approx(report.rate_bits / 2)
    assert res.distortion == pytest.approx(report.distortion / 2)  # squared error per vector


def test_convolutional_transforms_on_images(tmp_path):
    """digits (8x8) one image at a time and in blocks of 4 (16x16): real bytes both ways."""
    for m in (1, 4):
        cfg = ntc_config(
            "quick", distortion_weight=100.0, latent_dim=3, width=8, steps=20, n_train=400,
            n_eval=64, block_size=m,
        )  # fmt: skip
        res = ntc_run("digits", cfg, tmp_path / f"m{m}", seed=0)
        codec = load_ntc_codec(tmp_path / f"m{m}")
        side = 8 * int(m**0.5)
        assert (
            codec.input_shape == (1, side, side) and res.distortion_measure == "mse_per_component"
        )
        x = np.random.default_rng(0).random((3, 1, side, side)).astype(np.float32)
        assert codec.decode(codec.encode(x)).shape == (3, 1, side, side)
        assert 0 < res.distortion < 1 and res.rate_information_bits <= res.rate_payload_bits


def test_zero_latents_decode_to_the_mean_image():
    """The convolutional synthesis starts at the training mean image (its per-pixel offset), so
    the zero-rate code is the best constant image, not a grey level."""
    rng = np.random.default_rng(0)
    x = (rng.random((64, 1, 8, 8)) < np.linspace(0.05, 0.9, 64).reshape(1, 1, 8, 8)).astype(
        np.float32
    )
    cfg = ntc_config("quick", distortion_weight=1.0, latent_dim=2, width=4, steps=1,
                     lr=1e-12, lr_final=1e-12)  # fmt: skip
    model = NTCModel(cfg, (1, 8, 8), seed=0)
    train_ntc(model, x, seed=0)
    with torch.no_grad():
        out = model.synthesis_net(torch.zeros((1, *model.latent_shape()))).numpy()[0]
    np.testing.assert_allclose(out, x.mean(0), atol=1e-6)
    assert ((x - out) ** 2).mean() < 0.9 * ((x - x.mean()) ** 2).mean()  # below the grey level


def test_fig13_block_and_one_shot_points(tmp_path, monkeypatch):
    from rdlab.experiments import ExperimentOptions, run_experiment
    from rdlab.experiments import ntc as exp

    tiny = {
        "data": "digits",
        "weights": [300.0],
        "ntc": {"latent_dim": 2, "width": 8, "steps": 10, "batch_size": 16, "n_eval": 40},
    }
    monkeypatch.setitem(exp.FIG13_SETTINGS, "quick", tiny)
    res = run_experiment("002-fig13", tmp_path / "f13", options=ExperimentOptions(jobs=1))
    assert [p["block_size"] for p in res["points"]] == [1, 4]
    assert (tmp_path / "f13" / "fig13_blocks.png").stat().st_size > 0
    assert (tmp_path / "f13" / "M4" / "lam-300" / "model.safetensors").exists()
    for p in res["points"]:
        assert 0 < p["distortion"] < 1 and p["rate_information_bits"] <= p["rate_payload_bits"]
