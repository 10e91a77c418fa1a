"""``rdlab sample``: write seeded samples of a registered source to a .npy file."""

from __future__ import annotations

import argparse

from rdlab.cli.common import add_source_arguments, source_from_args
from rdlab.core.io import check_writable, save_npy_atomic
from rdlab.core.validation import check_int


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sample", help="write samples of a registered source (or draws from your data) to OUT.npy"
    )
    add_source_arguments(p)
    p.add_argument("--n", type=int, required=True, help="number of samples")
    p.add_argument("--seed", type=int, required=True, help="random seed (int >= 0)")
    p.add_argument("--force", action="store_true", help="overwrite OUT if it exists")
    p.add_argument("out", metavar="OUT.npy", help="output file")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    if not args.out.endswith(".npy"):
        raise ValueError(f"OUT must end in .npy, got {args.out!r}")
    n = check_int("--n", args.n, minimum=1)
    source, name = source_from_args(args)
    out = check_writable(args.out, overwrite=args.force)
    x = source.sample(n, seed=args.seed)
    save_npy_atomic(out, x)
    print(f"wrote {x.shape[0]} samples of shape {x.shape[1:] or '()'} from {name} to {out}")
    return 0
