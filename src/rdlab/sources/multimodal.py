r"""Synthetic multimodal retrieval mixtures (Chen, "Rate-Distortion Limits for Multimodal
Retrieval", Sec. 7.1), with a modality-imbalance knob.

Model (every choice the paper leaves open is fixed here and listed in ``docs/retrieval.md``):

- **Intents.** ``N`` documents, document ``k`` has a latent intent :math:`Z_k \sim \mathcal
  N(0, I_L)` (``L = 32``).
- **Modalities.** Modality ``m`` observes an intent through
  :math:`X_m = A_m Z + \eta_m`, :math:`A_m \in \mathbb R^{d_m \times L}` with orthonormal columns
  (a QR factor of a Gaussian matrix, drawn once per seed; ``d_m >= L``) and
  :math:`\eta_m \sim \mathcal N(0, \sigma_m^2 I_{d_m})`.
- **Redundancy.** :math:`\rho = \sigma^{-2}` (0.4 by default, so :math:`\sigma^2 = 2.5`); larger
  noise weakens the dependence between modalities.
- **Imbalance knob.** :math:`\sigma_m = s_m / \sqrt\rho` with per-modality ``noise_scales``
  :math:`s_m` (default all 1: balanced, :math:`\Delta H = 0`) and per-modality dimensions
  ``dims``. With balanced modalities the adaptive temperature of eq. (10) has nothing to adapt.
- **Documents.** Document ``k`` is its intent seen once through its *own* noisy views,
  :math:`Y^{(k)}_m = A_m Z_k + \eta'_m` with the same :math:`\sigma_m` (fixed per seed).
- **Queries.** A query-document pair draws the relevant document ``Y`` uniformly from the
  corpus and a *fresh* noisy multimodal view :math:`X_m = A_m Z_Y + \eta_m` of its intent.
- **Split.** ``n_pairs`` pairs (100 000 by default), a seeded random ``test_fraction`` (15%)
  held out. Query and document vectors concatenate the modalities in order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rdlab.core.validation import as_float_array, check_in_range, check_int, make_rng


@dataclass(frozen=True)
class MultimodalRetrievalData:
    """Queries, documents and relevance labels of a multimodal retrieval task.

    Attributes
    ----------
    train_queries, test_queries : ndarray, shape (n, sum(modality_dims))
        Query vectors, modalities concatenated in order.
    train_relevant, test_relevant : ndarray of int64, shape (n,)
        Index of each query's relevant document.
    docs : ndarray, shape (n_docs, sum(modality_dims))
        Document embeddings :math:`E(Y^{(k)})`, the same layout as the queries.
    modality_dims : tuple of int
        Length of each modality's block.
    meta : dict
        How the data were made (JSON-ready).
    """

    train_queries: np.ndarray
    train_relevant: np.ndarray
    test_queries: np.ndarray
    test_relevant: np.ndarray
    docs: np.ndarray
    modality_dims: tuple[int, ...]
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def n_docs(self) -> int:
        return int(self.docs.shape[0])

    @property
    def n_modalities(self) -> int:
        return len(self.modality_dims)


def _orthonormal_columns(rng: np.random.Generator, rows: int, cols: int) -> np.ndarray:
    q, r = np.linalg.qr(rng.standard_normal((rows, cols)))
    return q * np.sign(np.diag(r))[None, :]  # unique (Haar) orthonormal factor


def make_multimodal_mixture(
    *,
    seed: object,
    n_docs: int = 1000,
    n_pairs: int = 100_000,
    test_fraction: float = 0.15,
    latent_dim: int = 32,
    dims: tuple[int, ...] = (64, 64),
    rho: float = 0.4,
    noise_scales: tuple[float, ...] | None = None,
    dtype: type = np.float32,
) -> MultimodalRetrievalData:
    r"""Sample a synthetic multimodal retrieval task (Sec. 7.1, Chen; model in the module doc).

    Parameters
    ----------
    seed : int or numpy Generator
        Everything (mixing matrices, intents, noise, relevance, split) derives from it.
    n_docs : int
        Corpus size ``N >= 2``.
    n_pairs : int
        Query-document pairs, ``>= 2``.
    test_fraction : float
        Held-out share, in (0, 1); at least one pair lands on each side.
    latent_dim : int
        Intent dimension ``L``.
    dims : tuple of int
        Dimension ``d_m >= L`` of each modality (the number of modalities is ``len(dims)``).
    rho : float
        Redundancy :math:`\rho = \sigma^{-2} > 0`.
    noise_scales : tuple of float, optional
        Per-modality factors :math:`s_m > 0` on :math:`\sigma`; default all 1 (balanced).
    dtype : numpy float type
        Storage type of the vectors (float32 by default, to halve memory).

    Examples
    --------
    >>> d = make_multimodal_mixture(seed=0, n_docs=10, n_pairs=100)
    >>> d.train_queries.shape, d.test_queries.shape, d.docs.shape
    ((85, 128), (15, 128), (10, 128))
    """
    rng = make_rng(seed)
    n = check_int("n_docs", n_docs, minimum=2)
    n_pairs = check_int("n_pairs", n_pairs, minimum=2)
    frac = check_in_range("test_fraction", test_fraction, 0.0, 1.0, low_open=True, high_open=True)
    lat = check_int("latent_dim", latent_dim, minimum=1)
    dims_t = tuple(check_int(f"dims[{i}]", d, minimum=lat) for i, d in enumerate(dims))
    if not dims_t:
        raise ValueError("dims must name at least one modality")
    r = check_in_range("rho", rho, 0.0, np.inf, low_open=True, high_open=True)
    m = len(dims_t)
    scales = np.ones(m) if noise_scales is None else as_float_array("noise_scales", noise_scales)
    if scales.shape != (m,) or np.any(scales <= 0):
        raise ValueError(f"noise_scales must hold {m} positive numbers, got {noise_scales!r}")
    sigmas = scales / np.sqrt(r)
    mix = [_orthonormal_columns(rng, d, lat) for d in dims_t]
    intents = rng.standard_normal((n, lat))

    def views(z: np.ndarray) -> np.ndarray:
        blocks = [
            z @ a.T + s * rng.standard_normal((z.shape[0], a.shape[0]))
            for a, s in zip(mix, sigmas, strict=True)
        ]
        return np.concatenate(blocks, axis=1).astype(dtype)

    docs = views(intents)
    relevant = rng.integers(0, n, size=n_pairs)
    queries = np.empty((n_pairs, sum(dims_t)), dtype=dtype)
    step = 16384
    for a in range(0, n_pairs, step):  # bounded temporary memory
        queries[a : a + step] = views(intents[relevant[a : a + step]])
    n_test = min(max(1, round(frac * n_pairs)), n_pairs - 1)
    perm = rng.permutation(n_pairs)
    test, train = perm[:n_test], perm[n_test:]
    meta = {
        "description": "rdlab multimodal mixture (Chen Sec. 7.1)",
        "n_docs": n,
        "n_pairs": n_pairs,
        "n_train": int(train.size),
        "n_test": int(test.size),
        "latent_dim": lat,
        "modality_dims": list(dims_t),
        "rho": r,
        "noise_scales": scales.tolist(),
        "noise_std": sigmas.tolist(),
    }
    return MultimodalRetrievalData(
        train_queries=queries[train],
        train_relevant=relevant[train].astype(np.int64),
        test_queries=queries[test],
        test_relevant=relevant[test].astype(np.int64),
        docs=docs,
        modality_dims=dims_t,
        meta=meta,
    )
