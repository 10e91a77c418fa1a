"""``rdlab reproduce``: run a registered paper reproduction into a run directory."""

from __future__ import annotations

import argparse

from rdlab.cli.common import emit_json

ENVIRONMENT = """environment:
  RDLAB_DATA     folder of the real data sets (MNIST, SVHN, Fashion-MNIST; see
                 docs/reproductions.md for which experiments read it)
  RDLAB_LC_DATA  data set of the seed-001 learned-codec reproductions (quick: digits,
                 mnist, fmnist, svhn; paper: mnist, svhn)
  RDLAB_DEVICE   torch device of the seed-001 learned codecs (cpu, cuda, cuda:N)
  RDLAB_JOBS     seed-001 models trained side by side in worker processes (default 1)
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "reproduce",
        help="reproduce a paper table or figure (see --list)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=ENVIRONMENT,
    )
    p.add_argument("name", nargs="?", help="experiment name, e.g. 001-fig1, or 'all'")
    p.add_argument("--list", action="store_true", help="list every reproduction")
    p.add_argument("--out", help="run directory (default runs/NAME; with 'all', a parent folder)")
    p.add_argument(
        "--preset", choices=("quick", "paper"), default="quick", help="settings (default quick)"
    )
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument(
        "--overwrite", action="store_true", help="replace an existing run directory's results"
    )
    p.add_argument("--json", action="store_true", help="print the results as one JSON object")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from rdlab.experiments.registry import list_experiments, run_experiment

    if args.list or not args.name:
        rows = [
            {"name": e.name, "paper": e.paper, "target": e.target, "description": e.description}
            for e in list_experiments()
        ]
        if args.json:
            emit_json({"experiments": rows})
        else:
            for r in rows:
                print(f"{r['name']:<12} {r['target']}")
                print(f"{'':<12} paper: {r['paper']}")
                print(f"{'':<12} {r['description']}")
        return 0
    if args.name == "all":
        names = [e.name for e in list_experiments()]
        parent = args.out or "runs"
        outs = {name: f"{parent}/{name}" for name in names}
    else:
        names = [args.name]
        outs = {args.name: args.out or f"runs/{args.name}"}
    summary = {}
    for name in names:
        results = run_experiment(
            name, outs[name], preset=args.preset, seed=args.seed, overwrite=args.overwrite
        )
        summary[name] = results.to_dict()
        if not args.json:
            print(
                f"{name} ({args.preset}) finished in {results['wall_seconds']} s; "
                f"results in {outs[name]}/"
            )
    if args.json:
        emit_json(summary[names[0]] if len(names) == 1 else {"experiments": list(summary.values())})
    return 0
