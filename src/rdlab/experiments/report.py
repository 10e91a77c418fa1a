"""One static HTML page of every run under a folder (``rdlab report RUNS_DIR --out DIR``).

:func:`write_report` finds the runs (every folder with ``config.json`` and ``results.json``
that is not inside another run), and writes ``DIR/index.html`` with, for each run, its numbers
as tables (every list of result rows; a ``paper_*`` column stands beside the column it is the
paper's number of), its figures (the PNG files of the run's folder, copied to ``DIR/assets/``),
its configuration, its wall time, and then the machine the page was made on and the errata of
the papers (``docs/errata.md`` where the source tree is at hand). The page needs no server and
no network: its style and one small script are inline, its images beside it. The script counts
the figures that loaded and the tables that have rows, and writes both on the page and into the
``data-figures-loaded`` / ``data-tables-with-rows`` attributes of ``<body>`` (a headless browser
reads them in the tests).
"""

from __future__ import annotations

import datetime as _dt
import html
import importlib.util
import json
import os
import platform
import re
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rdlab.core.io import atomic_write, check_writable, read_json_object

MAX_ROWS = 200
"""Rows shown of one table (the rest are counted)."""

MAX_RUNS = 500
"""Runs one page holds; beyond, the page says how many were left out."""


@dataclass(frozen=True)
class RunRecord:
    """A run found under the folder: its path, configuration, results and figures; ``error``
    says why its JSON files could not be read (then ``config`` and ``results`` are empty)."""

    path: Path
    name: str
    config: dict[str, Any]
    results: dict[str, Any]
    figures: tuple[Path, ...]
    error: str | None = None


def find_runs(root: str | os.PathLike) -> list[RunRecord]:
    """Every run under ``root`` (``root`` itself included), outermost only, sorted by path.

    A run whose ``config.json`` or ``results.json`` is not a bounded JSON object is kept with
    its ``error`` (the page shows it) rather than stopping the report.

    Raises
    ------
    FileNotFoundError
        ``root`` is not a folder.
    """
    base = Path(root)
    if not base.is_dir():
        raise FileNotFoundError(f"{base} is not a folder of runs")
    runs: list[RunRecord] = []
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames.sort()
        if "config.json" in filenames and "results.json" in filenames:
            p = Path(dirpath)
            figures = tuple(sorted(p / f for f in filenames if f.lower().endswith(".png")))
            name = "." if p == base else p.relative_to(base).as_posix()
            try:
                cfg, res = read_json_object(p / "config.json"), read_json_object(p / "results.json")
                runs.append(RunRecord(p, name, cfg, res, figures))
            except (OSError, ValueError) as exc:
                runs.append(RunRecord(p, name, {}, {}, figures, error=str(exc)))
            dirnames.clear()  # a run's sub-runs are summarised by the run
    return sorted(runs, key=lambda r: r.name)


def machine_info() -> dict[str, Any]:
    """What the page was made on: OS, CPU count, Python and library versions, GPUs."""
    import numpy as np

    from rdlab import __version__

    info: dict[str, Any] = {
        "rdlab": __version__,
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "platform": platform.platform(),
        "processor": platform.machine(),
        "cpus": os.cpu_count(),
    }
    if importlib.util.find_spec("torch") is not None:
        import torch

        info["torch"] = torch.__version__
        if torch.cuda.is_available():
            info["gpus"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    return info


def errata_path() -> Path | None:
    """``docs/errata.md`` of the source tree this rdlab runs from, or of the current folder."""
    here = Path(__file__).resolve()
    for candidate in (here.parents[3] / "docs" / "errata.md", Path("docs") / "errata.md"):
        if candidate.is_file():
            return candidate
    return None


# -- HTML ------------------------------------------------------------------------------------------

STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ccc; margin-top: 2em; }
table { border-collapse: collapse; margin: 0.6em 0 1.2em; font-size: 12px; }
th, td { border: 1px solid #ccc; padding: 2px 6px; text-align: right; }
th { background: #f3f3f3; } td.text { text-align: left; } td.short { white-space: nowrap; }
div.wide { overflow-x: auto; }
th.paper, td.paper { background: #fff6e0; }
figure { display: inline-block; margin: 0.5em; } figure img { max-width: 560px; }
pre { background: #f7f7f7; padding: 0.6em; overflow: auto; max-height: 24em; font-size: 12px; }
.muted { color: #777; } #check { font-weight: bold; } .error { color: #a00; }
"""

SCRIPT = """
window.addEventListener("load", function () {
  var imgs = document.querySelectorAll("img.figure"), loaded = 0;
  imgs.forEach(function (im) { if (im.complete && im.naturalWidth > 0) loaded++; });
  var tables = document.querySelectorAll("table.data"), withRows = 0;
  tables.forEach(function (t) { if (t.tBodies.length && t.tBodies[0].rows.length) withRows++; });
  document.body.setAttribute("data-figures", imgs.length);
  document.body.setAttribute("data-figures-loaded", loaded);
  document.body.setAttribute("data-tables", tables.length);
  document.body.setAttribute("data-tables-with-rows", withRows);
  document.getElementById("check").textContent =
    loaded + " of " + imgs.length + " figures loaded; " +
    withRows + " of " + tables.length + " tables have rows";
});
"""


def _esc(x: Any) -> str:
    return html.escape(str(x), quote=True)


def _cell(v: Any) -> tuple[str, str]:
    """(text, css class) of a table cell."""
    if isinstance(v, bool) or v is None:
        return ("" if v is None else str(v).lower()), "text"
    if isinstance(v, int):
        return str(v), ""
    if isinstance(v, float):
        return f"{v:.4g}", ""
    return str(v), "text short" if len(str(v)) <= 40 else "text"


def _is_scalar(v: Any) -> bool:
    return v is None or isinstance(v, str | int | float | bool)


def _columns(rows: list[dict[str, Any]]) -> list[str]:
    cols: list[str] = []
    for r in rows:
        for k, v in r.items():
            if _is_scalar(v) and k not in cols:
                cols.append(k)
    # the paper's number beside ours: paper_X right after X
    for c in [c for c in cols if c.startswith("paper_") and c[6:] in cols]:
        cols.remove(c)
        cols.insert(cols.index(c[6:]) + 1, c)
    return cols


def _table(title: str, rows: list[dict[str, Any]]) -> str:
    cols = _columns(rows)
    if not cols:
        return ""
    head = "".join(
        f'<th class="{"paper" if c.startswith("paper") else ""}">{_esc(c)}</th>' for c in cols
    )
    body = []
    for r in rows[:MAX_ROWS]:
        cells = []
        for c in cols:
            text, cls = _cell(r.get(c))
            cls = f"{cls} paper".strip() if c.startswith("paper") else cls
            cells.append(f'<td class="{cls}">{_esc(text)}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    more = (
        f'<p class="muted">{len(rows) - MAX_ROWS} more rows in results.json</p>'
        if len(rows) > MAX_ROWS
        else ""
    )
    return (
        f'<h4>{_esc(title)}</h4><div class="wide"><table class="data"><thead><tr>{head}</tr>'
        f"</thead><tbody>{''.join(body)}</tbody></table></div>{more}"
    )


def _row_lists(obj: Any, path: str = "", depth: int = 0) -> Iterator[tuple[str, list[dict]]]:
    """Every non-empty list of dicts (result rows) in ``obj``, with its path."""
    if depth > 4:
        return
    if isinstance(obj, list):
        if obj and all(isinstance(r, dict) for r in obj):
            yield path or "rows", obj
            for i, r in enumerate(obj[:20]):
                for k, v in r.items():
                    if isinstance(v, list | dict):
                        yield from _row_lists(v, f"{path}[{i}].{k}", depth + 1)
    elif isinstance(obj, dict):
        for k, v in obj.items():
            if isinstance(v, list | dict):
                yield from _row_lists(v, f"{path}.{k}" if path else k, depth + 1)


def _numbers(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Scalars of the results (top level and one level of objects) as name/value rows."""
    rows = []
    for k, v in results.items():
        if _is_scalar(v):
            rows.append({"name": k, "value": v})
        elif isinstance(v, dict):
            rows.extend(
                {"name": f"{k}.{k2}", "value": v2} for k2, v2 in v.items() if _is_scalar(v2)
            )
    return rows


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "run"


def _run_section(run: RunRecord, assets: Path, out: Path) -> str:
    cfg, res = run.config, run.results
    title = cfg.get("experiment") or cfg.get("kind") or cfg.get("estimator") or cfg.get("job")
    parts = [f'<h2 id="{_esc(_slug(run.name))}">{_esc(run.name)}'
             f'{" — " + _esc(title) if title else ""}</h2>']  # fmt: skip
    if run.error is not None:
        parts.append(f'<p class="error">could not be read: {_esc(run.error)}</p>')
    meta = [
        ("paper", res.get("paper") or cfg.get("paper")),
        ("target", res.get("target") or cfg.get("target")),
        ("preset", res.get("preset") or cfg.get("preset")),
        ("seed", res.get("seed", cfg.get("seed"))),
        ("wall time", f"{res['wall_seconds']} s" if "wall_seconds" in res else None),
    ]
    parts.append(
        "<p>" + "<br>".join(f"<b>{k}:</b> {_esc(v)}" for k, v in meta if v is not None) + "</p>"
    )
    figs = []
    for f in run.figures:
        dest = assets / _slug(run.name) / f.name
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(f, dest)
        rel = dest.relative_to(out).as_posix()
        figs.append(
            f'<figure><img class="figure" src="{_esc(rel)}" alt="{_esc(f.name)}">'
            f"<figcaption>{_esc(f.name)}</figcaption></figure>"
        )
    parts.extend(figs)
    parts.append(_table("numbers", _numbers(res)))
    for path, rows in _row_lists(res):
        parts.append(_table(path, rows))
    parts.append(
        "<details><summary>configuration (config.json)</summary><pre>"
        + _esc(json.dumps(cfg, indent=2))
        + "</pre></details>"
    )
    return "\n".join(p for p in parts if p)


def _inline_md(text: str) -> str:
    t = _esc(text)
    t = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", t)
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", t)


def errata_html(text: str) -> str:
    """A small Markdown subset (headings, bullet lists, paragraphs, bold, code) as HTML."""
    out: list[str] = []
    block: list[str] = []
    kind = ""

    def flush() -> None:
        nonlocal block, kind
        if block:
            if kind == "li":
                out.append("<ul>" + "".join(f"<li>{_inline_md(b)}</li>" for b in block) + "</ul>")
            else:
                out.append(f"<p>{_inline_md(' '.join(block))}</p>")
        block, kind = [], ""

    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            flush()
        elif m := re.match(r"^(#{1,6})\s+(.*)$", line):
            flush()
            level = min(6, len(m.group(1)) + 2)
            out.append(f"<h{level}>{_inline_md(m.group(2))}</h{level}>")
        elif re.match(r"^\s*[-*]\s+", line):
            if kind != "li":
                flush()
                kind = "li"
            block.append(re.sub(r"^\s*[-*]\s+", "", line))
        elif block:
            block[-1] += " " + stripped
        else:
            kind = "p"
            block.append(stripped)
    flush()
    return "\n".join(out)


def write_report(
    runs_dir: str | os.PathLike, out_dir: str | os.PathLike, *, overwrite: bool = False
) -> Path:
    """Write ``out_dir/index.html`` (and ``out_dir/assets/``) for every run under ``runs_dir``;
    return the page's path.

    Raises
    ------
    FileExistsError
        ``out_dir/index.html`` exists and not ``overwrite``.
    FileNotFoundError, ValueError
        No such folder, or a run's JSON files are not objects.
    """
    out = Path(out_dir)
    page = check_writable(out / "index.html", overwrite=overwrite, flag="--force")
    runs = find_runs(runs_dir)
    report_root = out.resolve()
    runs = [r for r in runs if report_root not in (r.path.resolve(), *r.path.resolve().parents)]
    assets = out / "assets"
    if assets.is_dir() and overwrite:
        shutil.rmtree(assets)
    assets.mkdir(parents=True, exist_ok=True)
    shown = runs[:MAX_RUNS]
    stamp = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    index = [
        {
            "run": r.name,
            "experiment": r.config.get("experiment") or r.config.get("kind") or "",
            "preset": r.results.get("preset", r.config.get("preset")),
            "wall_seconds": r.results.get("wall_seconds"),
            "figures": len(r.figures),
        }
        for r in shown
    ]
    body = [
        f"<h1>rdlab report: {_esc(Path(runs_dir).resolve().name)}</h1>",
        f'<p class="muted">{len(runs)} runs under {_esc(Path(runs_dir).resolve())}, '
        f"page made {stamp}</p>",
        '<p id="check">(the check below runs in the browser)</p>',
        _table("runs", index) if index else "<p>No runs found.</p>",
    ]
    if len(runs) > MAX_RUNS:
        body.append(f'<p class="muted">{len(runs) - MAX_RUNS} more runs not shown</p>')
    body.extend(_run_section(r, assets, out) for r in shown)
    body.append('<h2 id="machine">Machine</h2>')
    body.append(
        _table(
            "this page was made on",
            [{"name": k, "value": str(v)} for k, v in machine_info().items()],
        )
    )
    body.append('<h2 id="errata">Errata</h2>')
    errata = errata_path()
    body.append(
        errata_html(errata.read_text())
        if errata is not None
        else "<p>docs/errata.md is not beside this installation; see the source tree.</p>"
    )
    doc = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>rdlab report</title><style>{STYLE}</style></head>\n<body>\n"
        + "\n".join(body)
        + f"\n<script>{SCRIPT}</script>\n</body></html>\n"
    )
    return atomic_write(page, lambda tmp: tmp.write_text(doc, encoding="utf-8"))


__all__ = [
    "MAX_ROWS",
    "MAX_RUNS",
    "RunRecord",
    "errata_html",
    "errata_path",
    "find_runs",
    "machine_info",
    "write_report",
]
