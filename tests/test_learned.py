"""Learned compressors: training modes, resume, rates, bitstreams and bad input (digits, tiny)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from rdlab.cli.main import main  # noqa: E402
from rdlab.coding.container import BitstreamError  # noqa: E402
from rdlab.models.learned import (  # noqa: E402  # noqa: E402
    LearnedConfig,
    LearnedModel,
    evaluate_model,
    learned_run,
    load_learned_codec,
    load_model,
    load_split,
    preset_config,
)


def encode_images(run, images, *, seed=0):
    """Images to a bitstream with a finished run's codec."""
    return load_learned_codec(run).encode(images, seed=seed)


def decode_stream(run, data):
    """A bitstream to images with a finished run's codec."""
    return load_learned_codec(run).decode(data)


TINY = {
    "epochs": 2,
    "n_train": 256,
    "n_test": 64,
    "batch_size": 32,
    "fresh_critic_steps": 5,
    "lr_decay_epochs": (1,),
}


def tiny(**kw) -> LearnedConfig:
    return preset_config("quick", "digits", **{**TINY, **kw})


@pytest.fixture(scope="module")
def base_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("lc") / "base"
    res = learned_run(tiny(quantizer="uq", lam=0.01), out, seed=0).to_dict()
    return out, res


def test_end_to_end_run_writes_everything(base_run):
    out, res = base_run
    for name in ("config.json", "results.json", "model.safetensors", "train.safetensors"):
        assert (out / name).exists(), name
    assert (out / "samples.png").exists()
    assert 0 < res["distortion"] < 0.2
    assert res["rate_bound_bits"] == pytest.approx(3 * np.log2(3))
    assert np.isfinite(res["perception_w1"]) and np.isfinite(res["perception_w1_own"])
    # the empirical entropy never exceeds the bound; the real stream pays for its header
    assert res["rate_entropy_bits"] <= res["rate_bound_bits"] + 1e-9
    assert res["rate_bits"] > res["rate_payload_bits"]


def test_real_bytes_against_information_content(base_run):
    """8 x payload bytes >= information under the coding model - 64 bits, <= 1 % + 64 bytes."""
    _, res = base_run
    n = res["n_test"]
    info = res["rate_information_bits"] * n
    payload = res["rate_payload_bits"] * n
    assert payload >= info - 64
    assert payload <= 1.01 * info + 64 * 8


@pytest.mark.parametrize("gradient", ["soft", "identity"])
def test_training_lowers_the_mse(tmp_path, gradient):
    cfg = tiny(quantizer="dq", epochs=4, lr_coder=1e-2, n_critic=1, gradient=gradient)
    codec = LearnedModel(cfg, seed=3)
    x = torch.from_numpy(load_split("digits", "test", n=64).astype(np.float32) / 255)
    before = evaluate_model(codec, x_test=x, fresh_critic_steps=0).distortion
    res = learned_run(cfg, tmp_path / "r", seed=3)
    assert res.evaluation.distortion < 0.8 * before


def test_resume_is_bit_identical(tmp_path):
    cfg = tiny(quantizer="uq", lam=0.02, epochs=3)
    learned_run(cfg, tmp_path / "full", seed=5, evaluate=False)
    part = learned_run(cfg, tmp_path / "cut", seed=5, stop_after=11)
    assert (part.finished, part.steps, part.total_steps, part.evaluation) == (False, 11, 24, None)
    learned_run(cfg, tmp_path / "cut", seed=5, resume=True, evaluate=False)
    from safetensors.torch import load_file

    a = load_file(str(tmp_path / "full" / "model.safetensors"))
    b = load_file(str(tmp_path / "cut" / "model.safetensors"))
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    # the per-epoch means are the same too, though the cut fell in the middle of epoch 2
    history = [_train_state(tmp_path / name)["history"] for name in ("full", "cut")]
    assert history[0] == history[1]
    assert [h["epoch"] for h in history[0]] == [1, 2, 3]
    assert all(0 < h["train_mse"] < 1 and h["train_w1"] is not None for h in history[0])


def _train_state(run) -> dict:
    from rdlab.core.rundir import RunDir

    return RunDir(run).load_checkpoint("train")[1]


def test_history_holds_epoch_means(tmp_path):
    """Each history entry is the mean over the epoch's coder (critic) steps, not one batch."""
    from rdlab.models.learned import TrainState

    st = TrainState(step=9, sums={"mse": 0.3, "n_mse": 3, "w1": 0.0, "n_w1": 0})
    st.log_epoch(1)
    assert st.history[0]["epoch"] == 1
    assert st.history[0]["train_mse"] == pytest.approx(0.1) and np.isnan(st.history[0]["train_w1"])
    assert st.sums == {"mse": 0.0, "n_mse": 0, "w1": 0.0, "n_w1": 0}
    res = learned_run(tiny(quantizer="dq", epochs=2), tmp_path / "r", seed=1, evaluate=False)
    assert res.finished and res.evaluation is None
    state = _train_state(tmp_path / "r")
    assert state["sums"] == {"mse": 0.0, "n_mse": 0, "w1": 0.0, "n_w1": 0}
    assert [h["train_w1"] for h in state["history"]] == [None, None]  # no critic at lam = 0
    assert all(0 < h["train_mse"] < 0.2 for h in state["history"])


def test_perception_warmup_schedule():
    """lam + warmup_lam * (E - e) / E for e < E, then lam (the official code's annealing)."""
    cfg = tiny(warmup_lam=5e-4, warmup_epochs=12)
    assert [cfg.lam_at(e) for e in (0, 6, 11, 12, 29)] == pytest.approx(
        [5e-4, 2.5e-4, 5e-4 / 12, 0.0, 0.0]
    )
    assert cfg.critic_trains_at(11) and not cfg.critic_trains_at(12)
    assert not cfg.uses_critic
    with_lam = tiny(lam=0.01, warmup_lam=5e-4, warmup_epochs=4)
    assert with_lam.lam_at(0) == pytest.approx(0.0105) and with_lam.lam_at(4) == 0.01
    assert all(with_lam.critic_trains_at(e) for e in range(8))


def test_warmup_trains_the_critic_only_while_it_lasts():
    from rdlab.models.learned import steps_per_epoch, train_model

    cfg = tiny(quantizer="dq", epochs=3, warmup_lam=0.05, warmup_epochs=1)
    x = torch.from_numpy(load_split("digits", "train", n=cfg.n_train).astype(np.float32) / 255)
    per_epoch = steps_per_epoch(cfg, cfg.n_train)

    def critic_of(codec):
        return [p.detach().clone() for p in codec.critic.parameters()]

    warm, cold = LearnedModel(cfg, seed=2), LearnedModel(tiny(quantizer="dq", epochs=3), seed=2)
    start = critic_of(warm)
    state = train_model(warm, x, seed=2, stop_after=per_epoch)
    train_model(cold, x, seed=2, stop_after=per_epoch)
    after_warmup = critic_of(warm)
    assert not all(torch.equal(a, b) for a, b in zip(start, after_warmup, strict=True))
    # the perception term moved the coder: it differs from the same run without warm-up
    assert not all(
        torch.equal(a, b)
        for a, b in zip(warm.encoder.parameters(), cold.encoder.parameters(), strict=True)
    )
    assert all(torch.equal(a, b) for a, b in zip(start, critic_of(cold), strict=True))
    train_model(warm, x, seed=2, state=state)
    assert state.step == 3 * per_epoch
    assert all(torch.equal(a, b) for a, b in zip(after_warmup, critic_of(warm), strict=True))


def test_soft_epochs_change_only_the_first_epochs(tmp_path):
    """soft_epochs = 1 trains epoch 0 on soft decoder inputs; a run with it ends elsewhere."""
    from safetensors.torch import load_file

    cfg = tiny(quantizer="dq", epochs=2)
    for name, soft in (("hard", 0), ("soft", 1)):
        learned_run(
            LearnedConfig.from_dict({**cfg.to_dict(), "soft_epochs": soft}),
            tmp_path / name,
            seed=2,
            evaluate=False,
        )
    a = load_file(str(tmp_path / "hard" / "model.safetensors"))
    b = load_file(str(tmp_path / "soft" / "model.safetensors"))
    assert any(not torch.equal(a[k], b[k]) for k in a if k.startswith("encoder."))
    with pytest.raises(ValueError, match="soft_epochs"):
        tiny(soft_epochs=-1)


@pytest.mark.parametrize("quantizer", ["uq", "nq"])
def test_tracking_the_test_mse_leaves_training_unchanged(tmp_path, quantizer):
    """Per-epoch test MSEs are logged, the weights are those of an untracked run, and the
    last epoch's value is the final distortion (same dither, same weights)."""
    cfg = tiny(quantizer=quantizer, lam=0.02, epochs=3)
    plain = learned_run(cfg, tmp_path / "plain", seed=2).to_dict()
    part = learned_run(cfg, tmp_path / "cut", seed=2, track_test=True, stop_after=13)
    assert not part.finished
    res = learned_run(cfg, tmp_path / "cut", seed=2, track_test=True, resume=True).to_dict()
    from safetensors.torch import load_file

    a = load_file(str(tmp_path / "plain" / "model.safetensors"))
    b = load_file(str(tmp_path / "cut" / "model.safetensors"))
    for k in a:
        assert torch.equal(a[k], b[k]), k
    curve = [h["test_mse"] for h in res["history"]]
    assert len(curve) == 3 and all(0 < v < 0.2 for v in curve)
    assert curve[-1] == res["distortion"] == plain["distortion"]
    assert "test_mse" not in plain["history"][0]
    assert [h["train_mse"] for h in res["history"]] == [h["train_mse"] for h in plain["history"]]


def test_universal_mode_freezes_the_encoder(base_run, tmp_path):
    base, _ = base_run
    cfg = tiny(quantizer="uq", lam=0.03, mode="universal")
    res = learned_run(cfg, tmp_path / "u", base=base, seed=1).to_dict()
    from safetensors.torch import load_file

    a = load_file(str(base / "model.safetensors"))
    b = load_file(str(tmp_path / "u" / "model.safetensors"))
    enc = [k for k in a if k.startswith("encoder.")]
    assert any("running_mean" in k for k in enc)  # BatchNorm buffers are covered
    for k in enc:
        assert torch.equal(a[k], b[k]), k
    assert not torch.equal(a["decoder.0.weight"], b["decoder.0.weight"])
    assert res["mode"] == "universal" and res["base"]["lam"] == 0.01


def test_refinement_mode(base_run, tmp_path):
    base, _ = base_run
    cfg = tiny(quantizer="uq", mode="refinement", refine_latent_dim=2, refine_levels=4)
    res = learned_run(cfg, tmp_path / "r", base=base, seed=2).to_dict()
    assert res["rate_bound_bits"] == pytest.approx(3 * np.log2(3) + 2 * np.log2(4))
    codec, model, _ = load_model(tmp_path / "r")
    assert model.levels == (3, 3, 3, 4, 4)
    b = load_model(base)[0]
    for k, v in b.encoder.state_dict().items():
        assert torch.equal(v, codec.encoder.state_dict()[k])


def test_encode_decode_round_trip_and_wrong_model(base_run, tmp_path):
    base, _ = base_run
    x = load_split("digits", "test", n=20)
    data = encode_images(base, x, seed=9)
    y = decode_stream(base, data)
    assert y.shape == (20, 1, 8, 8) and y.dtype == np.float32
    # the decoder's output equals the training-path reconstruction with the same dither
    codec, _, _ = load_model(base)
    from rdlab.coding.quantizers import dither

    u = torch.from_numpy(dither(20, codec.config.levels_per_dim, 9))
    with torch.no_grad():
        ref = codec.reconstruct(torch.from_numpy(x.astype(np.float32) / 255), u).numpy()
    assert np.array_equal(y, ref)
    other = tmp_path / "other"
    learned_run(tiny(quantizer="uq", epochs=1), other, seed=4, evaluate=False)
    with pytest.raises(BitstreamError, match="written by model"):
        decode_stream(other, data)
    with pytest.raises(BitstreamError):
        decode_stream(base, data[:-3])


def test_cli_train_eval_encode_decode(base_run, tmp_path, capsys):
    base, res = base_run
    assert main(["lc", "eval", str(base), "--json"]) == 0
    obj = json.loads(capsys.readouterr().out)
    p = obj["points"][0]
    for key in ("rate_bits", "rate_bound_bits", "rate_entropy_bits", "distortion"):
        assert p[key] == pytest.approx(res[key])
    assert "perception_w1" in p
    x = load_split("digits", "test", n=10)
    np.save(tmp_path / "x.npy", x)
    assert (
        main(
            ["lc", "encode", "--model", str(base), str(tmp_path / "x.npy"), str(tmp_path / "x.rdl")]
        )
        == 0
    )
    assert (
        main(
            ["lc", "decode", "--model", str(base), str(tmp_path / "x.rdl"), str(tmp_path / "y.npy")]
        )
        == 0
    )
    assert np.load(tmp_path / "y.npy").shape == (10, 1, 8, 8)
    capsys.readouterr()
    # never clobber without --force
    assert (
        main(
            ["lc", "decode", "--model", str(base), str(tmp_path / "x.rdl"), str(tmp_path / "y.npy")]
        )
        == 2
    )
    assert "--force" in capsys.readouterr().err
    (tmp_path / "bad.rdl").write_bytes(b"\x89RDL garbage")
    assert (
        main(
            [
                "lc",
                "decode",
                "--model",
                str(base),
                str(tmp_path / "bad.rdl"),
                str(tmp_path / "z.npy"),
            ]
        )
        == 2
    )
    assert "rdlab: error:" in capsys.readouterr().err
    out = tmp_path / "cli-run"
    assert (
        main(
            [
                "lc",
                "train",
                "--data",
                "digits",
                "--epochs",
                "1",
                "--n-train",
                "128",
                "--n-test",
                "32",
                "--fresh-critic-steps",
                "2",
                "--warmup-lam",
                "0.01",
                "--warmup-epochs",
                "1",
                "--sigma",
                "0.5",
                "--lr-coder",
                "3e-3",
                "--soft-epochs",
                "1",
                "--gradient",
                "identity",
                "--track-test",
                "--no-progress",
                "--out",
                str(out),
                "--json",
            ]
        )
        == 0
    )
    distortion = json.loads(capsys.readouterr().out)["points"][0]["distortion"]
    assert distortion > 0
    history = json.loads((out / "results.json").read_text())["history"]
    assert [h["test_mse"] for h in history] == [distortion]
    saved = json.loads((out / "config.json").read_text())["config"]
    assert (saved["warmup_lam"], saved["warmup_epochs"]) == (0.01, 1)
    assert (saved["sigma"], saved["lr_coder"], saved["soft_epochs"]) == (0.5, 3e-3, 1)
    assert saved["gradient"] == "identity"
    bad = ["lc", "train", "--warmup-lam", "0.01", "--out", str(tmp_path / "bad-run")]
    assert main(bad) == 2
    assert "warmup_epochs" in capsys.readouterr().err
    for flag, word in (("--sigma", "sigma"), ("--lr-coder", "lr_coder")):
        assert main(["lc", "train", flag, "0", "--out", str(tmp_path / "bad-run")]) == 2
        assert word in capsys.readouterr().err


@pytest.mark.parametrize(
    "kw, exc, word",
    [
        ({"lam": -0.1}, ValueError, "lam"),
        ({"levels": 1}, ValueError, "levels"),
        ({"latent_dim": 0}, ValueError, "latent_dim"),
        ({"quantizer": "zz"}, ValueError, "quantizer"),
        ({"gradient": "ste"}, ValueError, "gradient"),
        ({"mode": "joint"}, ValueError, "mode"),
        ({"mode": "refinement"}, ValueError, "refine_latent_dim"),
        ({"refine_levels": 3}, ValueError, "refinement"),
        ({"lam": float("nan")}, ValueError, "lam"),
        ({"warmup_lam": -1e-3, "warmup_epochs": 2}, ValueError, "warmup_lam"),
        ({"warmup_lam": 1e-3}, ValueError, "warmup_epochs"),
        ({"warmup_epochs": -1}, ValueError, "warmup_epochs"),
    ],
)
def test_bad_config(kw, exc, word):
    with pytest.raises(exc, match=word):
        tiny(**kw)


def test_unknown_data_set():
    with pytest.raises(ValueError, match="data must be one of"):
        LearnedConfig(data="cifar")
    with pytest.raises(ValueError, match="preset"):
        preset_config("slow", "digits")


def test_bad_base_runs(base_run, tmp_path):
    base, _ = base_run
    with pytest.raises(ValueError, match="needs a base run"):
        learned_run(tiny(mode="universal"), tmp_path / "a")
    with pytest.raises(ValueError, match="levels"):
        learned_run(tiny(mode="universal", levels=4), tmp_path / "b", base=base)
    with pytest.raises(ValueError, match="data"):
        learned_run(
            preset_config("quick", "mnist", mode="universal", **TINY), tmp_path / "c", base=base
        )
    with pytest.raises(FileNotFoundError, match=r"base run .*nowhere is not a run directory"):
        learned_run(tiny(mode="universal"), tmp_path / "d", base=tmp_path / "nowhere")
    # a corrupt model file is a clear error
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "config.json").write_text((base / "config.json").read_text())
    (bad / "model.safetensors").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="safetensors"):
        load_model(bad)
    with pytest.raises(FileNotFoundError, match="no finished model"):
        (bad / "model.safetensors").unlink()
        load_model(bad)


def test_bad_images(base_run):
    base, _ = base_run
    with pytest.raises(ValueError, match="shape"):
        encode_images(base, np.zeros((3, 1, 28, 28), dtype=np.uint8))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        encode_images(base, np.full((3, 1, 8, 8), 2.0, dtype=np.float32))
    with pytest.raises(TypeError, match="uint8"):
        encode_images(base, np.zeros((3, 1, 8, 8), dtype=np.int64))
    with pytest.raises(ValueError, match="finite"):
        encode_images(base, np.full((3, 1, 8, 8), np.nan, dtype=np.float32))


def test_existing_run_is_not_clobbered(base_run):
    base, _ = base_run
    with pytest.raises(FileExistsError, match="--resume"):
        learned_run(tiny(quantizer="uq", lam=0.01), base, seed=0)


RUNS_FILES = sorted((Path(__file__).parents[1] / "benchmarks" / "runs").glob("*.txt"))


def test_runs_files_are_shipped():
    names = {p.name for p in RUNS_FILES}
    assert {"dq_variants.txt", "dq_gradient.txt", "table1_rates.txt"} <= names


@pytest.mark.parametrize("runs_file", RUNS_FILES, ids=lambda p: p.name)
def test_runs_files_hold_valid_training_flags(runs_file):
    """Every line of a runs file of benchmarks/parallel_runs.sh is a valid `lc train` run."""
    from rdlab.cli.lc import train_config
    from rdlab.cli.main import build_parser

    names = []
    for line in runs_file.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, *flags = line.split()
        names.append(name)
        args = build_parser().parse_args(["lc", "train", *flags, "--out", name])
        cfg = train_config(args)
        assert isinstance(cfg, LearnedConfig), line
    assert names and len(set(names)) == len(names), "run names must be unique"
