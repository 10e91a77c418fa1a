"""Seed-003 reproductions (003-table5, -table6, -table9-10, -fig5, -table1-2, -table7-8) and
``rdlab shift`` on tiny synthetic images: a few training steps each, so the file runs in about
a minute; the real quick and paper runs are recorded in docs/reproductions.md."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from rdlab.core.glossary import unknown_keys
from rdlab.experiments import seed003_shift as s3
from rdlab.experiments.registry import ExperimentOptions, run_experiment

TINY = {"epochs": 1, "batch_size": 16, "fresh_critic_steps": 3, "eval_batch": 64}


def _digits(side: int, channels: int, n: int) -> np.ndarray:
    from sklearn.datasets import load_digits

    from rdlab.sources.degradations import resize_bilinear

    d = load_digits().images[:n].astype(np.float32)[:, None] / 16.0
    x = np.clip(resize_bilinear(d, (side, side)), 0, 1)
    return np.repeat(x, channels, axis=1).astype(np.float32)


@pytest.fixture(scope="module")
def sr_data(tmp_path_factory):
    path = tmp_path_factory.mktemp("sr") / "mnist_like.npy"
    np.save(path, _digits(28, 1, 120))
    return str(path)


@pytest.fixture(scope="module")
def dn_data(tmp_path_factory):
    path = tmp_path_factory.mktemp("dn") / "svhn_like.npy"
    np.save(path, _digits(32, 3, 120))
    return str(path)


@pytest.fixture
def tiny_rates(monkeypatch):
    monkeypatch.setitem(s3.RATES, "quick", {"sr": (4, 8), "denoise": (12,)})
    monkeypatch.setitem(s3.BRANCH_RATES, "quick", {"sr": (4,), "denoise": (12,)})
    monkeypatch.setitem(s3.BASELINE_RATES, "quick", {"sr": (4,), "denoise": (12,)})


def _options(data, tmp_path):
    return ExperimentOptions(data=data, settings={**TINY, "runs_dir": str(tmp_path / "runs")})


def _check(result, tmp_path):
    assert unknown_keys(result.to_dict()) == []
    assert json.loads((tmp_path / "out" / "results.json").read_text()) == json.loads(
        json.dumps(result.to_dict())
    )


def test_table5_rows_pair_the_two_settings(sr_data, tmp_path, tiny_rates):
    res = run_experiment("003-table5", tmp_path / "out", preset="quick", seed=0,
                         options=_options(sr_data, tmp_path))  # fmt: skip
    _check(res, tmp_path)
    rows = res["points"]
    assert [r["rate_bound_bits"] for r in rows] == [4.0, 8.0]
    for r in rows:
        cr, ncr = r["common_randomness"], r["no_common_randomness"]
        assert 0 < cr["distortion_input"] < 1 and 0 < ncr["distortion_input"] < 1
        assert cr["rate_bound_bits"] == ncr["rate_bound_bits"] == r["rate_bound_bits"]
        # the paired gain is the difference of the two means (same test images)
        assert r["cr_gain"] == pytest.approx(ncr["distortion_input"] - cr["distortion_input"])
        assert math.isfinite(r["cr_gain_stderr"]) and r["cr_gain_stderr"] > 0
        assert r["cr_better"] == (r["cr_gain"] > 2 * r["cr_gain_stderr"])
    assert rows[0]["paper_distortion_input_cr"] == 0.0515
    assert rows[0]["paper_distortion_input_ncr"] == 0.0558
    assert (tmp_path / "out" / "table5_rd.png").stat().st_size > 0
    # the runs are shared: a second reproduction of the same models trains nothing
    runs = sorted(p.name for p in (tmp_path / "runs" / "quick-seed0" / "sr").iterdir())
    assert runs == ["e2e-R4-cr", "e2e-R4-ncr", "e2e-R8-cr", "e2e-R8-ncr"]
    # Fig. 5 (b)'s grid from those runs: input, ground truth, one row per rate
    done = {s3.e2e_key("sr", r, True): {"path": str(tmp_path / "runs" / "quick-seed0" / "sr" / f"e2e-R{r}-cr")}
            for r in (4, 8)}  # fmt: skip
    name = s3.sample_grid("sr", (4, 8), done, tmp_path / "grid.png", None, k=4)
    from PIL import Image

    width, height = Image.open(tmp_path / name).size  # 4 rows of 4 images
    assert 0.8 < height / width < 1.25


def test_table5_over_training_seeds(sr_data, tmp_path, monkeypatch):
    monkeypatch.setitem(s3.RATES, "quick", {"sr": (4,), "denoise": (12,)})
    opts = ExperimentOptions(
        data=sr_data, settings={**TINY, "runs_dir": str(tmp_path / "runs"), "seeds": "3,1"}
    )
    res = run_experiment("003-table5", tmp_path / "out", preset="quick", seed=0, options=opts)
    _check(res, tmp_path)
    assert res["seeds"] == [3, 1]
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["quick-seed1", "quick-seed3"]
    (row,) = res["seed_points"]
    gains = np.asarray(row["cr_gain_by_seed"])
    cr, ncr = (np.asarray(row[f"distortion_input_{k}_by_seed"]) for k in ("cr", "ncr"))
    np.testing.assert_allclose(gains, ncr - cr, rtol=1e-9)
    assert row["cr_gain_seed_mean"] == pytest.approx(gains.mean())
    assert row["cr_gain_seed_stderr"] == pytest.approx(gains.std(ddof=1) / math.sqrt(2))
    assert row["cr_better_seeds"] == (row["cr_gain_seed_mean"] > 2 * row["cr_gain_seed_stderr"])
    # the points are the first seed's, as one run with --seed 3 would give
    assert res["points"][0]["cr_gain"] == pytest.approx(gains[0])
    for bad in ("1,1", "x", "", "-1"):
        with pytest.raises(ValueError, match="--set seeds"):
            s3.settings("quick", ExperimentOptions(settings={"seeds": bad}))
    with pytest.raises(ValueError, match="only 003-table5 and 003-table6"):
        s3.settings("quick", ExperimentOptions(settings={"seeds": "0,1"}), several_seeds=False)


def test_table1_2_reuses_the_no_cr_model_and_adds_up(sr_data, tmp_path, tiny_rates):
    opts = _options(sr_data, tmp_path)
    run_experiment("003-table5", tmp_path / "t5", preset="quick", seed=0, options=opts)
    before = (
        (tmp_path / "runs" / "quick-seed0" / "sr" / "e2e-R4-ncr" / "model.safetensors")
        .stat()
        .st_mtime_ns
    )
    res = run_experiment("003-table1-2", tmp_path / "out", preset="quick", seed=0, options=opts)
    _check(res, tmp_path)
    after = (
        (tmp_path / "runs" / "quick-seed0" / "sr" / "e2e-R4-ncr" / "model.safetensors")
        .stat()
        .st_mtime_ns
    )
    assert before == after  # reused, not retrained
    (task,) = res["tasks"]
    (row,) = task["points"]
    j = row["joint"]
    total = j["branch_input_mse"] + j["branch_output_mse"] + j["branch_cross_mse"]
    assert row["decomposed_loss"] == pytest.approx(total, rel=1e-12)
    assert row["decomposed_excess"] == pytest.approx(
        (row["decomposed_loss"] - row["end_to_end_loss"]) / row["end_to_end_loss"]
    )
    assert row["paper_values"]["end_to_end_loss"] == 0.0558


def test_table7_8_baseline_on_denoising(dn_data, tmp_path, tiny_rates):
    res = run_experiment("003-table7-8", tmp_path / "out", preset="quick", seed=0,
                         options=_options(dn_data, tmp_path))  # fmt: skip
    _check(res, tmp_path)
    (task,) = res["tasks"]
    assert task["task"] == "denoise" and "svhn_split" not in task  # own data: no SVHN split
    assert {r["common_randomness"] for r in task["points"]} == {True, False}
    for r in task["points"]:
        assert r["joint_better"] == (r["distortion_input"] < r["baseline_distortion_input"])
        assert r["paper_baseline_distortion_input"] == (
            0.0242 if r["common_randomness"] else 0.0252
        )
    assert task["restorer"]["distortion_input"] > 0


def test_unknown_setting_and_two_task_reproductions_refuse_one_task_data(sr_data, tmp_path):
    with pytest.raises(ValueError, match="--set warmup"):
        s3.settings("quick", ExperimentOptions(settings={"warmup": 1}))
    with pytest.raises(ValueError, match="preset"):
        s3.settings("fast", None)
    for name in ("003-fig5", "003-table9-10"):
        with pytest.raises(ValueError, match="both tasks"):
            run_experiment(name, tmp_path / name, preset="quick", seed=0,
                           options=ExperimentOptions(data=sr_data))  # fmt: skip


def test_paper_tables_are_complete():
    assert (
        len(s3.PAPER_INPUT_MSE["sr", True]) == 15
        and len(s3.PAPER_INPUT_MSE["denoise", False]) == 18
    )
    assert set(s3.RATES["paper"]["sr"]) == set(s3.PAPER_INPUT_MSE["sr", True])
    assert set(s3.RATES["paper"]["denoise"]) == set(s3.PAPER_BASELINE_MSE["denoise", True])
    # the paper's own Table 11 rows that add up (E003-8): rates 4, 10 and all denoising rows
    for task, rate in (("sr", 4), ("sr", 10), ("denoise", 12), ("denoise", 90)):
        _e2e, l2, a, b, c, *_ = s3.PAPER_BRANCH[task][rate]
        assert a + b + c == pytest.approx(l2, abs=1.5e-4)


def test_cli_train_and_eval(cli, sr_data, tmp_path):
    run = tmp_path / "run"
    code, out, err = cli("shift", "train", "--task", "sr", "--rate", "4", "--no-common-randomness",
                         "--data", sr_data, "--epochs", "1", "--fresh-critic-steps", "2",
                         "--out", run, "--no-progress", "--json")  # fmt: skip
    assert code == 0, err
    res = json.loads(out)
    (point,) = res["points"]
    assert unknown_keys(res) == []
    assert point["common_randomness"] is False and point["rate_bound_bits"] == 4.0
    assert point["distortion_input"] != point["distortion_ground_truth"]
    code, out2, err = cli("shift", "eval", run, "--json")
    assert code == 0 and json.loads(out2)["points"] == res["points"]
    code, out3, err = cli(
        "shift", "eval", run, "--recompute", "--json", "--fresh-critic-steps", "2"
    )
    assert code == 0
    again = json.loads(out3)["points"][0]
    assert again["distortion_input"] == pytest.approx(point["distortion_input"], rel=1e-9)
    # the codec of the run, through the generic commands
    x = np.load(sr_data)[:5]
    np.save(tmp_path / "x.npy", x)
    assert cli("encode", run, tmp_path / "x.npy", tmp_path / "x.rdl")[0] == 0
    code, _, err = cli("decode", "--model", run, tmp_path / "x.rdl", tmp_path / "y.npy")
    assert code == 0, err
    assert np.load(tmp_path / "y.npy").shape == (5, 1, 28, 28)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--task", "sr"], "--rate is required"),
        (["--task", "sr", "--rate", "5"], "multiple of log2"),
        (["--task", "sr", "--stage", "restore", "--rate", "4"], "codes nothing"),
        (["--task", "sr", "--rate", "4", "--stage", "two-branch"], "needs a base"),
        (["--task", "denoise", "--rate", "12", "--lam", "-1"], "lam"),
    ],
)
def test_cli_bad_arguments(cli, sr_data, tmp_path, argv, message):
    code, _, err = cli("shift", "train", *argv, "--data", sr_data, "--out", tmp_path / "r",
                       "--no-progress")  # fmt: skip
    assert code == 2
    assert message in err


HOSTILE = ["-1", "0", "1e308", "nan", "inf", "1e-320", "9" * 20, "abc", ""]


@pytest.mark.parametrize(
    "option", ["--rate", "--levels", "--lam", "--epochs", "--n-train", "--n-test"]
)
def test_cli_numeric_options_at_hostile_values(capsys, sr_data, tmp_path, option):
    """Every value that cannot make a model is refused in one line, exit 2, before training
    (valid values — a zero λ, say — are skipped: they would train)."""
    import time

    from rdlab.cli.main import main

    valid = {("--lam", "0"), ("--lam", "1e-320"), ("--n-test", "9" * 20), ("--n-train", "9" * 20)}
    for value in HOSTILE:
        if (option, value) in valid:
            continue
        argv = ["shift", "train", "--task", "sr", "--rate", "4", "--data", sr_data,
                "--out", str(tmp_path / "r"), "--no-progress", f"{option}={value}"]  # fmt: skip
        t0 = time.perf_counter()
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse: a value of the wrong type
            code = exc.code
        _, err = capsys.readouterr()
        assert time.perf_counter() - t0 < 5.0, argv
        assert code == 2 and "Traceback" not in err, (argv, err)
        assert not (tmp_path / "r").exists(), argv


def test_the_joint_minimum_of_eq18_lies_below_the_end_to_end_loss():
    """E003-10: for a fixed encoder and an end-to-end output Ỹ that is a function of the
    decoder's input Z, decoders g1, g2 jointly optimal for (18) give
    L2* = E||X - X̂||² + E||X̂ - Ỹ||² / 3 with X̂ = E[X | Z], while the end-to-end loss is
    E||X - Ỹ||² = E||X - X̂||² + E||X̂ - Ỹ||²: (18) trained jointly is *below* it unless X̂ = Ỹ.
    Checked against a numerical minimisation of (18) on a small discrete problem."""
    from scipy.optimize import minimize

    rng = np.random.default_rng(0)
    k, n_per, dim = 5, 40, 3  # 5 values of Z, 40 samples of X each, 3 "pixels"
    x = rng.normal(size=(k, n_per, dim))
    y_tilde = rng.normal(size=(k, dim))  # Ỹ = g(Z)
    x_hat = x.mean(axis=1)

    def l2(v):
        y1, y2 = v[: k * dim].reshape(k, dim), v[k * dim :].reshape(k, dim)
        a = ((x - y1[:, None]) ** 2).sum(-1).mean()
        b = ((y_tilde - y2) ** 2).sum(-1).mean()
        c = ((y1 - y2) ** 2).sum(-1).mean()
        return a + b + c

    numeric = minimize(l2, np.zeros(2 * k * dim), method="L-BFGS-B", tol=1e-14).fun
    a_star = ((x - x_hat[:, None]) ** 2).sum(-1).mean()
    gap = ((x_hat - y_tilde) ** 2).sum(-1).mean()
    end_to_end = ((x - y_tilde[:, None]) ** 2).sum(-1).mean()
    assert numeric == pytest.approx(a_star + gap / 3, rel=1e-7)
    assert end_to_end == pytest.approx(a_star + gap, rel=1e-12)
    assert numeric < end_to_end
