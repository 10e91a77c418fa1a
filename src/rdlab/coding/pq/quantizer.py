r"""Entropy-weighted product quantiser with real-byte index coding (Chen, Sec. 5.1).

The paper's construction, made concrete (``docs/retrieval.md`` lists every choice):

1. **Entropies.** :math:`\hat H_m` (:func:`gaussian_entropy_bits`) is the entropy of modality
   ``m`` uniformly quantised with a cell width :math:`\Delta` shared by all modalities, in the
   high-resolution approximation: the Gaussian differential entropy of the sample covariance,
   :math:`\tfrac12\log_2\det(2\pi e\hat\Sigma_m)`, plus :math:`d_m\log_2(1/\Delta)`.
   :math:`\Delta = 2^{-b}\,s` with ``s`` the root mean per-coordinate variance over all
   modalities and ``b = resolution_bits`` (4): scale-free, and positive for any realistic data.
2. **Bits.** :math:`R_m` from :func:`rdlab.theory.retrieval.allocate_bits` (largest remainder,
   :math:`\sum_m R_m = R` exactly; the paper's ceilings can overshoot).
3. **Cells.** Modality ``m`` gets ``2^{R_m}`` cells as a product of sub-vector k-means
   quantisers: ``s_m = ceil(R_m / max_bits)`` contiguous sub-vectors (dimensions split as evenly
   as possible), the ``R_m`` bits split across them by largest remainder, so every sub-vector has
   at most ``max_bits`` (8) bits, i.e. 256 centroids. ``R_m = 0`` sends nothing for the
   modality (decoded as its training mean). More bits than ``d_m * max_bits`` cannot be used
   (one sub-vector per coordinate at most), and a sub-vector cannot have more cells than
   training points: both raise ``ValueError``.
4. **k-means.** :func:`kmeans`: seeded k-means++ initialisation and vectorised Lloyd
   iterations on at most ``max_fit`` training points (a seeded subsample); an emptied cell keeps
   its previous centroid.
5. **Codewords.** ``"centroid"``: the cell's centroid. ``"sample"``: the paper's stochastic
   codeword "uniform within the cell", taken as the *empirical* uniform law on the cell, i.e. a
   uniformly random k-means training point of the cell, drawn from a seed shared by encoder and
   decoder (a cell with no training point falls back to its centroid).
6. **Index coding.** Each sub-vector's index has its own categorical model, fitted on the
   k-means training points' indices with add-1/2 (Krichevsky-Trofimov) smoothing; a batch is
   coded column by column with one constriction range coder. :meth:`ProductQuantizer.
   information_bits` is the ideal code length :math:`\sum -\log_2 p`; the real payload is
   within a 32-bit word plus the fixed-point rounding of constriction's models of it.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rdlab.coding.categorical import CategoricalModel
from rdlab.core.io import check_writable, read_safetensors, write_safetensors
from rdlab.core.validation import as_float_array, check_int, make_rng
from rdlab.theory.retrieval import allocate_bits

PQ_FILE_FORMAT = "rdlab-product-quantizer"
PQ_FILE_VERSION = "1"
"""``format`` and ``version`` in the metadata of a saved quantiser (safetensors)."""

_IDENTITY_TAG = b"rdlab.product-quantizer.v1\n"

DEFAULT_MAX_BITS = 8
"""Largest number of bits (log2 of the number of centroids) of one sub-vector quantiser."""

CODEWORDS = ("centroid", "sample")


def check_embeddings(name: str, x: object, dim: int | None = None) -> np.ndarray:
    """A finite 2-D float array ``(n, dim)``; clear ``ValueError`` on NaN or a wrong width."""
    arr = np.asarray(x)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (n, dim), got shape {arr.shape}")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} must not be empty")
    if not np.issubdtype(arr.dtype, np.floating):
        arr = as_float_array(name, arr)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite (found NaN or inf)")
    if dim is not None and arr.shape[1] != dim:
        raise ValueError(f"{name} has dimension {arr.shape[1]}, expected {dim}")
    return arr


def check_modality_dims(modality_dims: object, total: int) -> tuple[int, ...]:
    """Positive modality block lengths that add up to ``total``."""
    try:
        dims = tuple(int(d) for d in np.atleast_1d(np.asarray(modality_dims)).tolist())
    except (TypeError, ValueError):
        raise ValueError(
            f"modality_dims must be a list of positive integers, got {modality_dims!r}"
        ) from None
    if not dims or any(d < 1 for d in dims):
        raise ValueError(f"modality_dims must be positive integers, got {modality_dims!r}")
    if sum(dims) != total:
        raise ValueError(
            f"modality dimensions {list(dims)} add up to {sum(dims)}, but the embeddings have "
            f"dimension {total}"
        )
    return dims


def modality_slices(modality_dims: tuple[int, ...]) -> list[slice]:
    edges = np.concatenate([[0], np.cumsum(modality_dims)])
    return [slice(int(a), int(b)) for a, b in itertools.pairwise(edges)]


def gaussian_entropy_bits(
    x: object, modality_dims: tuple[int, ...], *, resolution_bits: float = 4.0
) -> np.ndarray:
    r"""Empirical modality entropies :math:`\hat H_m` in bits (estimator 1 of the module doc).

    :math:`\hat H_m = \tfrac12\log_2\det(2\pi e\hat\Sigma_m) - d_m\log_2\Delta`, with
    :math:`\Delta = 2^{-b} s`, ``s`` the root mean per-coordinate variance of all of ``x``.
    Values are floored at 1e-6 bits so that they can weight bits and temperatures.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = np.concatenate([rng.normal(size=(4000, 2)), 2 * rng.normal(size=(4000, 2))], 1)
    >>> h = gaussian_entropy_bits(x, (2, 2))
    >>> round(float(h[1] - h[0]), 1)  # doubling the scale of 2 coordinates adds 2 bits
    2.0
    """
    arr = check_embeddings("x", x)
    dims = check_modality_dims(modality_dims, arr.shape[1])
    if arr.shape[0] < 2:
        raise ValueError("need at least 2 samples to estimate entropies")
    xd = arr.astype(np.float64)
    scale = math.sqrt(float(np.mean(np.var(xd, axis=0))))
    if scale <= 0:
        raise ValueError("the embeddings are constant; no entropy to estimate")
    log_delta = math.log2(scale) - float(resolution_bits)
    out = []
    for sl, d in zip(modality_slices(dims), dims, strict=True):
        cov = np.atleast_2d(np.cov(xd[:, sl], rowvar=False))
        eig = np.clip(np.linalg.eigvalsh(cov), 1e-12 * scale**2, None)
        h = 0.5 * float(np.sum(np.log2(2 * math.pi * math.e * eig))) - d * log_delta
        out.append(max(h, 1e-6))
    return np.asarray(out)


# ------------------------------------------------------------------------------------ k-means


def _sq_dists(x: np.ndarray, c: np.ndarray, c_sq: np.ndarray) -> np.ndarray:
    return c_sq[None, :] - 2.0 * (x @ c.T)  # ||x||^2 left out: argmin-invariant


def assign(x: np.ndarray, centroids: np.ndarray, *, chunk: int = 16384) -> np.ndarray:
    """Index of the nearest centroid of each row of ``x`` (squared error), in row chunks."""
    c = centroids.astype(x.dtype, copy=False)
    c_sq = np.einsum("ij,ij->i", c, c)
    out = np.empty(x.shape[0], dtype=np.int64)
    for a in range(0, x.shape[0], chunk):
        out[a : a + chunk] = np.argmin(_sq_dists(x[a : a + chunk], c, c_sq), axis=1)
    return out


def kmeans(x: object, k: int, *, seed: object, n_iter: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """Seeded k-means++ initialisation followed by ``n_iter`` Lloyd iterations.

    Returns ``(centroids (k, dim), labels (n,))``. An emptied cell keeps its centroid.

    Examples
    --------
    >>> x = np.array([[0.0], [0.1], [10.0], [10.1]])
    >>> c, lab = kmeans(x, 2, seed=0)
    >>> sorted(np.round(c.ravel(), 2).tolist())
    [0.05, 10.05]
    """
    arr = check_embeddings("x", x)
    n = arr.shape[0]
    kk = check_int("k", k, minimum=1, maximum=n)
    rng = make_rng(seed)
    # k-means++ (Arthur & Vassilvitskii 2007)
    centroids = np.empty((kk, arr.shape[1]), dtype=arr.dtype)
    centroids[0] = arr[rng.integers(n)]
    d2 = np.sum((arr - centroids[0]) ** 2, axis=1, dtype=np.float64)
    for j in range(1, kk):
        total = float(d2.sum())
        i = int(rng.choice(n, p=d2 / total)) if total > 0 else int(rng.integers(n))
        centroids[j] = arr[i]
        d2 = np.minimum(d2, np.sum((arr - centroids[j]) ** 2, axis=1, dtype=np.float64))
    labels = assign(arr, centroids)
    for _ in range(check_int("n_iter", n_iter, minimum=0)):
        counts = np.bincount(labels, minlength=kk)
        sums = np.zeros((kk, arr.shape[1]), dtype=np.float64)
        np.add.at(sums, labels, arr)
        nz = counts > 0
        centroids[nz] = (sums[nz] / counts[nz, None]).astype(arr.dtype)
        new = assign(arr, centroids)
        if np.array_equal(new, labels):
            break
        labels = new
    return centroids, labels


# ------------------------------------------------------------------------- product quantiser


@dataclass(frozen=True)
class SubVector:
    """One sub-vector quantiser: modality, coordinate range and bits."""

    modality: int
    start: int
    stop: int
    bits: int


def plan_subvectors(
    modality_dims: tuple[int, ...], modality_bits: object, *, max_bits: int = DEFAULT_MAX_BITS
) -> list[SubVector]:
    """Split each modality's bits over contiguous sub-vectors of at most ``max_bits`` bits.

    Examples
    --------
    >>> [(s.start, s.stop, s.bits) for s in plan_subvectors((4,), [10], max_bits=8)]
    [(0, 2, 5), (2, 4, 5)]
    """
    mb = check_int("max_bits", max_bits, minimum=1, maximum=16)
    bits = np.asarray(modality_bits, dtype=np.int64)
    out: list[SubVector] = []
    offset = 0
    for m, (d, r) in enumerate(zip(modality_dims, bits.tolist(), strict=True)):
        if r < 0:
            raise ValueError(f"bits of modality {m} must be >= 0, got {r}")
        if r > d * mb:
            raise ValueError(
                f"modality {m} has {r} bits but its quantiser can use at most {d * mb} "
                f"({d} dimensions x {mb} bits per sub-vector): lower --bits or raise max_bits"
            )
        if r > 0:
            s = -(-r // mb)
            per = allocate_bits(np.ones(s), r)
            edges = np.linspace(0, d, s + 1).round().astype(int)
            for j in range(s):
                out.append(
                    SubVector(m, offset + int(edges[j]), offset + int(edges[j + 1]), int(per[j]))
                )
        offset += d
    return out


class ProductQuantizer:
    r"""Entropy-weighted product quantiser of multimodal query vectors (Sec. 5.1, Chen).

    Build with :meth:`fit`. ``encode`` maps vectors to integer indices ``(n, n_subvectors)``,
    ``decode`` maps indices to codewords; :class:`~rdlab.coding.pq.codec.PQCodec` writes them
    as a bitstream, :meth:`save` / :meth:`load` keep a fitted quantiser in a safetensors file.

    Attributes
    ----------
    modality_dims, modality_bits : tuple of int
        Block lengths and the allocation :math:`R_m` (:math:`\sum_m R_m = R`).
    entropies : ndarray
        :math:`\hat H_m` in bits used for the allocation.
    subvectors : list of SubVector
    codebooks : list of ndarray, one ``(2^bits, length)`` array per sub-vector
    """

    def __init__(self) -> None:
        self.modality_dims: tuple[int, ...] = ()
        self.modality_bits: tuple[int, ...] = ()
        self.entropies = np.zeros(0)
        self.subvectors: list[SubVector] = []
        self.codebooks: list[np.ndarray] = []
        self.pmfs: list[np.ndarray] = []
        self._members: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.mean = np.zeros(0)

    @property
    def dim(self) -> int:
        return int(sum(self.modality_dims))

    @property
    def total_bits(self) -> int:
        """Bits of the fixed-length index, :math:`\\sum_m R_m`."""
        return int(sum(s.bits for s in self.subvectors))

    @classmethod
    def fit(
        cls,
        x_train: object,
        modality_dims: object,
        total_bits: int,
        *,
        seed: object,
        entropy_weighted: bool = True,
        max_bits: int = DEFAULT_MAX_BITS,
        max_fit: int = 20000,
        n_iter: int = 20,
        resolution_bits: float = 4.0,
    ) -> ProductQuantizer:
        """Fit on training queries with ``total_bits`` = R bits per query.

        ``entropy_weighted=False`` splits the bits evenly (largest remainder on equal weights).

        Raises
        ------
        ValueError
            ``total_bits`` < number of modalities (every modality must be able to get a bit),
            NaN input, mismatched dimensions, or more bits than the quantiser can use.
        """
        x = check_embeddings("training queries", x_train)
        dims = check_modality_dims(modality_dims, x.shape[1])
        if isinstance(total_bits, bool) or not isinstance(total_bits, int | np.integer):
            raise TypeError(f"bits must be an integer, got {type(total_bits).__name__}")
        r = int(total_bits)
        if r <= 0 or r < len(dims):
            raise ValueError(
                f"bits must be >= the number of modalities ({len(dims)}) and > 0, got {r}"
            )
        pq = cls()
        pq.modality_dims = dims
        pq.entropies = gaussian_entropy_bits(x, dims, resolution_bits=resolution_bits)
        weights = pq.entropies if entropy_weighted else np.ones(len(dims))
        bits = allocate_bits(weights, r)
        pq.modality_bits = tuple(int(b) for b in bits)
        pq.subvectors = plan_subvectors(dims, bits, max_bits=max_bits)
        rng = make_rng(seed)
        n_fit = min(x.shape[0], check_int("max_fit", max_fit, minimum=1))
        fit_rows = np.sort(rng.choice(x.shape[0], n_fit, replace=False))
        xf = np.ascontiguousarray(x[fit_rows])
        pq.mean = xf.mean(axis=0)
        largest = max((s.bits for s in pq.subvectors), default=0)
        if 2**largest > n_fit:
            raise ValueError(
                f"a sub-vector quantiser with {largest} bits needs {2**largest} cells but only "
                f"{n_fit} training points are used: more bits than the quantiser can use"
            )
        for sv in pq.subvectors:
            sub = np.ascontiguousarray(xf[:, sv.start : sv.stop])
            cb, labels = kmeans(sub, 2**sv.bits, seed=rng, n_iter=n_iter)
            k = 2**sv.bits
            counts = np.bincount(labels, minlength=k)
            pq.codebooks.append(cb)
            pq.pmfs.append((counts + 0.5) / (counts.sum() + 0.5 * k))
            order = np.argsort(labels, kind="stable")
            starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
            pq._members.append((sub[order], starts, counts))
        return pq

    # --------------------------------------------------------------------- encode / decode
    def encode(self, x: object) -> np.ndarray:
        """Cell indices ``(n, n_subvectors)`` (int64) of the rows of ``x``."""
        arr = check_embeddings("queries", x, self.dim)
        out = np.empty((arr.shape[0], len(self.subvectors)), dtype=np.int64)
        for j, (sv, cb) in enumerate(zip(self.subvectors, self.codebooks, strict=True)):
            out[:, j] = assign(np.ascontiguousarray(arr[:, sv.start : sv.stop]), cb)
        return out

    def check_indices(self, idx: object) -> np.ndarray:
        arr = np.asarray(idx)
        if arr.ndim != 2 or arr.shape[1] != len(self.subvectors):
            raise ValueError(
                f"indices must have shape (n, {len(self.subvectors)}), got {arr.shape}"
            )
        for j, sv in enumerate(self.subvectors):
            col = arr[:, j]
            if col.size and (col.min() < 0 or col.max() >= 2**sv.bits):
                raise ValueError(f"indices of sub-vector {j} must be in [0, {2**sv.bits})")
        return arr.astype(np.int64)

    def decode(
        self, indices: object, *, codeword: str = "centroid", seed: object = None
    ) -> np.ndarray:
        """Codewords of the cells; ``codeword="sample"`` needs the shared ``seed``."""
        idx = self.check_indices(indices)
        if codeword not in CODEWORDS:
            raise ValueError(f"codeword must be one of {CODEWORDS}, got {codeword!r}")
        rng = make_rng(seed) if codeword == "sample" else None
        out = np.tile(self.mean.astype(np.float32), (idx.shape[0], 1))
        for j, (sv, cb) in enumerate(zip(self.subvectors, self.codebooks, strict=True)):
            c = idx[:, j]
            if rng is None:
                out[:, sv.start : sv.stop] = cb[c]
                continue
            members, starts, counts = self._members[j]
            cnt = counts[c]
            pick = starts[c] + np.floor(rng.random(c.size) * np.maximum(cnt, 1)).astype(np.int64)
            pick = np.minimum(pick, members.shape[0] - 1)
            out[:, sv.start : sv.stop] = np.where((cnt > 0)[:, None], members[pick], cb[c])
        return out

    # ------------------------------------------------------------------------ index coding
    @property
    def coding_model(self) -> CategoricalModel:
        """The categorical model of the indices: one pmf per sub-vector (add-1/2 smoothing)."""
        return CategoricalModel(tuple(self.pmfs))

    def information_bits(self, indices: object) -> float:
        r"""Information content :math:`\sum_{i,j} -\log_2 p_j(k_{ij})` of a batch, in bits,
        under the probabilities the range coder uses
        (:meth:`~rdlab.coding.categorical.CategoricalModel.information_bits`)."""
        return self.coding_model.information_bits(self.check_indices(indices))

    # ------------------------------------------------------------------------- identity, files
    def _plan(self) -> dict:
        return {
            "modality_dims": list(self.modality_dims),
            "modality_bits": list(self.modality_bits),
            "subvectors": [[sv.modality, sv.start, sv.stop, sv.bits] for sv in self.subvectors],
        }

    def _arrays(self) -> dict[str, np.ndarray]:
        """Every array of the fitted quantiser, under the names of its saved file."""
        out = {"entropies": self.entropies, "mean": self.mean}
        for j, (cb, pmf, (members, starts, counts)) in enumerate(
            zip(self.codebooks, self.pmfs, self._members, strict=True)
        ):
            out[f"codebook.{j}"] = cb
            out[f"pmf.{j}"] = pmf
            out[f"members.{j}"] = members
            out[f"starts.{j}"] = starts
            out[f"counts.{j}"] = counts
        return {k: np.ascontiguousarray(v) for k, v in out.items()}

    def identity(self) -> bytes:
        """SHA-256 of the plan and every array (dtype, shape, bytes): the model identity its
        bitstreams carry; a saved and loaded quantiser keeps it."""
        h = hashlib.sha256(_IDENTITY_TAG)
        h.update(json.dumps(self._plan(), sort_keys=True).encode())
        for name, arr in sorted(self._arrays().items()):
            h.update(f"\n{name}:{arr.dtype.str}:{list(arr.shape)}\n".encode())
            h.update(arr.tobytes())
        return h.digest()

    def save(self, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
        """Write the fitted quantiser to a safetensors file (atomic; no pickle).

        Raises
        ------
        FileExistsError
            ``path`` exists and ``overwrite`` is False.
        """
        if not self.subvectors and not self.modality_dims:
            raise ValueError("only a fitted ProductQuantizer can be saved (use fit)")
        dest = check_writable(path, overwrite=overwrite, flag="overwrite=True")
        meta = {
            "format": PQ_FILE_FORMAT,
            "version": PQ_FILE_VERSION,
            "plan": json.dumps(self._plan()),
            "identity": self.identity().hex(),
        }
        arrays = self._arrays()
        return write_safetensors(dest, arrays, meta)

    @classmethod
    def load(cls, path: str | os.PathLike) -> ProductQuantizer:
        """Read a quantiser written by :meth:`save`; every field is checked.

        Raises
        ------
        FileNotFoundError
            No such file.
        ValueError
            Not a saved rdlab product quantiser, or an inconsistent one.
        """
        src = Path(path)
        if not src.is_file():
            raise FileNotFoundError(f"{src} does not exist")
        arrays, meta = read_safetensors(src)
        if meta.get("format") != PQ_FILE_FORMAT or meta.get("version") != PQ_FILE_VERSION:
            raise ValueError(f"{src} is not a saved rdlab product quantiser (format 1)")
        try:
            plan = json.loads(meta.get("plan", ""))
            dims = tuple(_small_int(d) for d in plan["modality_dims"])
            mbits = tuple(_small_int(b) for b in plan["modality_bits"])
            subs = [SubVector(*(_small_int(v) for v in sv)) for sv in plan["subvectors"]]
        except (ValueError, TypeError, KeyError, RecursionError) as exc:
            raise ValueError(f"{src}: invalid quantiser plan ({exc})") from None
        pq = cls()
        pq.modality_dims, pq.modality_bits, pq.subvectors = dims, mbits, subs
        total = sum(dims)
        if not dims or len(mbits) != len(dims) or any(d < 1 for d in dims):
            raise ValueError(f"{src}: invalid modality dimensions {list(dims)}")
        for sv in subs:
            if not (0 <= sv.start < sv.stop <= total and 1 <= sv.bits <= 16):
                raise ValueError(f"{src}: invalid sub-vector {sv}")
        try:
            pq.entropies = _array(arrays, "entropies", (len(dims),))
            pq.mean = _array(arrays, "mean", (total,))
            for j, sv in enumerate(subs):
                k, width = 2**sv.bits, sv.stop - sv.start
                pq.codebooks.append(_array(arrays, f"codebook.{j}", (k, width)))
                pq.pmfs.append(_array(arrays, f"pmf.{j}", (k,)))
                counts = _array(arrays, f"counts.{j}", (k,))
                starts = _array(arrays, f"starts.{j}", (k,))
                members = _array(arrays, f"members.{j}", (int(counts.sum()), width))
                if np.any(counts < 0) or not np.array_equal(
                    starts, np.concatenate([[0], np.cumsum(counts)[:-1]])
                ):
                    raise ValueError(f"counts.{j} and starts.{j} do not agree")
                pq._members.append((members, starts, counts))
            pq.coding_model  # noqa: B018 - checks every pmf
        except ValueError as exc:
            raise ValueError(f"{src}: {exc}") from None
        if len(arrays) != 2 + 5 * len(subs):
            raise ValueError(f"{src}: unexpected arrays in the file")
        if meta.get("identity") != pq.identity().hex():
            raise ValueError(f"{src}: its arrays do not match the identity it records")
        return pq

    def describe(self) -> dict:
        """The allocation in the glossary's keys: modality dimensions and bits, entropies."""
        return {
            "modality_dims": list(self.modality_dims),
            "modality_bits": list(self.modality_bits),
            "entropies_bits": [float(h) for h in self.entropies],
            "n_subvectors": len(self.subvectors),
            "subvector_bits": [s.bits for s in self.subvectors],
        }


def _small_int(v: object) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v < 2**31:
        raise ValueError(f"expected an integer in [0, 2**31), got {v!r}")
    return v


def _array(arrays: dict[str, np.ndarray], name: str, shape: tuple[int, ...]) -> np.ndarray:
    if name not in arrays:
        raise ValueError(f"array {name!r} is missing")
    arr = arrays[name]
    if arr.shape != shape or arr.dtype.kind not in "fi" or not np.all(np.isfinite(arr)):
        raise ValueError(f"array {name!r} must be finite with shape {shape}, got {arr.shape}")
    return arr


__all__ = [
    "CODEWORDS",
    "DEFAULT_MAX_BITS",
    "ProductQuantizer",
    "SubVector",
    "assign",
    "check_embeddings",
    "check_modality_dims",
    "gaussian_entropy_bits",
    "kmeans",
    "modality_slices",
    "plan_subvectors",
]
