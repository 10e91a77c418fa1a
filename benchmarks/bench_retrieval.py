"""Benchmark of quantised retrieval: encoding, range coding and chunked scoring throughput.

1. Query side: fit the entropy-weighted product quantiser at R = 256 bits on the synthetic
   mixture (20 000 pairs), then time ``encode`` (k-means cell search), the bitstream of the
   indices (:class:`~rdlab.coding.pq.PQCodec`: range coding and its decoding) and the
   codewords, in queries per second.
2. Scoring: the bounded-memory top-10 (:func:`rdlab.models.retrieval.topk`) and the rank of the
   relevant document (:func:`rdlab.models.retrieval.relevant_ranks`) for corpora of 10^3 to 10^6
   documents (dimension 128, float32, random documents), in queries per second, one BLAS thread.

Prints Markdown tables; ``--json PATH`` also writes the numbers.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/bench_retrieval.py            # ~2 minutes on 2 cores
    OMP_NUM_THREADS=1 python benchmarks/bench_retrieval.py --quick    # seconds
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import numpy as np

from rdlab.coding.codec import read_stream
from rdlab.coding.pq import PQCodec, ProductQuantizer
from rdlab.models.retrieval import relevant_ranks, topk
from rdlab.sources.multimodal import make_multimodal_mixture


def _timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


def bench_query_side(n_pairs: int, bits: int) -> dict:
    d = make_multimodal_mixture(seed=0, n_pairs=n_pairs)
    pq, t_fit = _timed(
        ProductQuantizer.fit,
        d.train_queries,
        d.modality_dims,
        bits,
        seed=0,
        max_fit=5000,
        n_iter=8,
    )
    q = d.test_queries
    codec = PQCodec(pq)
    idx, t_enc = _timed(pq.encode, q)
    data, t_code = _timed(codec.pack_indices, idx)
    _, t_dec = _timed(codec.decode_indices, data)
    _, t_cw = _timed(pq.decode, idx)
    n = q.shape[0]
    payload = read_stream(data).payload
    return {
        "bits": bits,
        "n_queries": n,
        "fit_s": t_fit,
        "encode_qps": n / t_enc,
        "range_code_qps": n / t_code,
        "range_decode_qps": n / t_dec,
        "codeword_qps": n / t_cw,
        "rate_bits": 8 * len(data) / n,
        "rate_payload_bits": 8 * len(payload) / n,
    }


def bench_scoring(n_docs: int, n_queries: int, dim: int = 128) -> dict:
    rng = np.random.default_rng(1)
    docs = np.empty((n_docs, dim), dtype=np.float32)
    for a in range(0, n_docs, 100_000):
        docs[a : a + 100_000] = rng.standard_normal((min(100_000, n_docs - a), dim))
    q = rng.standard_normal((n_queries, dim)).astype(np.float32)
    rel = rng.integers(0, n_docs, size=n_queries)
    _, t_top = _timed(topk, q, docs, 10)
    _, t_rank = _timed(relevant_ranks, q, docs, rel)
    return {
        "n_docs": n_docs,
        "dim": dim,
        "n_queries": n_queries,
        "topk10_qps": n_queries / t_top,
        "rank_qps": n_queries / t_rank,
        "topk10_s": t_top,
        "rank_s": t_rank,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    ap.add_argument("--json", metavar="PATH", help="also write the numbers as JSON")
    args = ap.parse_args()
    sizes = (
        [(1_000, 256), (100_000, 64)]
        if args.quick
        else [(1_000, 4096), (10_000, 2048), (100_000, 512), (1_000_000, 128)]
    )
    query = bench_query_side(5000 if args.quick else 20_000, 256)
    scoring = [bench_scoring(n, nq) for n, nq in sizes]
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}\n"
    )
    print(
        "| R [bits] | rate_payload_bits [bits/query] | fit [s] | encode [q/s] | range code [q/s] "
        "| range decode [q/s] | codewords [q/s] |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|")
    print(
        f"| {query['bits']} | {query['rate_payload_bits']:.1f} | {query['fit_s']:.1f} | "
        f"{query['encode_qps']:,.0f} | {query['range_code_qps']:,.0f} | "
        f"{query['range_decode_qps']:,.0f} | {query['codeword_qps']:,.0f} |"
    )
    print("\n| documents | dim | queries | top-10 [q/s] | relevant rank [q/s] |")
    print("|---:|---:|---:|---:|---:|")
    for r in scoring:
        print(
            f"| {r['n_docs']:,} | {r['dim']} | {r['n_queries']} | {r['topk10_qps']:,.0f} | "
            f"{r['rank_qps']:,.0f} |"
        )
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"query_side": query, "scoring": scoring}, fh, indent=2)


if __name__ == "__main__":
    main()
