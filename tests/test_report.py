"""rdlab report: one static page of every run, checked in a headless browser."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from rdlab.cli.main import main
from rdlab.experiments import run_experiment
from rdlab.experiments.report import errata_html, find_runs, write_report

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
BROWSERS = ("chromium", "chromium-browser", "google-chrome")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two real reproductions (closed forms, seconds) and a run inside one of them."""
    root = tmp_path_factory.mktemp("runs")
    for name in ("003-fig3", "003-fig8"):
        run_experiment(name, root / name)
    sub = root / "003-fig3" / "inner"
    sub.mkdir()
    (sub / "config.json").write_text("{}")
    (sub / "results.json").write_text("{}")
    return root


def test_finds_the_outermost_runs(runs):
    found = find_runs(runs)
    assert [r.name for r in found] == ["003-fig3", "003-fig8"]
    assert all(r.figures and r.figures[0].suffix == ".png" for r in found)


def test_page_holds_every_run_table_figure_and_the_errata(runs, tmp_path):
    page = write_report(runs, tmp_path / "report")
    text = page.read_text()
    assert text.count('<img class="figure"') == 2
    for name in ("003-fig3", "003-fig8", "Machine", "Errata", "E002-1"):
        assert name in text
    assert "http://" not in text and "https://" not in text.split('<h2 id="errata">')[0]
    for src in re.findall(r'<img class="figure" src="([^"]+)"', text):
        assert (page.parent / src).is_file()  # assets beside the page
    with pytest.raises(FileExistsError, match="--force"):
        write_report(runs, tmp_path / "report")
    assert main(["report", str(runs), "--out", str(tmp_path / "report"), "--force"]) == 0


def test_paper_columns_stand_beside_ours():
    from rdlab.experiments.report import _columns

    assert _columns([{"paper_mse": 1, "rate": 2, "mse": 3}]) == ["rate", "mse", "paper_mse"]
    html = errata_html("# T\n\n## A `x`\n- **P:** one\n  two\n- b\n\ntext\nmore")
    assert "<li><strong>P:</strong> one two</li>" in html and "<code>x</code>" in html
    assert "<p>text more</p>" in html


def _browser() -> str | None:
    return next((b for b in map(shutil.which, BROWSERS) if b), None)


def test_page_in_headless_chromium(runs, tmp_path):
    browser = _browser()
    if browser is None:
        pytest.skip("no chromium here (make test installs Debian's chromium where it can)")
    page = write_report(runs, tmp_path / "report")
    common = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=5000",
              f"--user-data-dir={tmp_path / 'profile'}"]  # fmt: skip
    dom = subprocess.run(
        [*common, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120
    ).stdout
    body = re.search(r"<body([^>]*)>", dom)
    assert body, dom[:500]
    attrs = dict(re.findall(r'data-([a-z-]+)="(\d+)"', body.group(1)))
    assert attrs["figures"] == attrs["figures-loaded"] == "2", attrs
    assert int(attrs["tables"]) >= 4 and attrs["tables"] == attrs["tables-with-rows"], attrs
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "report.png"
    subprocess.run(
        [*common, "--window-size=1280,2400", f"--screenshot={shot}", page.as_uri()],
        capture_output=True,
        timeout=120,
    )
    assert shot.is_file() and shot.stat().st_size > 10_000


def test_an_unreadable_run_is_shown_not_fatal(runs, tmp_path):
    import shutil as sh

    root = tmp_path / "runs"
    sh.copytree(runs, root)
    bad = root / "broken"
    bad.mkdir()
    (bad / "config.json").write_text("[" * 100)
    (bad / "results.json").write_text("{}")
    found = {r.name: r for r in find_runs(root)}
    assert found["broken"].error and "nested deeper" in found["broken"].error
    assert found["003-fig3"].error is None
    text = write_report(root, tmp_path / "report").read_text()
    assert "could not be read" in text and "003-fig8" in text
