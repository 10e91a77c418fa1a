"""Seed 001 learned-compressor reproductions (001-table1, 001-fig4, 001-table2-3, 001-fig6).

Every test shrinks the quick preset to a few training steps on scikit-learn's digits, so the
file runs in well under a minute; the real quick runs are recorded in docs/reproductions.md.
"""

from __future__ import annotations

import json
import math

import pytest

from rdlab.experiments import seed001_learned as sl
from rdlab.experiments.registry import ExperimentOptions, get_experiment, run_experiment

TINY = {
    "data": "digits",
    "overrides": {
        "epochs": 2,
        "lr_decay_epochs": (1,),
        "n_train": 256,
        "n_test": 64,
        "fresh_critic_steps": 5,
    },
    "table1_rates": ((4.75, 3, 3), (6.0, 3, 4)),
    "quantizers": ("dq", "uq", "nq"),
    "fig4_rates": ((4.75, 3, 3),),
    "trials": 2,
    "lambdas": {
        "digits": {
            "e_fig4": (0.0, 0.05),
            "u_fig4": (0.0, 0.05),
            "base_lambda": 0.05,
            "e_fig6": (0.0, 0.05),
            "r_fig6": (0.0, 0.05),
        }
    },
}


@pytest.fixture
def tiny(monkeypatch):
    monkeypatch.setitem(sl.SETTINGS, "quick", TINY)
    monkeypatch.delenv("RDLAB_LC_DATA", raising=False)
    monkeypatch.delenv("RDLAB_DATA", raising=False)


def _finite(x) -> bool:
    return isinstance(x, int | float) and math.isfinite(x)


def _rows_finite(rows, *, fresh=True, own=None):
    for r in rows:
        assert _finite(r["distortion"]) and 0 < r["distortion"] < 1
        assert _finite(r["rate_bits"]) and _finite(r["rate_bound_bits"])
        if fresh:
            assert _finite(r["perception_w1"])
        if own is not None or r["lam"] > 0:
            assert _finite(r["perception_w1_own"]) == (r["lam"] > 0)


def test_registered():
    for name in ("001-table1", "001-fig4", "001-table2-3", "001-fig6"):
        assert get_experiment(name).fn is not None


def test_table1(tiny, tmp_path):
    import torch

    threads = torch.get_num_threads()
    res = run_experiment("001-table1", tmp_path, preset="quick")
    assert torch.get_num_threads() == threads  # restored
    assert (tmp_path / "table1.png").stat().st_size > 0
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["experiment"] == "001-table1" and saved["data"] == "digits"
    assert [e["rate_bits"] for e in res["table"]] == [4.75, 6.0]
    for e in res["table"]:
        for q in ("dq", "uq", "nq"):
            assert _finite(e[f"mse_{q}"])
            assert e[f"paper_mse_{q}"] == sl.PAPER_TABLE1[e["rate_bits"]][q]
        assert isinstance(e["order_dq_le_uq_le_nq"], bool)
    assert len(res["models"]) == 6
    _rows_finite(res["models"], fresh=False)
    assert all(r["perception_w1"] is None for r in res["models"])  # MSE only
    for r in res["models"]:
        assert (tmp_path / "models" / r["name"] / "results.json").exists()


def test_fig4_universal_uses_base_encoder_and_resumes(tiny, tmp_path):
    from rdlab.models.learned import load_model

    res = run_experiment("001-fig4", tmp_path, preset="quick")
    assert (tmp_path / "fig4.png").exists()
    (c,) = res["curves"]
    assert [r["lam"] for r in c["end_to_end"]] == [0.0, 0.05]
    assert [r["lam"] for r in c["universal"]] == [0.0, 0.05]
    assert all(r["mode"] == "universal" for r in c["universal"])
    assert c["base"] == "R4.75/e2e-lam0.05"
    _rows_finite(c["end_to_end"] + c["universal"])
    assert len(c["universal_minus_end_to_end"]) == 2
    # every universal model's encoder is the base's, untouched
    base, _, _ = load_model(tmp_path / "models" / c["base"])
    for r in c["universal"]:
        codec, _, _ = load_model(tmp_path / "models" / r["name"])
        for k, v in base.encoder.state_dict().items():
            assert codec.encoder.state_dict()[k].equal(v), k
    assert not any(r["reused"] for r in c["end_to_end"] + c["universal"])

    # again into the same directory: every sub-run is reused, numbers unchanged
    with pytest.raises(FileExistsError):
        run_experiment("001-fig4", tmp_path, preset="quick")
    again = run_experiment("001-fig4", tmp_path, preset="quick", overwrite=True)
    (c2,) = again["curves"]
    assert all(r["reused"] for r in c2["end_to_end"] + c2["universal"])
    for a, b in zip(c["universal"], c2["universal"], strict=True):
        assert a["distortion"] == b["distortion"]
        assert a["perception_w1"] == b["perception_w1"]


def test_interrupted_and_stale_subruns(tiny, tmp_path, monkeypatch):
    from rdlab.models.learned import learned_run

    s = sl.settings("quick")
    # an interrupted base run at the path the reproduction uses: it is resumed, and ends as an
    # uninterrupted one would
    cfg = sl.make_config(s, latent_dim=3, levels=3, lam=0.0)
    learned_run(cfg, tmp_path / "models" / "base-e2e-d3L3-lam0", stop_after=3)
    assert not (tmp_path / "models" / "base-e2e-d3L3-lam0" / "results.json").exists()
    res = run_experiment("001-fig6", tmp_path, preset="quick")
    assert not res["base"]["reused"]
    full = learned_run(cfg, tmp_path / "uninterrupted").to_dict()
    assert res["base"]["distortion"] == full["distortion"]

    # other settings: the sub-runs are retrained, and so are the models built on the base
    monkeypatch.setitem(TINY, "overrides", {**TINY["overrides"], "epochs": 3})
    again = run_experiment("001-fig6", tmp_path, preset="quick", overwrite=True)
    assert not again["base"]["reused"]
    assert not any(r["reused"] for r in again["refinement"] + again["end_to_end"])


def test_fig6(tiny, tmp_path):
    res = run_experiment("001-fig6", tmp_path, preset="quick")
    assert (tmp_path / "fig6.png").exists()
    pc = res["parameter_counts"]
    assert pc["base_plus_refining"] == pc["base_encoder"] + pc["refining_encoder"]
    assert (
        abs(pc["end_to_end_encoder"] - pc["base_plus_refining"]) < 0.05 * pc["base_plus_refining"]
    )
    assert pc["end_to_end_encoder_width"] > 1
    assert [r["lam"] for r in res["refinement"]] == [0.0, 0.05]
    assert all(r["mode"] == "refinement" for r in res["refinement"])
    assert all(r["rate_bound_bits"] == pytest.approx(2 * math.log2(27)) for r in res["refinement"])
    assert all(r["latent_dim"] == 6 for r in res["end_to_end"])
    _rows_finite(res["refinement"] + res["end_to_end"] + [res["base"]])


def test_table2_3(tiny, tmp_path):
    res = run_experiment("001-table2-3", tmp_path, preset="quick", seed=3)
    assert (tmp_path / "table2_3.png").exists()
    assert res["seeds"] == [3, 4] and res["trials"] == 2
    assert [e["lam"] for e in res["table"]] == [0.0, 0.05]
    for e in res["table"]:
        for key in ("mse", "w1"):
            st = e[key]
            assert st["n"] == 2 and st["min"] <= st["average"] <= st["max"]
        assert e["w1_own"]["n"] == (2 if e["lam"] > 0 else 0)
    for tr in res["per_trial"]:
        assert tr["base"]["lam"] == 0.05
        _rows_finite(tr["universal"])
    assert res["paper_tables2_3"]["lambda_i"][0] == 0.0


def test_data_option(monkeypatch):
    s = sl.settings("quick", ExperimentOptions(data="mnist"))
    assert s["data"] == "mnist" and s["lam"]["base_lambda"] == 0.015 and s["threads"] is None
    assert sl.make_config(s).n_train == 10000
    for preset, bad in (("quick", "cifar"), ("paper", "digits"), ("paper", "fmnist")):
        with pytest.raises(ValueError, match="--data must be one of"):
            sl.settings(preset, ExperimentOptions(data=bad))
    p = sl.settings("paper")
    assert p["data"] == "mnist" and p["lam"]["u_fig4"] == sl.PAPER_LAMBDAS["u_fig4"]
    assert sl.make_config(p).epochs == 30
    assert p["device"] == "cpu"
    with pytest.raises(ValueError, match="device"):
        ExperimentOptions(device="gpu")


def test_environment_variables_are_refused_not_ignored(monkeypatch):
    pairs = (("RDLAB_LC_DATA", "--data"), ("RDLAB_DEVICE", "--device"), ("RDLAB_JOBS", "--jobs"))
    for var, flag in pairs:
        monkeypatch.setenv(var, "x")
        with pytest.raises(ValueError, match=f"{var} is no longer read; pass {flag}"):
            sl.settings("quick")
        monkeypatch.delenv(var)


def test_set_changes_trials_and_training_settings(tmp_path):
    s = sl.settings("quick", ExperimentOptions(settings={"trials": 3, "epochs": 2}))
    assert s["trials"] == 3 and sl.make_config(s).epochs == 2
    with pytest.raises(ValueError, match="--set colour: unknown setting"):
        sl.settings("quick", ExperimentOptions(settings={"colour": 1}))
    with pytest.raises(ValueError, match="epochs"):
        sl.settings("quick", ExperimentOptions(settings={"epochs": 0}))
    with pytest.raises(ValueError, match="does not take the options data"):
        run_experiment("001-fig1", tmp_path / "x", options=ExperimentOptions(data="mnist"))


def test_svhn_settings_are_tables_8_and_9(monkeypatch, tmp_path):
    svhn = ExperimentOptions(data="svhn")
    p = sl.settings("paper", svhn)
    assert p["fig4_rates"] == ((30.0, 10, 8), (45.0, 15, 8), (60.0, 20, 8))
    assert all(r == d * math.log2(levels) for r, d, levels in p["fig4_rates"])
    assert p["lam"]["base_lambda"] == 0.002 and len(p["lam"]["e_fig4"]) == 8
    assert p["lam"]["u_fig4"] == (0.0, 0.0003, 0.0005, 0.0008, 0.001, 0.0012, 0.0017)
    cfg = sl.make_config(p, latent_dim=10, levels=8)
    assert (cfg.epochs, cfg.lr_coder, cfg.sigma) == (80, 1e-4, 0.25)
    q = sl.settings("quick", svhn)
    assert q["fig4_rates"] == ((30.0, 10, 8),) and sl.make_config(q).epochs == 8
    for name in ("001-table1", "001-table2-3", "001-fig6"):
        with pytest.raises(ValueError, match="MNIST experiment"):
            run_experiment(name, tmp_path / name, preset="quick", options=svhn)


def test_fig4_on_svhn(tiny, monkeypatch, tmp_path):
    """001-fig4 with --data svhn trains the SVHN architecture (random 32x32 images)."""
    import numpy as np

    rng = np.random.default_rng(0)
    (tmp_path / "data" / "svhn").mkdir(parents=True)
    np.savez(
        tmp_path / "data" / "svhn" / "svhn_test.npz",
        X=rng.integers(0, 256, (100, 32, 32, 3), dtype=np.uint8),
        y=rng.integers(1, 11, 100, dtype=np.uint8),
    )
    svhn = ExperimentOptions(data="svhn", data_dir=str(tmp_path / "data"))
    monkeypatch.setitem(
        sl.SVHN_SETTINGS,
        "quick",
        {
            "fig4_rates": ((30.0, 10, 8),),
            "lambdas": {"e_fig4": (0.0,), "u_fig4": (0.0,), "base_lambda": 0.002},
        },
    )
    with pytest.warns(UserWarning, match="train_32x32"):
        res = run_experiment("001-fig4", tmp_path / "out", preset="quick", options=svhn)
    (c,) = res["curves"]
    assert (c["rate_bits"], c["latent_dim"], c["levels"], c["base"]) == (
        30.0,
        10,
        8,
        "R30/e2e-lam0.002",
    )
    assert [r["lam"] for r in c["end_to_end"]] == [0.0]  # the base is not in e_fig4 here
    assert res["data"] == "svhn"
    _rows_finite(c["end_to_end"] + c["universal"])


def test_parallel_sub_runs_match_sequential(tiny, tmp_path):
    """--jobs 2: the same models and numbers as one after another (universal models wait for
    their base); a second call reuses every sub-run."""
    one = run_experiment("001-fig4", tmp_path / "one", preset="quick")
    two_workers = ExperimentOptions(jobs=2)
    two = run_experiment("001-fig4", tmp_path / "two", preset="quick", options=two_workers)
    assert two["settings"]["jobs"] == 2 and one["settings"]["jobs"] == 1
    (c1,), (c2,) = one["curves"], two["curves"]
    for key in ("end_to_end", "universal"):
        for a, b in zip(c1[key], c2[key], strict=True):
            assert a["name"] == b["name"] and not b["reused"]
            assert a["distortion"] == b["distortion"]
            assert a["perception_w1"] == b["perception_w1"]
    again = run_experiment(
        "001-fig4", tmp_path / "two", preset="quick", overwrite=True, options=two_workers
    )
    assert all(r["reused"] for r in again["curves"][0]["universal"])


def test_sub_run_errors(tiny, tmp_path):
    s = sl.settings("quick", ExperimentOptions(jobs=2))
    base = sl.SubRun("base", sl.make_config(s, latent_dim=3, levels=3), 0)
    # a universal model on a base of another latent dimension fails inside its worker
    wrong = sl.SubRun(
        "u", sl.make_config(s, latent_dim=4, levels=3, mode="universal"), 0, base="base"
    )
    with pytest.raises(RuntimeError, match="job 'u' failed"):
        sl._run_all(tmp_path, s, [base, wrong], "test")
