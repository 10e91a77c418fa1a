"""``rdlab retrieval``: rate-distortion limits of retrieval under the ranking distortion 1 - RR.

Subcommands:

- ``rdlab retrieval bound --corpus N``: the ranking Fano lower bound on R(D) (corrected eq. (5)
  of Chen, "Rate-Distortion Limits for Multimodal Retrieval") as a curve, or with ``--rate R``
  the smallest distortion (largest MRR) any code of R bits can reach.
- ``rdlab retrieval synthetic --bits R --method adaptive|fixed|schedule|clip --seed S``: one
  trial on the synthetic multimodal mixture of Sec. 7.1 (entropy-weighted product quantiser,
  range-coded indices, held-out MRR, Recall@k and the corrected bound at the measured rate).
- ``rdlab retrieval eval --queries Q.npy --docs D.npy --modalities SPEC --bits R --method M``:
  the same on user-supplied embedding arrays (see ``docs/retrieval.md``).
"""

from __future__ import annotations

import argparse
import math

from rdlab.cli.common import add_output_arguments, check_points, emit_curves, emit_json
from rdlab.core.io import read_npy
from rdlab.core.results import RDCurve, RDPoint
from rdlab.core.validation import check_int


def register(sub: argparse._SubParsersAction) -> None:
    retrieval = sub.add_parser(
        "retrieval", help="rate-distortion limits of retrieval (ranking distortion 1 - RR)"
    )
    actions = retrieval.add_subparsers(dest="retrieval_command", metavar="SUBCOMMAND")
    actions.required = True

    b = actions.add_parser(
        "bound",
        help="ranking Fano lower bound on R(D) for a corpus of N documents",
        description=(
            "Lower bound on the rate R(D) in bits for expected ranking distortion D = 1 - MRR, "
            "relevant document uniform on a corpus of N: R(D) >= log2 N - h(p) - p log2(N-1) "
            "with p = min(2D, 1 - 1/N)."
        ),
    )
    b.add_argument("--corpus", type=int, required=True, help="corpus size N (>= 2)")
    b.add_argument("--points", type=int, default=21, help="number of curve points (default 21)")
    b.add_argument(
        "--max-distortion",
        type=float,
        default=None,
        help="right end of the distortion grid, in (0, 1] (default: where the bound reaches 0)",
    )
    b.add_argument(
        "--rate",
        type=float,
        help="one point: the smallest distortion the bound allows at this rate in bits",
    )
    add_output_arguments(b)
    b.set_defaults(func=_run_bound)

    s = actions.add_parser(
        "synthetic",
        help="quantised retrieval on the synthetic multimodal mixture (Chen, Sec. 7.1)",
        description=(
            "One trial: sample the mixture, fit the quantiser on the training queries, "
            "range-code the held-out queries' indices and rank the corpus. Prints the measured "
            "rate (bits per query), distortion 1 - MRR, MRR, Recall@1/5/10 and the corrected "
            "ranking Fano bound at the measured rate."
        ),
    )
    _add_method_arguments(s)
    s.add_argument("--corpus", type=int, default=1000, help="documents N (default 1000)")
    s.add_argument("--pairs", type=int, default=20000, help="query-document pairs (default 20000)")
    s.add_argument("--rho", type=float, default=0.4, help="redundancy 1/sigma^2 (default 0.4)")
    s.add_argument(
        "--noise-scales",
        default="1,1",
        help="per-modality factors on sigma, comma-separated (default 1,1: balanced)",
    )
    s.add_argument("--dims", default="64,64", help="per-modality dimensions (default 64,64)")
    s.set_defaults(func=_run_synthetic)

    e = actions.add_parser(
        "eval",
        help="quantised retrieval on user-supplied query and document embeddings",
        description=(
            "Queries and documents are .npy float arrays with the same columns, the "
            "concatenation of the modality blocks named by --modalities. A seeded share of "
            "the queries (--test-fraction) is held out; the rest fit the quantiser."
        ),
    )
    e.add_argument("--queries", required=True, help="query embeddings (n_queries, dim), .npy")
    e.add_argument("--docs", required=True, help="document embeddings (n_docs, dim), .npy")
    e.add_argument(
        "--relevant",
        help="relevant document index per query (.npy ints); default: query i -> document "
        "i * n_docs // n_queries (one or more queries per document, in order)",
    )
    e.add_argument(
        "--modalities",
        required=True,
        help="modality block sizes, comma-separated, summing to dim (e.g. 512,512)",
    )
    e.add_argument("--test-fraction", type=float, default=0.5, help="held-out share (default 0.5)")
    _add_method_arguments(e)
    e.set_defaults(func=_run_eval)


def _run_bound(args: argparse.Namespace) -> int:
    from rdlab.core.ranking import random_ranking_mrr
    from rdlab.theory.retrieval import (
        ranking_fano_bound,
        ranking_fano_curve,
        ranking_fano_dmax,
        ranking_fano_min_distortion,
        ranking_fano_slope,
    )

    n = check_int("--corpus", args.corpus, minimum=2)
    zero_from = ranking_fano_dmax(n)
    header = {
        "command": "retrieval bound",
        "bound": "ranking-fano",
        "n_docs": n,
        "rate_at_zero_distortion_bits": math.log2(n),
        "zero_from_distortion": zero_from,
        "random_ranking_distortion": 1.0 - random_ranking_mrr(n),
    }
    if args.rate is not None:
        if args.max_distortion is not None:
            raise ValueError("give at most one of --rate and --max-distortion")
        d = ranking_fano_min_distortion(args.rate, n)
        slope = ranking_fano_slope(d, n)
        point = RDPoint(
            rate_bits=float(args.rate),
            distortion=d,
            slope=slope if math.isfinite(slope) else None,
            rate_lower_bits=ranking_fano_bound(d, n),
            method="ranking-fano",
        )
        header["max_mrr"] = 1.0 - d
        curves = [RDCurve(points=(point,), label=f"ranking Fano bound, N={n}")]
    else:
        max_d = zero_from if args.max_distortion is None else args.max_distortion
        curves = [
            ranking_fano_curve(
                n, n_points=check_points("--points", args.points), max_distortion=max_d
            )
        ]
    emit_curves(
        curves,
        args,
        header=header,
        xlabel="expected ranking distortion D = 1 - MRR",
        ylabel="rate lower bound [bits]",
        title=f"Ranking Fano bound, N = {n}",
    )
    return 0


def _add_method_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--bits", type=int, required=True, help="bits per query R (>= modalities)")
    p.add_argument(
        "--method",
        choices=("adaptive", "fixed", "schedule", "clip"),
        default="adaptive",
        help="decoder / baseline (default adaptive)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of everything (default 0)")
    p.add_argument(
        "--codeword",
        choices=("centroid", "sample"),
        default="centroid",
        help="codeword of a cell: its centroid or a random training point of it",
    )
    p.add_argument("--clip-epochs", type=int, default=5, help="InfoNCE epochs (clip)")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def _int_list(text: str, name: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.replace(" ", "").split(",") if v)
    except ValueError:
        raise ValueError(f"{name} must be comma-separated integers, got {text!r}") from None
    if not values:
        raise ValueError(f"{name} must not be empty")
    return values


def _emit_result(result, header: dict, args: argparse.Namespace) -> int:
    point = {
        "rate_bits": result.rate_bits,
        "distortion": result.distortion,
        "mrr": result.mrr,
        "recall_at_1": result.recall_at_1,
        "recall_at_5": result.recall_at_5,
        "recall_at_10": result.recall_at_10,
        "bound_distortion": result.bound_distortion,
        "rate_payload_bits": result.rate_payload_bits,
        "rate_information_bits": result.rate_information_bits,
        "distortion_measure": result.distortion_measure,
        "method": result.method,
    }
    obj = {
        **header,
        "bits": result.bits,
        "n_queries": result.n_queries,
        "n_docs": result.n_docs,
        "temperatures": result.temperatures,
        "allocation": result.allocation,
        "points": [point],
    }
    if args.json:
        emit_json(obj)
        return 0
    for key, value in obj.items():
        if key != "points":
            print(f"{key}: {value}")
    for key, value in point.items():
        print(f"{key}: {value:.6g}" if isinstance(value, float) else f"{key}: {value}")
    return 0


def _run_synthetic(args: argparse.Namespace) -> int:
    import torch

    from rdlab.models.retrieval import evaluate_methods
    from rdlab.sources.multimodal import make_multimodal_mixture

    torch.set_num_threads(1)
    dims = _int_list(args.dims, "--dims")
    scales = tuple(float(v) for v in args.noise_scales.split(","))
    data = make_multimodal_mixture(
        seed=args.seed,
        n_docs=args.corpus,
        n_pairs=args.pairs,
        rho=args.rho,
        dims=dims,
        noise_scales=scales,
    )
    res = evaluate_methods(
        data.train_queries,
        data.train_relevant,
        data.test_queries,
        data.test_relevant,
        data.docs,
        data.modality_dims,
        args.bits,
        (args.method,),
        seed=args.seed,
        codeword=args.codeword,
        clip_kwargs={"epochs": args.clip_epochs},
    )[args.method]
    header = {"command": "retrieval synthetic", "seed": args.seed, "mixture": data.meta}
    return _emit_result(res, header, args)


def _run_eval(args: argparse.Namespace) -> int:
    import numpy as np
    import torch

    from rdlab.coding.pq import check_embeddings, check_modality_dims
    from rdlab.core.validation import check_in_range, make_rng
    from rdlab.models.retrieval import evaluate_methods

    torch.set_num_threads(1)
    docs = check_embeddings("--docs", read_npy(args.docs, "--docs"))
    queries = check_embeddings("--queries", read_npy(args.queries, "--queries"))
    if queries.shape[1] != docs.shape[1]:
        raise ValueError(
            f"--queries have dimension {queries.shape[1]} but --docs have {docs.shape[1]}"
        )
    dims = check_modality_dims(_int_list(args.modalities, "--modalities"), docs.shape[1])
    n_q, n_d = queries.shape[0], docs.shape[0]
    if args.relevant:
        rel = np.asarray(read_npy(args.relevant, "--relevant"))
        if rel.shape != (n_q,) or not np.issubdtype(rel.dtype, np.integer):
            raise ValueError(f"--relevant must hold {n_q} integer indices, got {rel.shape}")
        if rel.min() < 0 or rel.max() >= n_d:
            raise ValueError(f"--relevant indices must be in [0, {n_d})")
    else:
        rel = (np.arange(n_q) * n_d) // n_q
    frac = check_in_range(
        "--test-fraction", args.test_fraction, 0.0, 1.0, low_open=True, high_open=True
    )
    perm = make_rng(args.seed).permutation(n_q)
    n_test = min(max(1, round(frac * n_q)), n_q - 1)
    test, train = perm[:n_test], perm[n_test:]
    res = evaluate_methods(
        queries[train],
        rel[train],
        queries[test],
        rel[test],
        docs,
        dims,
        args.bits,
        (args.method,),
        seed=args.seed,
        codeword=args.codeword,
        clip_kwargs={"epochs": args.clip_epochs},
    )[args.method]
    header = {
        "command": "retrieval eval",
        "seed": args.seed,
        "queries": args.queries,
        "docs": args.docs,
        "modality_dims": list(dims),
        "n_train": int(train.size),
    }
    return _emit_result(res, header, args)
