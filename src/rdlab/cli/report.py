"""``rdlab report RUNS_DIR --out DIR``: one static HTML page of every run under a folder."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report",
        help="one HTML page of every run under a folder (tables, figures, configs, errata)",
        description="Write DIR/index.html (figures in DIR/assets/): every run and reproduction "
        "found under RUNS_DIR with the paper's numbers beside ours, the figures, configurations "
        "and wall times, the machine and the errata. No server or network is needed to view it.",
    )
    p.add_argument("runs_dir", metavar="RUNS_DIR", help="folder holding run directories")
    p.add_argument("--out", required=True, metavar="DIR", help="folder of the page")
    p.add_argument("--force", action="store_true", help="replace an existing DIR/index.html")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from rdlab.experiments.report import write_report

    page = write_report(args.runs_dir, args.out, overwrite=args.force)
    print(f"wrote {page}")
    return 0
