"""``rdlab ecot`` and the reproductions 003-fig3 / 003-fig8."""

from __future__ import annotations

import json

import pytest

from rdlab.cli import main as cli_main
from rdlab.theory.ecot import (
    binary_cr_distortion,
    binary_ncr_distortion,
    gaussian_cr_asymptotic,
    gaussian_ncr_asymptotic,
)


def run_cli(argv: list[str]) -> int:
    return cli_main.main(argv)


def _json(capsys, argv):
    assert run_cli(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_cli_binary_json(capsys):
    obj = _json(capsys, ["ecot", "binary", "--qx", "0.3", "--qy", "0.6", "--points", "5", "--json"])
    pts = obj["points"]
    assert len(pts) == 5
    for p in pts:
        assert set(p) >= {"rate_bits", "distortion"}
        assert p["distortion"] == pytest.approx(binary_ncr_distortion(0.3, 0.6, p["rate_bits"]))
    assert obj["common_randomness"] is False


def test_cli_binary_common_exact_matches_closed_form(capsys):
    argv = ["ecot", "binary", "--qx", "0.3", "--qy", "0.6", "--common", "--points", "4"]
    closed = _json(capsys, [*argv, "--json"])
    exact = _json(capsys, [*argv, "--method", "exact", "--json"])
    for c, e in zip(closed["points"], exact["points"], strict=True):
        assert c["distortion"] == pytest.approx(binary_cr_distortion(0.3, 0.6, c["rate_bits"]))
        assert e["distortion"] == pytest.approx(c["distortion"], abs=1e-9)


def test_cli_binary_bounds_and_plot(capsys, tmp_path):
    png = tmp_path / "b.png"
    obj = _json(
        capsys,
        ["ecot", "binary", "--qx", "0.3", "--qy", "0.6", "--bounds", "--json", "--plot", str(png)],
    )
    assert [c["label"] for c in obj["curves"]] == [
        "D_ncr (22)",
        "upper bound (23)",
        "lower bound (24)",
    ]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert run_cli(["ecot", "binary", "--qx", "0.3", "--qy", "0.6", "--plot", str(png)]) == 2


@pytest.mark.parametrize("common", [False, True])
def test_cli_gaussian_json(capsys, common):
    argv = ["ecot", "gaussian", "--mx", "0", "--sx", "1", "--my", "1", "--sy", "2", "--json"]
    obj = _json(capsys, argv + (["--common"] if common else []))
    f = gaussian_cr_asymptotic if common else gaussian_ncr_asymptotic
    for p in obj["points"]:
        assert p["distortion"] == pytest.approx(f(0, 1, 1, 2, p["rate_bits"]))
    assert obj["points"][0]["distortion"] == pytest.approx(6.0)


def test_cli_uniform_table(capsys):
    assert run_cli(["ecot", "uniform", "--a", "2", "--b", "5", "--levels", "4"]) == 0
    out = capsys.readouterr().out
    assert "w2_squared: 3.0" in out


@pytest.mark.parametrize(
    "argv",
    [
        ["ecot", "binary", "--qx", "0", "--qy", "0.5"],
        ["ecot", "binary", "--qx", "0.3", "--qy", "1.2"],
        ["ecot", "binary", "--qx", "0.3", "--qy", "0.5", "--rate-max", "-1"],
        ["ecot", "binary", "--qx", "0.3", "--qy", "0.5", "--points", "1"],
        ["ecot", "gaussian", "--sx", "-1"],
        ["ecot", "gaussian", "--sy", "0"],
        ["ecot", "uniform", "--a", "-2", "--b", "5"],
        ["ecot", "binary", "--qx", "abc", "--qy", "0.5"],
    ],
)
def test_cli_bad_input_exit_2(argv, capsys):
    try:
        code = run_cli(argv)
    except SystemExit as exc:  # argparse type errors
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err
    assert "error" in err
    assert "Traceback" not in err


def test_reproductions_quick(tmp_path):
    from rdlab.experiments.seed003 import fig3, fig8

    (tmp_path / "f3").mkdir()
    r3 = fig3(tmp_path / "f3", "quick", 0)
    assert (tmp_path / "f3" / "fig3_binary.png").stat().st_size > 10_000
    assert r3["lp_vs_eq25_max_abs_error"] <= 1e-9
    assert r3["program_vs_eq22_max_abs_error"] <= 1e-6
    a, b, c = r3["panels"]
    assert a["upper_bound_tight"] and a["lower_bound_tight"]
    assert b["upper_bound_tight"] and not b["lower_bound_tight"]
    assert not c["upper_bound_tight"] and not c["lower_bound_tight"]
    assert all(p["cr_le_ncr"] and p["lower_le_ncr_le_upper"] for p in r3["panels"])
    json.dumps(r3)

    (tmp_path / "f8").mkdir()
    r8 = fig8(tmp_path / "f8", "quick", 0)
    assert (tmp_path / "f8" / "fig8_gaussian.png").stat().st_size > 10_000
    ga, gb = r8["panels"]
    assert ga["lower_bound_tight"] and not gb["lower_bound_tight"]
    assert max(ga["upper_minus_ncr_max_abs"], gb["upper_minus_ncr_max_abs"]) < 1e-12
    json.dumps(r8)


def test_reproductions_registered():
    import rdlab.experiments.seed003  # noqa: F401  (registers on import)
    from rdlab.experiments import registry

    assert {"003-fig3", "003-fig8"} <= set(registry.EXPERIMENTS)
    with pytest.raises(ValueError, match="preset"):
        registry.EXPERIMENTS["003-fig8"].fn(None, "huge", 0)
