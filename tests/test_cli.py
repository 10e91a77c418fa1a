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
    code, out, _ = run(capsys, "rd", "gaussian", "--var", "2", "--dim", "3", "--rate", "3", "--json")
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
    code, _, _ = run(capsys, "sample", "--source", "gaussian", "--variances", "4,2,1", "--n", "7", "--seed", "3", str(out))
    assert code == 0
    x = np.load(out)
    assert x.shape == (7, 3)
    code, _, err = run(capsys, "sample", "--source", "gaussian20", "--n", "5", "--seed", "3", str(out))
    assert code == 2 and "exists" in err
    np.testing.assert_array_equal(np.load(out), x)
    code, _, _ = run(capsys, "sample", "--source", "gaussian20", "--n", "5", "--seed", "3", str(out), "--force")
    assert code == 0 and np.load(out).shape == (5, 20)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["rd", "gaussian", "--var", "-1"], "variances must be > 0"),
        (["rd", "gaussian", "--var", "1", "--distortion", "-0.5"], "distortion must be > 0"),
        (["rd", "gaussian", "--var", "a,b"], "comma-separated"),
        (["rd", "bernoulli", "--p", "1.5"], "p must be in"),
        (["sample", "--source", "nope", "--n", "3", "--seed", "0", "x.npy"], "unknown source"),
        (["sample", "--source", "gaussian20", "--n", "0", "--seed", "0", "x.npy"], "--n must be >= 1"),
        (["sample", "--source", "gaussian20", "--n", "3", "--seed", "-1", "x.npy"], "seed must be >= 0"),
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
