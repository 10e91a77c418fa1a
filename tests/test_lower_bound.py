"""The sample lower bound on R(D) (Csiszár's dual, Yang & Mandt 2022): the inner supremum is
found, the bound stays under the closed form of Gaussians and is informative."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from rdlab.estimators.lower_bound import (  # noqa: E402
    LOWER_BOUND_PRESETS,
    LowerBoundConfig,
    log_sup_mixture,
    rd_lower_bound,
)
from rdlab.sources.base import GaussianSource  # noqa: E402
from rdlab.sources.user_data import DataSource  # noqa: E402
from rdlab.theory.gaussian import reverse_water_filling_at_rate  # noqa: E402


def test_mean_shift_finds_the_supremum_of_a_mixture():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(-2, 0.3, 20), rng.normal(1.5, 0.5, 30)])[:, None]
    log_w = rng.normal(size=50)
    lam = 3.0
    val, y, restarts = log_sup_mixture(torch.tensor(x), torch.tensor(log_w), lam, 200)
    grid = np.linspace(-4, 4, 20001)[:, None]
    mix = np.log(np.exp(log_w[None, :] - lam * (grid - x.T) ** 2).sum(1) / 50)
    assert restarts == 51
    assert float(val) == pytest.approx(mix.max(), abs=1e-6)
    assert float(y[0]) == pytest.approx(grid[np.argmax(mix), 0], abs=1e-3)
    top, _, n = log_sup_mixture(torch.tensor(x), torch.tensor(log_w), lam, 200, top=5)
    assert n == 5 and float(top) <= float(val) + 1e-12


@pytest.mark.parametrize(
    ("variances", "rate_bits", "rotate"), [((1.0, 0.5), 2.0, False), ((2.0, 1.0, 0.3), 1.5, True)]
)
def test_bound_is_under_the_gaussian_curve_and_informative(variances, rate_bits, rotate):
    var = np.asarray(variances)
    cov = np.diag(var)
    if rotate:
        q, _ = np.linalg.qr(np.random.default_rng(3).normal(size=(var.size, var.size)))
        cov = q @ cov @ q.T
    src = GaussianSource(cov)
    wf = reverse_water_filling_at_rate(src.eigenvalues, rate_bits)
    lb = rd_lower_bound(src, slope=wf.slope, seed=1, config=LOWER_BOUND_PRESETS["quick"])
    lower = lb.rate_lower_bits(wf.distortion)
    # valid: never above R(D) by more than 2 standard errors
    assert lower <= rate_bits + 2 * lb.intercept_stderr_bits
    assert lb.rate_lower_confidence_bits(wf.distortion) <= rate_bits
    # informative: within 1 bit (quick preset; docs/benchmarks.md has the default preset)
    assert lower >= rate_bits - 1.0
    # a line: lower at a larger distortion, never below zero
    assert lb.rate_lower_bits(wf.distortion * 1.5) < lower
    assert lb.rate_lower_bits(1e6) == 0.0
    assert lb.slope == wf.slope and lb.distortion_measure == "squared_error"


def test_a_batch_of_k_samples_cannot_certify_much_more_than_log2_k():
    src = GaussianSource([1.0, 1.0, 1.0, 1.0])
    cfg = LowerBoundConfig(
        steps=100, batch_size=64, n_train=2000, n_eval_batches=4, eval_batch_size=64
    )
    wf = reverse_water_filling_at_rate(src.eigenvalues, 12.0)  # far beyond log2(64) = 6 bits
    lb = rd_lower_bound(src, slope=wf.slope, seed=0, config=cfg)
    assert lb.rate_lower_bits(wf.distortion) <= math.log2(64) + 1.0 + 2 * lb.intercept_stderr_bits


def test_finite_data_are_split_and_bad_input_is_refused():
    x = np.random.default_rng(0).normal(size=(3000, 2)) * [1.0, 0.7]
    cfg = LowerBoundConfig(steps=50, batch_size=128, n_eval_batches=4, eval_batch_size=256)
    lb = rd_lower_bound(DataSource.from_array(x), slope=-2.0, seed=0, config=cfg)
    assert lb.n_eval == 4 * 256 and np.isfinite(lb.intercept_bits)
    with pytest.raises(ValueError, match="slope must be < 0"):
        rd_lower_bound(DataSource.from_array(x), slope=0.5, seed=0, config=cfg)
    # a small set gets smaller batches; too small a set is refused
    small = rd_lower_bound(DataSource.from_array(x[:300]), slope=-2.0, seed=0, config=cfg)
    assert small.batch_size == 37 and small.n_eval == 4 * 37  # 150 held out, 4 batches
    with pytest.raises(ValueError, match="held-out samples"):
        rd_lower_bound(DataSource.from_array(x[:40]), slope=-2.0, seed=0, config=cfg)
    with pytest.raises(ValueError, match="batch_size"):
        LowerBoundConfig(batch_size=1)
    d = lb.to_dict()
    assert d["intercept_bits"] == lb.intercept_bits and "slope" in d


def test_the_best_line_is_chosen_on_training_batches():
    from rdlab.estimators.lower_bound import best_lower_bound

    src = GaussianSource([1.0, 0.5])
    cfg = LowerBoundConfig(steps=150, batch_size=128, n_eval_batches=4, eval_batch_size=256)
    wf = reverse_water_filling_at_rate(src.eigenvalues, 2.0)
    slopes = [wf.slope, wf.slope / 2, wf.slope * 4]
    best = best_lower_bound(src, wf.distortion, slopes=slopes, seed=0, config=cfg)
    assert best.slope in slopes
    lines = [rd_lower_bound(src, slope=s, seed=0, config=cfg) for s in slopes]
    promised = [lb.train_intercept_bits + lb.slope * wf.distortion for lb in lines]
    assert best.slope == slopes[int(np.argmax(promised))]
    assert best.rate_lower_bits(wf.distortion) <= 2.0 + 2 * best.intercept_stderr_bits
    with pytest.raises(ValueError, match="at least one slope"):
        best_lower_bound(src, 1.0, slopes=[], seed=0, config=cfg)


def test_lower_bound_slopes_grid():
    from rdlab.estimators.lower_bound import lower_bound_slopes

    # one slope: itself, a half and a quarter of it
    np.testing.assert_allclose(lower_bound_slopes([-0.4]), [-0.4, -0.2, -0.1], rtol=1e-12)
    # several: from the steepest to a quarter of the shallowest, neighbours at most 2x apart
    grid = lower_bound_slopes([-0.33, -0.53, -0.41])
    assert grid[0] == pytest.approx(-0.53) and grid[-1] == pytest.approx(-0.33 / 4)
    ratios = np.asarray(grid[:-1]) / np.asarray(grid[1:])
    assert len(grid) == 4 and np.all(ratios > 1.0) and np.all(ratios <= 2.0 + 1e-12)
    for bad in ([], [0.1], [-0.1, float("nan")]):
        with pytest.raises(ValueError, match="slopes must be finite and < 0"):
            lower_bound_slopes(bad)
    with pytest.raises(ValueError, match="shallow_factor"):
        lower_bound_slopes([-1.0], shallow_factor=0.0)


def test_cli_prints_the_line(capsys):
    import json

    from rdlab.cli.main import main
    from rdlab.core.glossary import unknown_keys

    argv = ["rd", "lower", "--source", "gaussian", "--variances", "1,0.5", "--slope=-2"]
    assert main([*argv, "--distortion", "0.2,0.4", "--json"]) == 0
    obj = json.loads(capsys.readouterr().out)
    assert unknown_keys(obj) == []
    r = [p["rate_bits"] for p in obj["points"]]
    assert r[0] - r[1] == pytest.approx(0.4) and obj["intercept_stderr_bits"] > 0
    assert main([*argv[:-1], "--slope=0.5"]) == 2
