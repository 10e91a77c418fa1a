"""Gaussian rate-distortion-perception function (Theorem 1 and appendix A.1, Zhang et al.)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rdlab.theory.rdp import (
    gaussian_distortion_perception,
    gaussian_dp_curve,
    gaussian_kl_perception,
    gaussian_perception_threshold,
    gaussian_rdp,
    gaussian_rdp_appendix_form,
    gaussian_rdp_bruteforce,
    gaussian_rdp_reconstruction,
    gaussian_rdp_surface,
    gaussian_reconstruction_stats,
    kl_to_w2_perception,
    w2_to_kl_perception,
)

variances = st.floats(0.05, 20.0)
fractions = st.floats(0.0, 1.0)


def classic_rd(d: float, var: float) -> float:
    return max(0.0, 0.5 * math.log2(var / d))


# --------------------------------------------------------------------------------------------
# Closed form against brute force
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("var", [1.0, 2.5])
def test_closed_form_matches_bruteforce_on_grid(var):
    worst = 0.0
    for d in np.linspace(0.1, 2.1, 6) * var:
        for p in np.linspace(0.0, 1.0, 6) * var:
            closed = gaussian_rdp(d, p, var)
            brute = gaussian_rdp_bruteforce(float(d), float(p), var)
            assert brute.distortion <= d + 1e-8 * var
            assert brute.perception <= p + 1e-8 * var
            worst = max(worst, abs(closed - brute.rate_bits))
    assert worst < 1e-6


@pytest.mark.parametrize(("d", "p"), [(0.2, 0.02), (0.5, 0.1), (1.3, 0.05), (0.8, 0.6)])
def test_kl_closed_form_matches_bruteforce(d, p):
    closed = gaussian_rdp(d, p, 1.0, perception_measure="kl")
    brute = gaussian_rdp_bruteforce(d, p, 1.0, perception_measure="kl")
    assert abs(closed - brute.rate_bits) < 1e-6


@pytest.mark.parametrize(("d", "p"), [(0.1, 0.0), (0.5, 0.05), (0.3, 0.5), (1.4, 0.02), (2.5, 0.0)])
def test_optimal_reconstruction_attains_the_rate(d, p):
    rec = gaussian_rdp_reconstruction(d, p, 1.0)
    assert rec.distortion <= d + 1e-12
    assert rec.perception <= p + 1e-12
    assert rec.rate_bits == pytest.approx(gaussian_rdp(d, p, 1.0), abs=1e-12)


def test_reconstruction_stats_formulas():
    # eqs. (19)-(21): m = 0.5, s = 0.8, theta = 0.4, sigma = 1
    r = gaussian_reconstruction_stats(0.5, 0.8, 0.4, 1.0)
    assert r.distortion == pytest.approx(0.25 + 1 + 0.64 - 0.8)
    assert r.perception == pytest.approx(0.25 + 0.04)
    assert r.rate_bits == pytest.approx(0.5 * math.log2(0.64 / (0.64 - 0.16)))


# --------------------------------------------------------------------------------------------
# Values and the appendix misprint
# --------------------------------------------------------------------------------------------


def test_known_values():
    assert gaussian_rdp(0.25, 10.0) == pytest.approx(1.0)
    # P = 0, D = 0.5: s = 1, theta = 0.75 -> 1/2 log2(1 / (1 - 0.5625))
    assert gaussian_rdp(0.5, 0.0) == pytest.approx(0.5 * math.log2(1 / 0.4375))
    assert gaussian_rdp(2.0, 0.0) == 0.0
    assert gaussian_rdp(0.0, 0.3) == math.inf
    assert gaussian_distortion_perception(0.0, 1.0) == pytest.approx(2 - math.sqrt(3))


def test_appendix_form_is_a_misprint():
    # The appendix divides the cross term by sigma_X; the main text by 2. Only the main-text
    # form agrees with the brute-force minimum (sigma = 1 here) ...
    brute = gaussian_rdp_bruteforce(0.5, 0.05, 1.0).rate_bits
    assert gaussian_rdp(0.5, 0.05, 1.0) == pytest.approx(brute, abs=1e-6)
    assert abs(gaussian_rdp_appendix_form(0.5, 0.05, 1.0) - brute) > 0.1
    # ... and it is continuous where the perception constraint stops binding, the appendix
    # form is not (D = 0.5, threshold sqrt(P) = 1 - sqrt(0.5)).
    p_edge = (1 - math.sqrt(0.5)) ** 2
    below, above = p_edge * (1 - 1e-9), p_edge * (1 + 1e-9)
    assert gaussian_rdp(0.5, below) == pytest.approx(gaussian_rdp(0.5, above), abs=1e-6)
    assert (
        abs(gaussian_rdp_appendix_form(0.5, below) - gaussian_rdp_appendix_form(0.5, above)) > 0.1
    )
    # The two coincide only when sigma = 2.
    assert gaussian_rdp_appendix_form(1.0, 0.3, 4.0) == pytest.approx(gaussian_rdp(1.0, 0.3, 4.0))


# --------------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(variances, st.floats(0.01, 2.5), fractions, st.floats(0.0, 1.0), st.floats(0.0, 1.0))
def test_nonincreasing_in_d_and_p(var, dfrac, pfrac, dd, dp):
    d, p = dfrac * var, pfrac * var
    r = gaussian_rdp(d, p, var)
    assert gaussian_rdp(d + dd * var, p, var) <= r + 1e-12
    assert gaussian_rdp(d, p + dp * var, var) <= r + 1e-12


@settings(max_examples=80, deadline=None)
@given(
    variances,
    st.floats(0.02, 2.5),
    fractions,
    st.floats(0.02, 2.5),
    fractions,
    st.floats(0.0, 1.0),
)
def test_jointly_convex(var, d1, p1, d2, p2, lam):
    a = np.array([d1 * var, p1 * var])
    b = np.array([d2 * var, p2 * var])
    mid = lam * a + (1 - lam) * b
    lhs = gaussian_rdp(mid[0], mid[1], var)
    rhs = lam * gaussian_rdp(a[0], a[1], var) + (1 - lam) * gaussian_rdp(b[0], b[1], var)
    assert lhs <= rhs + 1e-9 * (1 + abs(rhs))


@settings(max_examples=60, deadline=None)
@given(variances, st.floats(0.001, 3.0))
def test_infinite_perception_is_classic_rd(var, dfrac):
    from rdlab.theory.gaussian import gaussian_rate_distortion

    d = dfrac * var
    assert gaussian_rdp(d, 1e6 * var, var) == pytest.approx(classic_rd(d, var), abs=1e-12)
    assert gaussian_rdp(d, 1e6 * var, var) == pytest.approx(
        gaussian_rate_distortion(d, var), abs=1e-12
    )
    # The constraint already stops binding at P = (sigma - sqrt(|sigma^2 - D|))^2.
    edge = (math.sqrt(var) - math.sqrt(abs(var - d))) ** 2
    assert gaussian_rdp(d, edge, var) == pytest.approx(classic_rd(d, var), abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(variances, st.floats(0.001, 1.999))
def test_perfect_realism_curve(var, dfrac):
    d = dfrac * var
    r0 = gaussian_rdp(d, 0.0, var)
    # closed form of R(D, 0): rho = 1 - D / (2 sigma^2)
    rho = 1 - d / (2 * var)
    assert r0 == pytest.approx(-0.5 * math.log2(1 - rho**2), rel=1e-9, abs=1e-12)
    assert r0 > classic_rd(d, var)
    # Blau & Michaeli: R(2D, 0) <= R(D, inf)  (Sec. 3.2, after eq. (11))
    assert gaussian_rdp(2 * d, 0.0, var) <= classic_rd(d, var) + 1e-12


def test_perfect_realism_endpoints():
    assert gaussian_rdp(2.0, 0.0, 1.0) == 0.0
    assert gaussian_rdp(2.0 * (1 - 1e-6), 0.0, 1.0) > 0.0
    assert gaussian_rdp(1e-12, 0.0, 1.0) > 19.0
    assert gaussian_rdp(0.0, 0.0, 1.0) == math.inf


@settings(max_examples=80, deadline=None)
@given(variances, st.floats(0.01, 6.0), fractions)
def test_dp_tradeoff_inverts_rdp(var, rate, pfrac):
    p_th = gaussian_perception_threshold(rate, var)
    p = pfrac * p_th
    d = gaussian_distortion_perception(p, rate, var)
    assert gaussian_rdp(d, p, var) == pytest.approx(rate, rel=1e-7, abs=1e-9)
    # slightly less distortion needs more rate
    assert gaussian_rdp(d * (1 - 1e-6), p, var) > rate


@settings(max_examples=40, deadline=None)
@given(variances, st.floats(0.0, 5.0))
def test_dp_tradeoff_endpoints(var, rate):
    rho = math.sqrt(1 - 2 ** (-2 * rate))
    assert gaussian_distortion_perception(0.0, rate, var) == pytest.approx(2 * var * (1 - rho))
    p_th = gaussian_perception_threshold(rate, var)
    for p in (p_th, 2 * p_th + 1.0):
        assert gaussian_distortion_perception(p, rate, var) == pytest.approx(var * 2 ** (-2 * rate))


def test_dp_curve_points_carry_all_fields():
    curve = gaussian_dp_curve(1.0, 1.0, 11)
    pts = [p.to_dict() for p in curve.points]
    assert all({"rate_bits", "distortion", "perception"} <= set(p) for p in pts)
    d = curve.distortion
    assert np.all(np.diff(d) <= 1e-15)  # distortion falls as perception grows
    assert pts[0]["perception"] == 0.0


def test_surface_shape_and_values():
    s = gaussian_rdp_surface([0.5, 1.0, 2.0], [0.0, 0.5], 1.0)
    assert s.shape == (2, 3)
    assert s[0, 2] == 0.0
    assert s[1, 0] == pytest.approx(gaussian_rdp(0.5, 0.5))


# --------------------------------------------------------------------------------------------
# KL perception (appendix A.1)
# --------------------------------------------------------------------------------------------


def test_kl_formula_is_reconstruction_to_source_divergence():
    from scipy.integrate import quad

    var, rv = 1.5, 0.7

    def pdf(x, v):
        return math.exp(-x * x / (2 * v)) / math.sqrt(2 * math.pi * v)

    kl_q_p = quad(lambda x: pdf(x, rv) * math.log2(pdf(x, rv) / pdf(x, var)), -30, 30)[0]
    printed = quad(lambda x: pdf(x, rv) * math.log2(pdf(x, var) / pdf(x, rv)), -30, 30)[0]
    assert gaussian_kl_perception(rv, var) == pytest.approx(kl_q_p, rel=1e-8)
    # The integrand as printed, p_Xhat log(p_X / p_Xhat), is minus the divergence.
    assert printed == pytest.approx(-kl_q_p, rel=1e-8)
    assert printed < 0


def test_other_kl_direction_is_not_minimised_by_gaussians():
    # KL(p_X || q) over q with fixed variance 4: a Gaussian q gives 0.318 nats, a two-Gaussian
    # mixture with the same moments less than -ln 0.9 = 0.105 nats. So the Gaussian reduction
    # of appendix A.1 holds for KL(p_Xhat || p_X) only.
    from scipy.integrate import quad

    def logpdf(x, v):
        return -x * x / (2 * v) - 0.5 * math.log(2 * math.pi * v)

    def logmix(x):
        return float(np.logaddexp(math.log(0.9) + logpdf(x, 1.0), math.log(0.1) + logpdf(x, 31.0)))

    def kl_from(logq):
        return quad(lambda x: math.exp(logpdf(x, 1)) * (logpdf(x, 1) - logq(x)), -15, 15)[0]

    kl_gauss = kl_from(lambda x: logpdf(x, 4.0))
    kl_mix = kl_from(logmix)
    assert kl_gauss == pytest.approx(0.5 * (0.25 - 1 + math.log(4)))
    assert kl_mix < -math.log(0.9) < kl_gauss


@settings(max_examples=60, deadline=None)
@given(variances, st.floats(1e-6, 8.0))
def test_kl_w2_correspondence_roundtrip(var, p_kl):
    w = kl_to_w2_perception(p_kl, var)
    assert 0 <= w <= var
    assert w2_to_kl_perception(w, var) == pytest.approx(p_kl, rel=1e-6, abs=1e-9)


def test_kl_rdp_monotone_and_limits():
    assert gaussian_rdp(0.3, 0.0, 1.0, perception_measure="kl") == pytest.approx(
        gaussian_rdp(0.3, 0.0)
    )
    assert gaussian_rdp(0.3, 50.0, 1.0, perception_measure="kl") == pytest.approx(
        classic_rd(0.3, 1.0)
    )
    ps = np.linspace(0, 1, 30)
    r = gaussian_rdp(0.3, ps, 1.0, perception_measure="kl")
    assert np.all(np.diff(r) <= 1e-12)
    d = gaussian_distortion_perception(0.05, 1.2, 1.0, perception_measure="kl")
    assert gaussian_rdp(d, 0.05, 1.0, perception_measure="kl") == pytest.approx(1.2)


# --------------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: gaussian_rdp(0.5, 0.1, -1.0), "variance"),
        (lambda: gaussian_rdp(0.5, 0.1, 0.0), "variance"),
        (lambda: gaussian_rdp(-0.5, 0.1), "distortion"),
        (lambda: gaussian_rdp(0.5, -0.1), "perception"),
        (lambda: gaussian_rdp([0.5, -1.0], 0.1), "distortion"),
        (lambda: gaussian_rdp(0.5, 0.1, perception_measure="tv"), "perception_measure"),
        (lambda: gaussian_distortion_perception(0.1, -1.0), "rate_bits"),
        (lambda: gaussian_distortion_perception(-0.1, 1.0), "perception"),
        (lambda: gaussian_perception_threshold(-2.0), "rate_bits"),
        (lambda: gaussian_dp_curve(-1.0), "rate_bits"),
        (lambda: gaussian_dp_curve(1.0, -1.0), "variance"),
        (lambda: gaussian_rdp(math.nan, 0.1), "distortion"),
        (lambda: kl_to_w2_perception(-1.0), "perception"),
        (lambda: gaussian_rdp_reconstruction(0.0, 0.1), "distortion"),
    ],
)
def test_bad_input_raises_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_wrong_type_raises_type_error():
    with pytest.raises(TypeError, match="distortion"):
        gaussian_rdp("half", 0.1)


# --------------------------------------------------------------------------------------------
# CLI and reproduction
# --------------------------------------------------------------------------------------------


@pytest.fixture
def run_cli():
    """``rdlab.cli.main.main``."""
    import rdlab.cli.main as cli_main

    return cli_main.main


def test_cli_json(run_cli, capsys):
    assert run_cli(["rdp", "gaussian", "--var", "1", "--rate", "1", "--json", "--points", "9"]) == 0
    obj = json.loads(capsys.readouterr().out)
    pts = obj["points"]
    assert len(pts) == 9
    for p in pts:
        assert p["rate_bits"] == 1.0
        assert p["distortion"] == pytest.approx(
            gaussian_distortion_perception(p["perception"], 1.0)
        )
    assert pts[0]["distortion"] == pytest.approx(2 - math.sqrt(3))
    assert obj["perception_measure"] == "w2"


def test_cli_kl_and_table(run_cli, capsys):
    assert run_cli(["rdp", "gaussian", "--rate", "0.5", "--perception", "kl", "--json"]) == 0
    obj = json.loads(capsys.readouterr().out)
    assert obj["perception_measure"] == "kl"
    p = obj["points"][3]
    assert p["distortion"] == pytest.approx(
        gaussian_distortion_perception(p["perception"], 0.5, perception_measure="kl")
    )
    assert run_cli(["rdp", "gaussian", "--rate", "0.5,1"]) == 0
    out = capsys.readouterr().out
    assert "perception" in out and "R = 1 bits" in out


def test_cli_plot(run_cli, tmp_path, capsys):
    png = tmp_path / "dp.png"
    assert run_cli(["rdp", "gaussian", "--rate", "1", "--plot", str(png), "--json"]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert run_cli(["rdp", "gaussian", "--rate", "1", "--plot", str(png)]) == 2  # no --force
    assert "exists" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["--var", "-1", "--rate", "1"],
        ["--var", "0", "--rate", "1"],
        ["--rate", "-1"],
        ["--rate", "1", "--max-perception", "-0.5"],
        ["--rate", "1", "--points", "1"],
        ["--rate", "one"],
    ],
)
def test_cli_bad_input_exits_2(run_cli, argv, capsys):
    assert run_cli(["rdp", "gaussian", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rdlab: error:") and "Traceback" not in err


def test_cli_bad_choice_exits_2(run_cli):
    with pytest.raises(SystemExit) as exc:
        run_cli(["rdp", "gaussian", "--rate", "1", "--perception", "tv"])
    assert exc.value.code == 2


def test_reproduce_fig1_quick(tmp_path):
    import rdlab.experiments.seed001  # noqa: F401  (registers 001-fig1)
    from rdlab.experiments.registry import run_experiment

    res = run_experiment("001-fig1", tmp_path, preset="quick", seed=0)
    for name in res["files"]:
        assert (tmp_path / name).stat().st_size > 0
    assert res["bruteforce_max_abs_deviation_bits"] < 1e-6
    assert all(u["universal_penalty_bits"] == 0.0 for u in res["universality"])
    sections = json.loads((tmp_path / "dp_cross_sections.json").read_text())
    assert len(sections["curves"]) == len(res["rates_bits"])
    surface = json.loads((tmp_path / "rdp_surface.json").read_text())
    assert len(surface["rate_bits"]) == len(surface["perception"])
