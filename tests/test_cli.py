"""The ``rdlab`` command, run in-process through ``main(argv) -> int``."""

import json

import numpy as np
import pytest

from rdlab.cli.main import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_rd_gaussian_table_and_json(capsys):
    code, out, _ = run(capsys, "rd", "gaussian", "--var", "4,2,1", "--points", "5")
    assert code == 0 and "rate [bits]" in out and "slope" in out
    code, out, _ = run(capsys, "rd", "gaussian", "--var", "1", "--distortion", "0.25", "--json")
    obj = json.loads(out)
    assert obj["points"][0]["rate_bits"] == pytest.approx(1.0)
    assert obj["points"][0]["distortion"] == pytest.approx(0.25)
    code, out, _ = run(
        capsys, "rd", "gaussian", "--var", "2", "--dim", "3", "--rate", "3", "--json"
    )
    # 3 i.i.d. copies of variance 2 at 3 bits: D = 3 * 2 * 2^-2
    assert json.loads(out)["points"][0]["distortion"] == pytest.approx(1.5)


def test_rd_bernoulli_closed_form_json(capsys):
    code, out, _ = run(capsys, "rd", "bernoulli", "--p", "0.5", "--distortion", "0.11", "--json")
    assert code == 0
    assert json.loads(out)["points"][0]["rate_bits"] == pytest.approx(0.5000840418, abs=1e-9)


def test_plot_written_and_not_clobbered(capsys, tmp_path):
    png = tmp_path / "rd.png"
    code, _, _ = run(capsys, "rd", "gaussian", "--var", "1", "--plot", str(png))
    assert code == 0 and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    code, _, err = run(capsys, "rd", "gaussian", "--var", "1", "--plot", str(png))
    assert code == 2 and "--force" in err
    code, _, _ = run(capsys, "rd", "gaussian", "--var", "1", "--plot", str(png), "--force")
    assert code == 0


def test_sample_writes_npy_and_refuses_overwrite(capsys, tmp_path):
    out = tmp_path / "x.npy"
    code, _, _ = run(
        capsys,
        "sample",
        "--source",
        "gaussian",
        "--variances",
        "4,2,1",
        "--n",
        "7",
        "--seed",
        "3",
        str(out),
    )
    assert code == 0
    x = np.load(out)
    assert x.shape == (7, 3)
    code, _, err = run(
        capsys, "sample", "--source", "gaussian20", "--n", "5", "--seed", "3", str(out)
    )
    assert code == 2 and "exists" in err
    np.testing.assert_array_equal(np.load(out), x)
    code, _, _ = run(
        capsys, "sample", "--source", "gaussian20", "--n", "5", "--seed", "3", str(out), "--force"
    )
    assert code == 0 and np.load(out).shape == (5, 20)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["rd", "gaussian", "--var", "-1"], "variances must be > 0"),
        (["rd", "gaussian", "--var", "1", "--distortion", "-0.5"], "distortion must be > 0"),
        (["rd", "gaussian", "--var", "a,b"], "comma-separated"),
        (["rd", "bernoulli", "--p", "1.5"], "p must be in"),
        (["sample", "--source", "nope", "--n", "3", "--seed", "0", "x.npy"], "unknown source"),
        (
            ["sample", "--source", "gaussian20", "--n", "0", "--seed", "0", "x.npy"],
            "--n must be >= 1",
        ),
        (
            ["sample", "--source", "gaussian20", "--n", "3", "--seed", "-1", "x.npy"],
            "seed must be >= 0",
        ),
        (["rd", "discrete", "--pmf", "missing.npy", "--distortion", "missing.npy"], "no such file"),
    ],
)
def test_bad_input_is_one_line_exit_2(capsys, argv, message):
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert message in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_usage_error_exits_2(capsys):
    with pytest.raises(SystemExit) as info:
        main(["rd", "gaussian", "--points"])
    assert info.value.code == 2


def test_rd_bernoulli_blahut_arimoto_matches_closed_form(capsys):
    code, out, _ = run(
        capsys,
        "rd",
        "bernoulli",
        "--p",
        "0.2",
        "--method",
        "blahut-arimoto",
        "--distortion",
        "0.1",
        "--json",
    )
    assert code == 0
    pt = json.loads(out)["points"][0]
    # h(0.2) - h(0.1), within the certified gap
    assert pt["rate_bits"] == pytest.approx(0.7219280948873623 - 0.4689955935892812, abs=1e-6)
    assert pt["gap_bits"] <= 1e-6


def test_rd_discrete_from_text_and_npy(capsys, tmp_path):
    pmf = tmp_path / "p.txt"
    pmf.write_text("# a fair coin\n0.5 0.5\n")
    dist = tmp_path / "d.npy"
    np.save(dist, np.array([[0.0, 1.0], [1.0, 0.0]]))
    code, out, _ = run(
        capsys,
        "rd",
        "discrete",
        "--pmf",
        str(pmf),
        "--distortion",
        str(dist),
        "--points",
        "6",
        "--json",
    )
    assert code == 0
    pts = json.loads(out)["points"]
    assert len(pts) >= 2 and all("gap_bits" in p and "slope" in p for p in pts)
    rates = [p["rate_bits"] for p in sorted(pts, key=lambda p: p["distortion"])]
    assert rates == sorted(rates, reverse=True)
    code, _, err = run(
        capsys, "rd", "discrete", "--pmf", str(pmf), "--distortion", str(dist), "--slope", "1"
    )
    assert code == 2 and "slope" in err
    bad = tmp_path / "bad.npy"
    np.save(bad, np.ones((3, 2)))
    code, _, err = run(capsys, "rd", "discrete", "--pmf", str(pmf), "--distortion", str(bad))
    assert code == 2 and "row" in err


def test_demo_runs_and_refuses_to_clobber(capsys, tmp_path, monkeypatch):
    import dataclasses

    from rdlab.estimators import lower_bound, nerd

    # the digits bracket with shorter trainings than the demo's (the test checks the story)
    monkeypatch.setitem(
        nerd.NERD_PRESETS, "quick", dataclasses.replace(nerd.NERD_PRESETS["quick"], steps=200)
    )
    monkeypatch.setitem(
        lower_bound.LOWER_BOUND_PRESETS,
        "quick",
        dataclasses.replace(lower_bound.LOWER_BOUND_PRESETS["quick"], steps=100),
    )
    out = tmp_path / "demo"
    code, stdout, _ = run(capsys, "demo", "--out", str(out), "--grid-points", "200")
    assert code == 0
    assert (out / "demo.png").exists() and (out / "results.json").exists()
    res = json.loads((out / "results.json").read_text())
    # 200-point grid: discretisation error small, every point certified
    assert res["scalar_gaussian"]["max_gap_bits"] <= 1e-6
    assert res["scalar_gaussian"]["max_abs_error_bits"] < 0.01
    # the codec's real rate sits between R(D) and the guarantee of eq. (25)
    for p in res["rcc_points"]:
        assert p["closed_form_rate_bits"] < p["rate_payload_bits"] < p["rate_bound_bits"]
        assert p["rate_bits"] == 8 * p["bitstream_bytes"] / p["n_samples"]
        assert p["distortion_measure"] == "squared_error" and p["round_trip_identical"]
    # the NERD estimate lands on the closed form (quick preset: within 0.1 bit + 4 s.e.)
    n = res["nerd"]
    assert abs(n["excess_rate_bits"]) < 0.1 + 4 * n["rate_stderr_bits"]
    # the learned codec point: entropy <= bound, the file pays for its header, MSE below the
    # MSE of the mean image of the digits test split (0.072)
    # ... and the sample lower bound stays under it
    assert n["rd_lower_bits"] <= n["closed_form_rate_bits"] + 2 * n["rd_lower_stderr_bits"]
    lc = res["learned_codec"]
    assert lc["rate_entropy_bits"] <= lc["rate_bound_bits"] < lc["rate_bits"]
    assert 0 < lc["distortion"] < 0.05
    # R(D) of the digits bracketed at the codec's distortion (squared error per 8x8 image)
    br = lc["bracket"]
    assert br["distortion"] == pytest.approx(64 * lc["distortion"])
    assert 0 <= br["rd_lower_bits"] <= br["rd_upper_bits"] < lc["rate_payload_bits"]
    assert br["excess_rate_bits"] == pytest.approx(lc["rate_bits"] - br["rd_upper_bits"])
    assert "R(D) [bits]" in stdout and "digits" in stdout
    assert (out / "learned" / "samples.png").exists()
    code, _, err = run(capsys, "demo", "--out", str(out))
    assert code == 2 and "--overwrite" in err


def test_reproduce_help_lists_the_environment(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["reproduce", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "RDLAB_DATA" in out
    for flag in ("--data", "--device", "--jobs", "--executor", "--address", "--set"):
        assert flag in out
