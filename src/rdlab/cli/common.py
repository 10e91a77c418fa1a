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
from rdlab.core.validation import check_int


def emit_json(obj: dict[str, Any], where: str = "rdlab --json") -> None:
    """Print ``obj`` as one JSON line; its keys must be in the glossary (a
    :class:`~rdlab.core.glossary.GlossaryWarning` names any that is not)."""
    out = jsonable(obj)
    check_keys(out, where)
    print(json.dumps(out))


IMAGE_SOURCES = ("mnist", "fmnist", "svhn", "digits")

#: The most points a curve command computes (``--points``, ``--levels``): beyond, a plot or a
#: table gains nothing and a typo (``--points 100000000``) would run for minutes.
MAX_POINTS = 10_000


def check_points(name: str, value: object, minimum: int = 2) -> int:
    """``value`` as an int in ``[minimum, MAX_POINTS]``; a clear error naming ``name`` otherwise."""
    return check_int(name, value, minimum=minimum, maximum=MAX_POINTS)


def add_source_arguments(parser: argparse.ArgumentParser) -> None:
    """``--source NAME`` (with ``--variances``, ``--data-dir``, ``--n-images``) or ``--data PATH``.

    One of the two is required; :func:`source_from_args` builds the source.
    """
    grp = parser.add_mutually_exclusive_group(required=True)
    grp.add_argument(
        "--source", help="registered source (gaussian20, gaussian, digits, mnist, ...)"
    )
    grp.add_argument(
        "--data",
        metavar="PATH",
        help="your data: a .npy array ((n, m) vectors; (n, H, W) or (n, C, H, W) images, uint8 "
        "or float in [0, 1]) or a folder of PNG/JPEG images",
    )
    parser.add_argument("--variances", help="comma-separated variances (for --source gaussian)")
    parser.add_argument("--data-dir", help="folder with the image files (or set RDLAB_DATA)")
    parser.add_argument("--n-images", type=int, help="use the first N images of an image source")
    parser.add_argument(
        "--resize",
        type=int,
        metavar="N",
        help="image sources: resize bilinearly to N x N instead of zero-padding (mnist and "
        "fmnist: --resize 32 is the official NERD-RCC preprocessing)",
    )


def source_spec_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The JSON spec of :func:`add_source_arguments`' flags (checked):
    ``{"data": PATH}`` or ``{"source": NAME, "params": {...}}``
    (:func:`rdlab.sources.user_data.source_from_spec` builds the source)."""
    if args.data is not None:
        for flag, value in (
            ("--variances", args.variances),
            ("--data-dir", args.data_dir),
            ("--n-images", args.n_images),
            ("--resize", args.resize),
        ):
            if value is not None:
                raise ValueError(f"{flag} applies to --source, not to --data")
        return {"data": args.data}
    params: dict[str, Any] = {}
    if args.variances is not None:
        if args.source != "gaussian":
            raise ValueError("--variances applies to --source gaussian only")
        params["variances"] = parse_float_list(args.variances, "--variances")
    if args.data_dir is not None or args.n_images is not None or args.resize is not None:
        if args.source not in IMAGE_SOURCES:
            raise ValueError("--data-dir, --n-images and --resize apply to image sources only")
        if args.resize is not None:
            params["resize_to"] = args.resize
        if args.data_dir is not None:
            if args.source == "digits":
                raise ValueError("the digits source is embedded; it takes no --data-dir")
            params["data_dir"] = args.data_dir
        if args.n_images is not None:
            params["n"] = args.n_images
    return {"source": args.source, "params": params}


def source_from_args(args: argparse.Namespace) -> tuple[Any, str]:
    """The source of :func:`add_source_arguments`' flags and the name a run records."""
    from rdlab.sources.user_data import source_from_spec

    return source_from_spec(source_spec_from_args(args))


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
