r"""Retrieval at a bit budget: decoders, the naive-CLIP baseline and evaluation (Chen, Secs.
5.2 and 7).

**Decoder (eq. 9, made concrete).** The paper ranks documents by
:math:`\langle C, E(Y^{(k)})\rangle / \tau_{m(k)}` with ``m(k)`` the "dominant modality" of the
document. One temperature per *document* only rescales whole rows and a single shared
temperature never changes an argsort, so we apply the temperatures per *modality block* of the
inner product:

.. math:: s_k(C) = \sum_m \langle C_m, E_m(Y^{(k)})\rangle / \tau_m,

which is eq. (9) when every document's embedding lives in one modality block and is the only
reading under which per-modality temperatures change a ranking of multimodal documents.

Temperature rules (:func:`method_temperatures`):

- ``"adaptive"``: :math:`\tau^\star_m = \sqrt{\bar H/\hat H_m}` (eq. 10,
  :func:`rdlab.theory.retrieval.adaptive_temperatures`);
- ``"schedule"``: :math:`\gamma\sqrt{|\hat H_m - \bar H| + \epsilon}` (Sec. 6,
  :func:`rdlab.theory.retrieval.temperature_schedule`);
- ``"fixed"``: one shared :math:`\tau` chosen by cross-validation over a grid
  (:func:`cross_validate_shared_temperature`). Because the decoder sorts, every shared ``τ``
  gives the same ranking; the cross-validation is run and reported anyway, and it ties.
- ``"clip"``: linear query and document encoders trained with InfoNCE at ``τ = 0.07``
  (:func:`train_clip`), the query embedding then product-quantised to the same ``R`` bits.

**Ranks.** The rank of the relevant document counts documents scoring higher plus those tying
with it (pessimistic ties, :mod:`rdlab.core.ranking`) within a relative tolerance of 1e-9 (the
relevant score is recomputed outside the chunked products). Scoring runs in query and document
chunks, so memory is ``query_chunk x doc_chunk`` scores whatever the corpus size.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from rdlab.coding.codec import read_stream
from rdlab.coding.pq import (
    PQCodec,
    ProductQuantizer,
    check_embeddings,
    check_modality_dims,
)
from rdlab.core.ranking import mean_reciprocal_rank, recall_at_k
from rdlab.core.validation import check_int, make_rng
from rdlab.theory.retrieval import (
    adaptive_temperatures,
    ranking_fano_min_distortion,
    temperature_schedule,
)

METHODS = ("adaptive", "schedule", "fixed", "clip")
"""Decoders / baselines understood by :func:`evaluate_methods`."""

CLIP_TEMPERATURE = 0.07
FIXED_TAU_GRID = (1.0, 0.07, 0.3, 3.0)
_REL_TOL = 1e-9


# ------------------------------------------------------------------------ temperatures


def method_temperatures(method: str, entropies: object) -> np.ndarray:
    """Per-modality temperatures of a PQ decoder (``adaptive``, ``schedule`` or ``fixed``)."""
    h = np.asarray(entropies, dtype=np.float64)
    if method == "adaptive":
        return adaptive_temperatures(h)
    if method == "schedule":
        return temperature_schedule(h)
    if method == "fixed":
        return np.ones_like(h)
    raise ValueError(f"method must be one of adaptive, schedule, fixed here, got {method!r}")


def dim_weights(modality_dims: tuple[int, ...], temperatures: object) -> np.ndarray:
    """Per-coordinate weights ``1/τ_m`` of the block inner product."""
    tau = np.asarray(temperatures, dtype=np.float64)
    if tau.shape != (len(modality_dims),) or np.any(~np.isfinite(tau)) or np.any(tau <= 0):
        raise ValueError(f"need {len(modality_dims)} positive temperatures, got {tau!r}")
    return np.repeat(1.0 / tau, modality_dims)


# ----------------------------------------------------------------------------- scoring


def _prep(queries: object, docs: object, weights: object) -> tuple[np.ndarray, np.ndarray]:
    d = check_embeddings("docs", docs)
    q = check_embeddings("queries", queries, d.shape[1])
    if weights is not None:
        w = np.asarray(weights, dtype=np.float64)
        if w.shape != (d.shape[1],):
            raise ValueError(f"weights must have shape ({d.shape[1]},), got {w.shape}")
        q = q.astype(np.float64) * w  # float64: a shared scale cannot reorder scores
    return q, d


def relevant_ranks(
    queries: object,
    docs: object,
    relevant: object,
    *,
    weights: object = None,
    query_chunk: int = 1024,
    doc_chunk: int = 16384,
) -> np.ndarray:
    """1-based rank (pessimistic ties) of each query's relevant document, chunked.

    Scores are :math:`\\sum_i w_i q_i y_i` (the block inner product of the module doc).
    """
    q, d = _prep(queries, docs, weights)
    rel = np.asarray(relevant)
    if rel.shape != (q.shape[0],) or not np.issubdtype(rel.dtype, np.integer):
        raise ValueError(f"relevant must hold {q.shape[0]} integer document indices")
    if rel.size and (rel.min() < 0 or rel.max() >= d.shape[0]):
        raise ValueError(f"relevant indices must be in [0, {d.shape[0] - 1}]")
    qc = check_int("query_chunk", query_chunk, minimum=1)
    dc = check_int("doc_chunk", doc_chunk, minimum=1)
    ranks = np.empty(q.shape[0], dtype=np.int64)
    for a in range(0, q.shape[0], qc):
        qq = q[a : a + qc].astype(np.float64)
        target = np.einsum("ij,ij->i", qq, d[rel[a : a + qc]].astype(np.float64))
        tol = _REL_TOL * (np.abs(target) + np.linalg.norm(qq, axis=1) + 1.0)
        above = np.zeros(qq.shape[0], dtype=np.int64)
        for b in range(0, d.shape[0], dc):
            s = qq @ d[b : b + dc].T.astype(np.float64)
            above += np.sum(s >= (target - tol)[:, None], axis=1)  # includes the relevant doc
        ranks[a : a + qc] = np.maximum(above, 1)
    return ranks


def topk(
    queries: object,
    docs: object,
    k: int,
    *,
    weights: object = None,
    query_chunk: int = 1024,
    doc_chunk: int = 16384,
) -> tuple[np.ndarray, np.ndarray]:
    """Indices and scores of the ``k`` best documents per query, best first; bounded memory.

    Keeps a running top-``k`` while scanning the corpus in ``doc_chunk`` blocks, so memory is
    ``query_chunk x (k + doc_chunk)`` scores for any corpus size. Ties are broken by the lower
    document index, as a stable full sort would. Scores are computed in the common float type of
    the inputs (float32 embeddings: float32 scores; with ``weights``: float64).
    """
    q, d = _prep(queries, docs, weights)
    kk = check_int("k", k, minimum=1, maximum=d.shape[0])
    qc = check_int("query_chunk", query_chunk, minimum=1)
    dc = check_int("doc_chunk", doc_chunk, minimum=1)
    out_i = np.empty((q.shape[0], kk), dtype=np.int64)
    dt = np.result_type(q.dtype, d.dtype)  # float32 data are scored in float32
    out_s = np.empty((q.shape[0], kk), dtype=dt)
    for a in range(0, q.shape[0], qc):
        qq = q[a : a + qc].astype(dt)
        best_s = np.full((qq.shape[0], 0), -np.inf, dtype=dt)
        best_i = np.zeros((qq.shape[0], 0), dtype=np.int64)
        for b in range(0, d.shape[0], dc):
            s = qq @ d[b : b + dc].T.astype(dt, copy=False)
            cs, ci = _chunk_topk(s, kk)
            cand_s = np.concatenate([best_s, cs], axis=1)
            cand_i = np.concatenate([best_i, ci + b], axis=1)
            order = np.lexsort((cand_i, -cand_s), axis=1)[:, : min(kk, cand_s.shape[1])]
            best_s = np.take_along_axis(cand_s, order, axis=1)
            best_i = np.take_along_axis(cand_i, order, axis=1)
        out_i[a : a + qc] = best_i
        out_s[a : a + qc] = best_s
    return out_i, out_s


def _chunk_topk(s: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` of each row of a score block, ties to the lower column (exact, fast path)."""
    n = s.shape[1]
    if n <= k:
        order = np.lexsort((np.broadcast_to(np.arange(n), s.shape), -s), axis=1)
        return np.take_along_axis(s, order, axis=1), order
    kth = np.partition(s, n - k, axis=1)[:, n - k]  # the k-th largest score of each row
    rows, cols = np.nonzero(s >= kth[:, None])  # >= k candidates per row, ties included
    vals = s[rows, cols]
    order = np.lexsort((cols, -vals, rows))
    rows, cols, vals = rows[order], cols[order], vals[order]
    take = np.searchsorted(rows, np.arange(s.shape[0]))[:, None] + np.arange(k)[None, :]
    return vals[take], cols[take]


def ranking_metrics(ranks: np.ndarray) -> dict[str, float]:
    """MRR, distortion 1 - MRR and Recall@1/5/10 of 1-based ranks."""
    mrr = mean_reciprocal_rank(ranks)
    return {
        "mrr": mrr,
        "distortion": 1.0 - mrr,
        "recall_at_1": recall_at_k(1, ranks),
        "recall_at_5": recall_at_k(5, ranks),
        "recall_at_10": recall_at_k(10, ranks),
    }


def cross_validate_shared_temperature(
    pq: ProductQuantizer,
    queries: object,
    relevant: np.ndarray,
    docs: np.ndarray,
    *,
    grid: tuple[float, ...] = FIXED_TAU_GRID,
    n_folds: int = 2,
    seed: object = 0,
) -> tuple[float, list[float]]:
    """Shared temperature with the best mean validation MRR over ``n_folds`` folds.

    The quantiser is fitted beforehand; the folds only choose ``τ``. Returns ``(τ, MRRs per
    grid value)``; ties go to the first grid value (all values tie for an argsort decoder).
    """
    rng = make_rng(seed)
    q = check_embeddings("queries", queries)
    folds = np.array_split(rng.permutation(q.shape[0]), n_folds)
    codes = pq.decode(pq.encode(q))
    scores = []
    for tau in grid:
        w = dim_weights(pq.modality_dims, np.full(len(pq.modality_dims), tau))
        mrrs = [
            mean_reciprocal_rank(relevant_ranks(codes[f], docs, relevant[f], weights=w))
            for f in folds
        ]
        scores.append(float(np.mean(mrrs)))
    return float(grid[int(np.argmax(scores))]), scores


# -------------------------------------------------------------------------- naive CLIP


@dataclass(frozen=True)
class ClipEncoders:
    """Linear query / document encoders of the naive-CLIP baseline (normalised outputs)."""

    w_query: np.ndarray
    w_doc: np.ndarray
    final_loss: float

    def embed_queries(self, x: np.ndarray) -> np.ndarray:
        e = np.asarray(x, dtype=np.float32) @ self.w_query
        return e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)

    def embed_docs(self, y: np.ndarray) -> np.ndarray:
        e = np.asarray(y, dtype=np.float32) @ self.w_doc
        return e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)


def train_clip(
    train_queries: object,
    train_relevant: object,
    docs: object,
    *,
    seed: int,
    embed_dim: int = 64,
    temperature: float = CLIP_TEMPERATURE,
    epochs: int = 5,
    batch_size: int = 256,
    lr: float = 5e-3,
    max_negatives: int = 4096,
) -> ClipEncoders:
    """Train linear encoders with InfoNCE (query to document) at a fixed temperature (torch CPU).

    Negatives: the whole corpus when it has at most ``max_negatives`` documents, otherwise the
    batch's relevant documents plus a random sample up to ``max_negatives``. Adam, one thread.
    """
    import torch

    torch.set_num_threads(1)
    d = check_embeddings("docs", docs)
    q = check_embeddings("train queries", train_queries, d.shape[1])
    rel = np.asarray(train_relevant, dtype=np.int64)
    e = check_int("embed_dim", embed_dim, minimum=1)
    gen = torch.Generator().manual_seed(int(seed))
    rng = make_rng(seed)
    qt = torch.from_numpy(np.ascontiguousarray(q, dtype=np.float32))
    dt = torch.from_numpy(np.ascontiguousarray(d, dtype=np.float32))
    scale = 1.0 / math.sqrt(d.shape[1])
    wq = (torch.randn(d.shape[1], e, generator=gen) * scale).requires_grad_()
    wd = (torch.randn(d.shape[1], e, generator=gen) * scale).requires_grad_()
    opt = torch.optim.Adam([wq, wd], lr=lr)
    loss_val = float("nan")
    n_docs = d.shape[0]
    for _ in range(check_int("epochs", epochs, minimum=1)):
        perm = rng.permutation(q.shape[0])
        for a in range(0, q.shape[0], batch_size):
            rows = perm[a : a + batch_size]
            target = rel[rows]
            if n_docs <= max_negatives:
                cand = np.arange(n_docs)
                labels = target
            else:
                extra = rng.choice(n_docs, max_negatives, replace=False)
                cand, inv = np.unique(np.concatenate([target, extra]), return_inverse=True)
                labels = inv[: target.size]
            zq = torch.nn.functional.normalize(qt[rows] @ wq, dim=1)
            zd = torch.nn.functional.normalize(dt[cand] @ wd, dim=1)
            logits = zq @ zd.T / temperature
            loss = torch.nn.functional.cross_entropy(logits, torch.from_numpy(labels))
            opt.zero_grad()
            loss.backward()
            opt.step()
            loss_val = float(loss.detach())
    return ClipEncoders(
        w_query=wq.detach().numpy().copy(), w_doc=wd.detach().numpy().copy(), final_loss=loss_val
    )


# -------------------------------------------------------------------------- evaluation


@dataclass(frozen=True)
class RetrievalResult:
    """One method at one bit budget, evaluated on held-out queries.

    Rates are bits per query, from the real bitstream of all test queries (:class:`PQCodec`):
    ``rate_bits`` the whole file, ``rate_payload_bits`` the range-coded indices alone,
    ``rate_information_bits`` their information content; ``bits`` is the budget R (the
    fixed-length index). ``distortion`` is 1 - MRR (``distortion_measure`` ``"ranking"``);
    ``bound_distortion`` is the ranking Fano bound at ``rate_payload_bits`` and
    ``bound_distortion_nominal`` at ``bits``. ``allocation`` is the quantiser's bit allocation
    (:meth:`~rdlab.coding.pq.ProductQuantizer.describe`).
    """

    method: str
    bits: int
    rate_bits: float
    rate_payload_bits: float
    rate_information_bits: float
    bitstream_bytes: int
    payload_bytes: int
    mrr: float
    distortion: float
    recall_at_1: float
    recall_at_5: float
    recall_at_10: float
    bound_distortion: float
    bound_distortion_nominal: float
    n_queries: int
    n_docs: int
    distortion_measure: str = "ranking"
    temperatures: list[float] = field(default_factory=list)
    allocation: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _evaluate_codes(
    method: str,
    pq: ProductQuantizer,
    test_queries: np.ndarray,
    test_relevant: np.ndarray,
    docs: np.ndarray,
    bits: int,
    temperatures: np.ndarray,
    *,
    codeword: str,
    seed: int,
    idx: np.ndarray | None = None,
) -> RetrievalResult:
    if idx is None:
        idx = pq.encode(test_queries)
    codec = PQCodec(pq, codeword=codeword)
    data = codec.pack_indices(idx, seed=seed)
    codes = codec.decode(data)
    w = dim_weights(pq.modality_dims, temperatures)
    ranks = relevant_ranks(codes, docs, test_relevant, weights=w)
    n = idx.shape[0]
    payload = read_stream(data, codec="pq").payload
    rate = 8.0 * len(payload) / n
    met = ranking_metrics(ranks)
    return RetrievalResult(
        method=method,
        bits=int(bits),
        rate_bits=8.0 * len(data) / n,
        rate_payload_bits=rate,
        rate_information_bits=codec.stream_rates(data)["rate_information_bits"],
        bitstream_bytes=len(data),
        payload_bytes=len(payload),
        n_queries=n,
        n_docs=int(docs.shape[0]),
        bound_distortion=ranking_fano_min_distortion(rate, int(docs.shape[0])),
        bound_distortion_nominal=ranking_fano_min_distortion(float(bits), int(docs.shape[0])),
        temperatures=[float(t) for t in temperatures],
        allocation=pq.describe(),
        **met,
    )


def evaluate_methods(
    train_queries: object,
    train_relevant: object,
    test_queries: object,
    test_relevant: object,
    docs: object,
    modality_dims: object,
    bits: int,
    methods: tuple[str, ...] = ("adaptive", "fixed", "clip"),
    *,
    seed: int,
    codeword: str = "centroid",
    clip: ClipEncoders | None = None,
    clip_kwargs: dict[str, Any] | None = None,
    max_fit: int = 20000,
    n_iter: int = 20,
    max_bits: int = 8,
) -> dict[str, RetrievalResult]:
    """Fit, code (real bytes), decode and rank for each method at ``bits`` bits per query.

    ``adaptive``, ``schedule`` and ``fixed`` share one entropy-weighted product quantiser and
    differ only in the decoder's temperatures; ``clip`` trains (or takes) linear InfoNCE
    encoders and product-quantises the query embedding to the same ``bits``.
    """
    d = check_embeddings("docs", docs)
    dims = check_modality_dims(modality_dims, d.shape[1])
    tq = check_embeddings("train queries", train_queries, d.shape[1])
    sq = check_embeddings("test queries", test_queries, d.shape[1])
    trel = np.asarray(train_relevant, dtype=np.int64)
    srel = np.asarray(test_relevant, dtype=np.int64)
    for name, r, n in (("train", trel, tq.shape[0]), ("test", srel, sq.shape[0])):
        if r.shape != (n,) or (r.size and (r.min() < 0 or r.max() >= d.shape[0])):
            raise ValueError(f"{name} relevance must hold {n} indices in [0, {d.shape[0]})")
    bad = [m for m in methods if m not in METHODS]
    if bad or not methods:
        raise ValueError(f"methods must be among {METHODS}, got {list(methods)}")
    out: dict[str, RetrievalResult] = {}
    pq_methods = [m for m in methods if m != "clip"]
    if pq_methods:
        pq = ProductQuantizer.fit(
            tq, dims, bits, seed=seed, max_fit=max_fit, n_iter=n_iter, max_bits=max_bits
        )
        idx = pq.encode(sq)
        for m in pq_methods:
            tau = method_temperatures(m, pq.entropies)
            if m == "fixed":
                sub = make_rng(seed).choice(tq.shape[0], min(tq.shape[0], 4000), replace=False)
                best, _ = cross_validate_shared_temperature(pq, tq[sub], trel[sub], d, seed=seed)
                tau = np.full(len(dims), best)
            out[m] = _evaluate_codes(
                m, pq, sq, srel, d, bits, tau, codeword=codeword, seed=seed, idx=idx
            )
    if "clip" in methods:
        enc = clip or train_clip(tq, trel, d, seed=seed, **(clip_kwargs or {}))
        eq = enc.embed_queries(tq)
        pq_c = ProductQuantizer.fit(
            eq, (eq.shape[1],), bits, seed=seed, max_fit=max_fit, n_iter=n_iter, max_bits=max_bits
        )
        ed = enc.embed_docs(d)
        es = enc.embed_queries(sq)
        out["clip"] = _evaluate_codes(
            "clip",
            pq_c,
            es,
            srel,
            ed,
            bits,
            np.array([CLIP_TEMPERATURE]),
            codeword=codeword,
            seed=seed,
        )
    return out
