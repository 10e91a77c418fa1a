"""One vocabulary: every key of every ``--json`` line and of every reproduction's results is in
the glossary (rdlab.core.glossary), and docs/glossary.md is the glossary.

The test suite also turns :class:`~rdlab.core.glossary.GlossaryWarning` into an error
(pyproject.toml), so every test that prints JSON or runs a reproduction checks its keys too."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from rdlab.cli.main import main
from rdlab.core.glossary import (
    GLOSSARY,
    GlossaryWarning,
    check_keys,
    describe,
    glossary_markdown,
    unknown_keys,
)

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_the_docs_page_is_the_glossary():
    assert (DOCS / "glossary.md").read_text() == glossary_markdown(), (
        "regenerate with: python -m rdlab.core.glossary > docs/glossary.md"
    )


def test_every_term_has_a_meaning():
    for key, term in GLOSSARY.items():
        assert key == key.strip() and term.meaning.strip(), key
    # the rules of the vocabulary
    assert "whole file" in GLOSSARY["rate_bits"].meaning
    assert "certified" in GLOSSARY["gap_bits"].meaning
    assert "reference" in GLOSSARY["excess_rate_bits"].meaning


def test_unknown_keys_are_found_and_warned():
    obj = {"rate_bits": 1.0, "4.75": {"distortion": 0.1}, "x": [{"bogus_key": 1}]}
    assert unknown_keys(obj) == ["x", "x[0].bogus_key"]
    assert describe("rate_bits_stderr").unit == GLOSSARY["rate_bits"].unit
    assert describe("nonsense_stderr") is None
    with pytest.warns(GlossaryWarning, match="bogus_key"):
        check_keys(obj, "test")


def _cli_json(capsys, argv) -> dict:
    assert main([str(a) for a in argv]) == 0, argv
    return json.loads(capsys.readouterr().out)


def cli_commands(tmp: Path) -> list[list[object]]:
    """One ``--json`` call of every command that prints JSON (tiny settings)."""
    np.save(tmp / "p.npy", np.array([0.5, 0.5]))
    np.save(tmp / "d.npy", np.array([[0.0, 1.0], [1.0, 0.0]]))
    np.save(tmp / "x.npy", np.random.default_rng(0).standard_normal((6, 2)))
    return [
        ["rd", "gaussian", "--var", "4,2,1", "--points", "4", "--json"],
        ["rd", "bernoulli", "--p", "0.2", "--method", "blahut-arimoto", "--points", "3", "--json"],
        ["rd", "discrete", "--pmf", tmp / "p.npy", "--distortion", tmp / "d.npy", "--json"],
        ["rdp", "gaussian", "--var", "1", "--rate", "1", "--points", "4", "--json"],
        ["rdp", "gaussian", "--rate", "0.5", "--perception", "kl", "--json"],
        ["ecot", "binary", "--qx", "0.3", "--qy", "0.6", "--points", "4", "--bounds", "--json"],
        ["ecot", "gaussian", "--mx", "0", "--sx", "1", "--my", "1", "--sy", "2", "--json"],
        ["ecot", "uniform", "--a", "1", "--b", "2", "--levels", "4", "--json"],
        ["retrieval", "bound", "--corpus", "1000", "--points", "4", "--json"],
        ["reproduce", "--list", "--json"],
        ["reproduce", "003-fig3", "--out", tmp / "r3", "--json"],
        ["encode", "rcc:gaussian:1,1", tmp / "x.npy", tmp / "x.rdl", "--distortion", "1", "--json"],
        ["decode", tmp / "x.rdl", tmp / "y.npy", "--json"],
        ["info", tmp / "x.rdl", "--json"],
        ["rcc", "info", tmp / "x.rdl", "--json"],
    ]


def test_cli_json_keys_are_in_the_glossary(capsys, tmp_path):
    for argv in cli_commands(tmp_path):
        obj = _cli_json(capsys, argv)
        assert unknown_keys(obj) == [], argv


def test_torch_commands_json_keys_are_in_the_glossary(capsys, tmp_path):
    pytest.importorskip("torch")
    tiny = ("--preset", "quick", "--steps", "20", "--n-eval", "64", "--eval-samples", "256")
    obj = _cli_json(capsys, ["nerd", "--source", "gaussian", "--beta=-1", *tiny, "--json"])
    assert unknown_keys(obj) == []
    run = tmp_path / "lc"
    train = [
        "lc", "train", "--data", "digits", "--epochs", "1", "--n-train", "128", "--n-test",
        "32", "--fresh-critic-steps", "0", "--no-progress", "--out", run, "--json",
    ]  # fmt: skip
    for argv in (train, ["lc", "eval", run, "--json"]):
        assert unknown_keys(_cli_json(capsys, argv)) == [], argv
    from rdlab.models.learned import load_split

    np.save(tmp_path / "img.npy", load_split("digits", "test", n=4))
    enc = ["lc", "encode", "--model", run, tmp_path / "img.npy", tmp_path / "i.rdl", "--json"]
    dec = ["lc", "decode", "--model", run, tmp_path / "i.rdl", tmp_path / "i.npy", "--json"]
    for argv in (enc, dec):
        assert unknown_keys(_cli_json(capsys, argv)) == [], argv
    results = json.loads((run / "results.json").read_text())
    config = json.loads((run / "config.json").read_text())
    assert unknown_keys(results) == [] and unknown_keys(config) == []


FAST = ("001-fig1", "002-fig14", "003-fig3", "003-fig8")
"""Reproductions whose quick preset takes seconds; the others run in the slow tier."""


def _experiment_names() -> list[str]:
    from rdlab.experiments.registry import list_experiments

    return [e.name for e in list_experiments()]


@pytest.mark.parametrize(
    "name",
    [pytest.param(n, marks=() if n in FAST else pytest.mark.slow) for n in _experiment_names()],
)
def test_every_reproduction_writes_glossary_keys(name, tmp_path):
    from rdlab.experiments.registry import run_experiment

    result = run_experiment(name, tmp_path, preset="quick", seed=0)
    assert unknown_keys(result.to_dict()) == []
    assert json.loads((tmp_path / "results.json").read_text()) == json.loads(
        json.dumps(result.to_dict())
    )
    assert unknown_keys(json.loads((tmp_path / "config.json").read_text())) == []
