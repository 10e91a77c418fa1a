"""``rdlab audit``: R(D) bracketed at a codec's points, and the codec's excess rate."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from rdlab.core.glossary import unknown_keys
from rdlab.experiments.audit import CodecPoint, audit, read_points, run_point
from rdlab.sources.base import GaussianSource
from rdlab.theory.gaussian import vector_gaussian_rate_distortion


def test_closed_form_bracket_is_exact_and_the_excess_is_the_offset():
    src = GaussianSource([4.0, 2.0, 1.0])
    pts = [
        CodecPoint("a", float(vector_gaussian_rate_distortion(d, src)) + 1.0, d)
        for d in (0.5, 1.5, 3.0)
    ]
    res = audit(src, pts, with_rcc=True, n_rcc_samples=100)
    for p in res.points:
        assert p.rd_lower_bits == p.rd_upper_bits
        assert p.excess_rate_bits == pytest.approx(1.0) == p.excess_rate_max_bits
        assert p.rcc_rate_bound_bits > p.rd_upper_bits + 5
        assert p.rd_upper_bits <= p.rcc["rate_payload_bits"] <= p.rcc_rate_bound_bits
    assert unknown_keys(res.to_dict()) == []
    # beyond D_max the rate is zero
    far = audit(src, [CodecPoint("far", 0.5, 10.0)])
    assert far.points[0].rd_upper_bits == 0.0 and far.points[0].excess_rate_bits == 0.5


def test_on_samples_the_bracket_holds_the_curve_and_finds_the_offset(monkeypatch):
    """Codec points at R(D) + 1 bit on Gaussian samples: the audit reports about 1 bit."""
    pytest.importorskip("torch")
    from rdlab.estimators import lower_bound as lb
    from rdlab.estimators import nerd
    from rdlab.sources.user_data import DataSource

    monkeypatch.setitem(
        nerd.NERD_PRESETS,
        "quick",
        dataclasses.replace(nerd.NERD_PRESETS["quick"], eval_samples=8000),
    )
    monkeypatch.setitem(
        lb.LOWER_BOUND_PRESETS,
        "quick",
        dataclasses.replace(lb.LOWER_BOUND_PRESETS["quick"], steps=200, eval_batch_size=512),
    )
    var = np.array([2.0, 1.0, 0.5])
    x = np.random.default_rng(0).normal(size=(12000, 3)) * np.sqrt(var)
    d = 0.9
    r = float(vector_gaussian_rate_distortion(d, var))
    res = audit(DataSource.from_array(x, name="g3"), [CodecPoint("codec", r + 1.0, d)])
    p = res.points[0]
    # the bracket holds R(D): the lower bound below it, NERD's estimate above it (within 2 s.e.)
    assert p.rd_lower_bits <= r + 2 * p.rd_lower_stderr_bits
    assert p.rd_upper_bits >= r - 2 * p.rd_upper_stderr_bits
    assert p.rd_upper_bits - r < 0.5  # quick preset
    # so the true excess, 1 bit, lies in the reported range
    assert p.excess_rate_bits - 2 * p.excess_rate_stderr_bits <= 1.0
    assert 1.0 <= p.excess_rate_max_bits + 2 * p.rd_lower_stderr_bits
    assert p.slope < 0 and unknown_keys(res.to_dict()) == []
    assert res.train_precision == "float32"  # vectors: the MLP generator trains in float32


def test_nerd_trains_in_bfloat16_on_images_unless_told(monkeypatch):
    """Images default to bfloat16 training passes, vectors to float32; the choice is recorded,
    a closed form records none, and a wrong value is refused before any work."""
    from rdlab.experiments import audit as audit_module
    from rdlab.sources.user_data import DataSource

    seen = []

    def rows(source, ds, d_max, preset, train_precision, seed, progress):
        seen.append(train_precision)
        return [
            {
                "rd_upper_bits": 1.0,
                "rd_lower_bits": 0.5,
                "rd_upper_stderr_bits": 0.1,
                "rd_lower_stderr_bits": 0.1,
                "slope": -1.0,
                "reference": "stub",
            }
            for _ in ds
        ]

    monkeypatch.setattr(audit_module, "_estimated_rows", rows)
    images = DataSource.from_array(np.random.default_rng(0).random((50, 1, 8, 8)), name="im")
    vectors = DataSource.from_array(np.random.default_rng(0).random((50, 3)), name="vec")
    point = [CodecPoint("p", 2.0, 0.1)]
    assert audit(images, point).train_precision == "bfloat16"
    assert audit(vectors, point).train_precision == "float32"
    assert audit(images, point, train_precision="float32").train_precision == "float32"
    assert seen == ["bfloat16", "float32", "float32"]
    assert audit(GaussianSource([1.0]), point).train_precision is None
    with pytest.raises(ValueError, match="train_precision must be one of"):
        audit(images, point, train_precision="half")


def test_points_from_files_and_runs(tmp_path):
    (tmp_path / "p.csv").write_text("label,rate_bits,distortion\nfast,2,0.5\nsmall,1,1.5\n")
    pts = read_points(tmp_path / "p.csv")
    assert [(p.label, p.rate_bits, p.distortion) for p in pts] == [
        ("fast", 2.0, 0.5),
        ("small", 1.0, 1.5),
    ]
    point = {"rate_bits": 3, "distortion": 0.01, "distortion_measure": "mse_per_component"}
    (tmp_path / "p.json").write_text(json.dumps({"points": [point]}))
    (j,) = read_points(tmp_path / "p.json")
    assert j.label == "point 1" and j.distortion_measure == "mse_per_component"
    for text, message in (
        ("rate_bits,distortion\nx,1\n", "must be numbers"),
        ("rate,distortion\n1,2\n", "needs rate_bits and distortion"),
        ("rate_bits,distortion\n-1,2\n", ">= 0"),
        ("rate_bits,distortion\n", "holds no points"),
    ):
        (tmp_path / "bad.csv").write_text(text)
        with pytest.raises(ValueError, match=message):
            read_points(tmp_path / "bad.csv")
    run = tmp_path / "run"
    run.mkdir()
    results = {"rate_bits": 12.0, "distortion": 0.03, "distortion_measure": "mse_per_component"}
    (run / "results.json").write_text(json.dumps(results))
    rp = run_point(run)
    assert (rp.label, rp.rate_bits, rp.distortion_measure) == ("run", 12.0, "mse_per_component")
    # per-component distortions are converted to squared error per sample (64 pixels)
    src = GaussianSource(np.ones(64))
    res = audit(src, [rp])
    assert res.points[0].distortion == pytest.approx(0.03 * 64)


def test_cli(cli, tmp_path):
    (tmp_path / "p.csv").write_text("label,rate_bits,distortion\nA,3,2\nB,2,4\n")
    code, out, err = cli(
        "audit", "--source", "gaussian", "--variances", "4,2,1", "--points", tmp_path / "p.csv",
        "--json", "--out", tmp_path / "run", "--with-rcc",
    )  # fmt: skip
    assert code == 0, err
    obj = json.loads(out)
    assert [p["label"] for p in obj["points"]] == ["A", "B"]
    assert (tmp_path / "run" / "audit.png").stat().st_size > 0
    assert json.loads((tmp_path / "run" / "results.json").read_text()) == obj
    code, out, err = cli("audit", "--source", "gaussian20", "--points", tmp_path / "p.csv")
    assert code == 0 and "excess over R(D)" in out
    code, _, err = cli("audit", "--source", "gaussian20")
    assert code == 2 and "--points" in err
    code, _, err = cli("audit", "--data", tmp_path / "p.csv", "--points", tmp_path / "p.csv")
    assert code == 2 and "must be a .npy array or a folder" in err
