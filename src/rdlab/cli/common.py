"""Output helpers shared by the subcommands: tables, ``--json`` and ``--plot``."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from rdlab.core.glossary import check_keys
from rdlab.core.io import check_writable, write_figure
from rdlab.core.results import RDCurve, jsonable
from rdlab.core.table import format_table


def emit_json(obj: dict[str, Any], where: str = "rdlab --json") -> None:
    """Print ``obj`` as one JSON line; its keys must be in the glossary (a
    :class:`~rdlab.core.glossary.GlossaryWarning` names any that is not)."""
    out = jsonable(obj)
    check_keys(out, where)
    print(json.dumps(out))


def add_output_arguments(parser: argparse.ArgumentParser) -> None:
    """``--json``, ``--plot PATH`` and ``--force`` (overwrite an existing plot)."""
    parser.add_argument(
        "--json", action="store_true", help="print one JSON object instead of a table"
    )
    parser.add_argument("--plot", metavar="PATH", help="write a plot (PNG) to PATH")
    parser.add_argument("--force", action="store_true", help="overwrite an existing --plot file")


def parse_float_list(text: str, name: str) -> list[float]:
    try:
        values = [float(v) for v in text.replace(" ", "").split(",") if v]
    except ValueError:
        raise ValueError(
            f"{name} must be a comma-separated list of numbers, got {text!r}"
        ) from None
    if not values:
        raise ValueError(f"{name} must not be empty")
    return values


CURVE_COLUMNS = (
    ("rate_bits", "rate [bits]"),
    ("distortion", "distortion"),
    ("slope", "slope [bits/unit D]"),
    ("gap_bits", "certified gap [bits]"),
)


def emit_curves(
    curves: Iterable[RDCurve],
    args: argparse.Namespace,
    *,
    header: dict[str, Any] | None = None,
    xlabel: str = "distortion",
    ylabel: str = "rate [bits]",
    title: str = "",
) -> None:
    """Print curves as tables (or one JSON object with ``--json``) and plot them with ``--plot``.

    With one curve the JSON object is ``{**header, "points": [...]}``; with several it also has
    ``"curves": [{"label": ..., "points": [...]}, ...]`` and ``points`` is the first curve's.
    """
    curves = list(curves)
    if args.plot:
        plot_curves(
            curves, args.plot, overwrite=args.force, xlabel=xlabel, ylabel=ylabel, title=title
        )
    if args.json:
        obj: dict[str, Any] = dict(header or {})
        obj["points"] = curves[0].to_dict()["points"] if curves else []
        if len(curves) > 1:
            obj["curves"] = [c.to_dict() for c in curves]
        emit_json(obj)
        return
    for key, value in (header or {}).items():
        print(f"{key}: {value}")
    for curve in curves:
        rows = [p.to_dict() for p in curve.points]
        cols = [c for c in CURVE_COLUMNS if any(c[0] in r for r in rows)]
        extra = [(k, k) for k in ("perception",) if any(k in r for r in rows)]
        print(f"\n{curve.label}" if curve.label else "")
        print(format_table(rows, cols[:2] + extra + cols[2:]))
    if args.plot:
        print(f"\nplot written to {args.plot}", file=sys.stderr)


def plot_curves(
    curves: Sequence[RDCurve],
    path: str | Path,
    *,
    overwrite: bool,
    xlabel: str = "distortion",
    ylabel: str = "rate [bits]",
    title: str = "",
) -> None:
    check_writable(path, overwrite=overwrite)
    from rdlab.core.io import headless_pyplot

    plt = headless_pyplot()

    fig, ax = plt.subplots(figsize=(6, 4.2))
    for curve in curves:
        style = "o" if len(curve) <= 12 else "-"
        ax.plot(curve.distortion, curve.rate_bits, style, label=curve.label or None)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    if any(c.label for c in curves):
        ax.legend()
    write_figure(fig, path)
