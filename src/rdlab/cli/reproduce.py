"""``rdlab reproduce``: run a registered paper reproduction into a run directory."""

from __future__ import annotations

import argparse
import json

from rdlab.cli.common import emit_json
from rdlab.experiments.runner import EXECUTORS

ENVIRONMENT = """environment:
  RDLAB_DATA     folder of the real data sets (MNIST, SVHN, Fashion-MNIST) when --data-dir
                 is not given; see docs/reproductions.md for which experiments read it

on a Ray cluster (pip install 'rdlab[ray]' on every node; the run directory on a shared
file system):
  rdlab reproduce 001-fig4 --executor ray --address HOST:6379 --gpus-per-job 0.25 --device cuda
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
    o = p.add_argument_group("options (experiments that train several models)")
    o.add_argument("--data", help="data set instead of the preset's (e.g. mnist, svhn)")
    o.add_argument("--data-dir", metavar="DIR", help="folder of the real data sets")
    o.add_argument("--device", default="cpu", help="torch device: cpu, cuda, cuda:N")
    o.add_argument(
        "--executor", choices=EXECUTORS, default="local", help="where jobs run (default local)"
    )
    o.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="local: worker processes; ray without --address: CPUs of the local instance",
    )
    o.add_argument("--address", help="ray: the cluster to join (auto, HOST:6379, ray://HOST:10001)")
    o.add_argument("--cpus-per-job", type=float, help="ray: CPUs of each job (default 1)")
    o.add_argument("--gpus-per-job", type=float, default=0.0, help="ray: GPUs of each job")
    o.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an experiment setting (repeatable; the value is read as JSON, else as text)",
    )
    p.set_defaults(func=_run)


def parse_settings(pairs: list[str]) -> dict[str, object]:
    """``["a=1", "b=x"]`` -> ``{"a": 1, "b": "x"}`` (values as JSON where they parse)."""
    out: dict[str, object] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--set takes KEY=VALUE, got {pair!r}")
        try:
            value = json.loads(raw)
        except ValueError:
            value = raw
        out[key.strip()] = value
    return out


def options_from_args(args: argparse.Namespace):
    """The :class:`~rdlab.experiments.ExperimentOptions` of the parsed flags."""
    from rdlab.experiments import ExperimentOptions

    return ExperimentOptions(
        data=args.data,
        data_dir=args.data_dir,
        device=args.device,
        executor=args.executor,
        jobs=args.jobs,
        address=args.address,
        cpus_per_job=args.cpus_per_job,
        gpus_per_job=args.gpus_per_job,
        settings=parse_settings(args.set),
    )


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
    from rdlab.experiments import ExperimentOptions, get_experiment

    options = options_from_args(args)
    summary = {}
    for name in names:
        opts = options
        if args.name == "all" and not options.used_groups() <= set(get_experiment(name).options):
            opts = ExperimentOptions()  # 'all': the options go to the experiments that take them
        results = run_experiment(
            name,
            outs[name],
            preset=args.preset,
            seed=args.seed,
            overwrite=args.overwrite,
            options=opts,
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
