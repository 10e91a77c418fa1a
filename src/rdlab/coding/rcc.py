r"""Reverse channel coding (channel simulation) as a lossy codec: PFR and ORC (seed 002 §V).

Given an output distribution :math:`Q_Y` and a slope, the encoder of Algorithm 2 (Lei et al.)
draws N candidates :math:`Y_1, \dots, Y_N \sim Q_Y` i.i.d. from randomness shared with the
decoder, weights them with the cumulative weights of eq. (28),

.. math:: W_i = \sum_{j \le i} E_j \ \text{(PFR)}, \qquad
          W_i = \sum_{j \le i} \frac{N}{N - j + 1} E_j \ \text{(ORC)}, \qquad
          E_j \sim \mathrm{Exp}(1)\ \text{i.i.d.},

and sends :math:`K = \arg\min_i W_i \, \frac{dQ_Y}{dQ_{Y|X=x}}(Y_i)` (eq. (29)). For the
rate-distortion optimal pair the density ratio is
:math:`\frac{dQ_{Y|X=x}}{dQ_Y}(y) \propto e^{\beta d(x, y)}` with :math:`\beta < 0` in nats
(eq. (31)-(32)), so (Proposition 1, eq. (30))

.. math:: K = \arg\min_i \Big\{ d(x, Y_i) - \beta^{-1} \ln W_i \Big\}
            = \arg\min_i \Big\{ d(x, Y_i) + \frac{\log_2 W_i}{|\lambda|} \Big\},

where :math:`\lambda = \beta / \ln 2` is rdlab's ``slope`` (dR/dD in bits per unit distortion,
< 0). The decoder outputs :math:`Y_K`; K is entropy coded under the Zipf law of
:mod:`rdlab.coding.index_coding`. For any slope and any :math:`Q_Y` this simulates the channel
:math:`Q_{Y|X=x}(dy) \propto e^{\beta d(x,y)} Q_Y(dy)` (exactly as N grows); with the optimal
:math:`Q_Y^*` at that slope it is the R(D)-achieving channel.

Shared randomness is counter-based: candidate chunk c of sample i is drawn from
``Philox(key=(seed, i), counter=(0, 0, c, 0))`` (the exponentials from stream 1), so memory
stays bounded for N up to :data:`MAX_N_CANDIDATES` and the decoder regenerates only the chunk
that holds :math:`Y_K`.

The output distribution is anything that satisfies :class:`OutputDistribution`: the exact
Gaussian :class:`GaussianOutput` here, a trained generator later. Its ``identity`` (a SHA-256 of
its parameters, or of a checkpoint) is written into the bitstream, so decoding with the wrong
model fails with :class:`~rdlab.coding.container.BitstreamError` instead of producing garbage.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from rdlab.coding.container import BitstreamError, pack_container, unpack_container
from rdlab.coding.index_coding import (
    INDEX_CODINGS,
    MAX_INDEX,
    MAX_RATE_BITS,
    IndexCodingError,
    ZipfLaw,
    decode_indices_prefix,
    decode_indices_range,
    encode_indices_prefix,
    encode_indices_range,
)
from rdlab.core.information import LOG2E
from rdlab.core.validation import (
    as_float_array,
    check_in_range,
    check_int,
    check_positive,
    check_real,
)

RCC_CODEC_ID = 1
"""Codec id of reverse channel coding in the container (fixed; see ``CODEC_IDS``)."""

METHODS = ("pfr", "orc")
"""PFR: Poisson functional representation truncated to N; ORC: ordered random coding."""

MAX_N_CANDIDATES = MAX_INDEX
"""Largest number of candidates N (2**24)."""

DEFAULT_CHUNK_SIZE = 1024
"""Candidates drawn per chunk (a power of two; recorded in the bitstream)."""

MAX_SEED = 2**64 - 1

_DISTORTIONS = {0: "squared_error"}
_MAX_NDIM = 8
_MAX_ELEMENTS = 2**31


def rcc_guarantee_bits(rate_bits: object) -> float | np.ndarray:
    r"""The rate guarantee of eq. (25), Lei et al.: :math:`R + \log_2(R + 1) + 5` bits.

    Examples
    --------
    >>> rcc_guarantee_bits(1.0)
    7.0
    """
    r = as_float_array("rate_bits", rate_bits)
    if np.any(r < 0):
        raise ValueError(f"rate_bits must be >= 0, got min {r.min()}")
    g = r + np.log2(r + 1.0) + 5.0
    return float(g) if g.ndim == 0 else g


# -- output distributions --------------------------------------------------------------------
@runtime_checkable
class OutputDistribution(Protocol):
    """What RCC needs of :math:`Q_Y`.

    Attributes
    ----------
    event_shape : tuple of int
        Shape of one sample (``()`` for scalars).

    Methods
    -------
    sample(rng, size)
        ``size`` draws, shape ``(size, *event_shape)``, float64, a deterministic function of
        the generator's state (the codec passes a fresh counter-based generator per chunk).
    identity()
        32 bytes (SHA-256) that change whenever the samples could change.
    spec()
        A JSON-ready dict with ``"kind"``: enough to rebuild the distribution with
        :func:`output_from_spec`, or at least to name what the decoder must be given.
    """

    event_shape: tuple[int, ...]

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray: ...

    def identity(self) -> bytes: ...

    def spec(self) -> dict[str, Any]: ...


OUTPUT_KINDS: dict[str, Callable[[dict[str, Any]], OutputDistribution]] = {}
"""Loaders from a spec's ``"kind"`` to a distribution (a trained generator adds its own)."""


def register_output_kind(kind: str, loader: Callable[[dict[str, Any]], OutputDistribution]):
    """Register ``loader(spec) -> OutputDistribution`` for specs of ``kind``."""
    if kind in OUTPUT_KINDS:
        raise ValueError(f"output kind {kind!r} is registered twice")
    OUTPUT_KINDS[kind] = loader
    return loader


def output_from_spec(spec: dict[str, Any]) -> OutputDistribution:
    """Rebuild an output distribution from its :meth:`OutputDistribution.spec`."""
    if not isinstance(spec, dict) or not isinstance(spec.get("kind"), str):
        raise ValueError("an output spec must be a dict with a string 'kind'")
    if spec["kind"] not in OUTPUT_KINDS:
        raise ValueError(
            f"output kind {spec['kind']!r} cannot be rebuilt from the header; "
            f"known: {sorted(OUTPUT_KINDS)} (pass the model with --q)"
        )
    return OUTPUT_KINDS[spec["kind"]](spec)


def _spec_identity(spec: dict[str, Any]) -> bytes:
    text = json.dumps(spec, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(b"rdlab.output.v1\n" + text.encode()).digest()


class GaussianOutput:
    r"""A Gaussian output distribution :math:`N(\mu, B\,\mathrm{diag}(v)\,B^T)`.

    The R(D)-optimal output of a Gaussian source (corrected form, docs/errata.md E002-1) is of
    this kind, with :math:`v_i = \max(s_i - t, 0)`; see :func:`gaussian_operating_point`.

    Parameters
    ----------
    mean : array_like, shape (m,)
        Mean :math:`\mu`.
    variances : array_like, shape (m,)
        Variances :math:`v_i >= 0` along the basis vectors (0: a constant coordinate).
    basis : "identity", ("stored", m) or array_like of shape (m, m)
        Orthonormal basis B as columns: the identity, the stored rotation of the built-in
        m-dimensional Gaussian (referenced by its checksum, not copied into headers), or an
        explicit matrix.
    scalar : bool
        Samples are scalars (event shape ``()``; then m must be 1).
    spec : dict, optional
        A shorter spec that rebuilds exactly this distribution (used by
        :func:`gaussian_operating_point` for named sources: the source name and the water
        level instead of every parameter); by default the explicit parameters.

    Examples
    --------
    >>> q = GaussianOutput([0.0], [0.75], scalar=True)
    >>> q.sample(np.random.default_rng(0), 3).shape
    (3,)
    """

    kind = "gaussian"

    def __init__(
        self,
        mean: object,
        variances: object,
        basis: object = "identity",
        *,
        scalar: bool = False,
        spec: dict[str, Any] | None = None,
    ) -> None:
        self._spec = spec
        mu = np.atleast_1d(as_float_array("mean", mean))
        var = np.atleast_1d(as_float_array("variances", variances))
        if mu.ndim != 1 or var.shape != mu.shape:
            raise ValueError(
                f"mean and variances must be 1-D of one length, got {mu.shape} and {var.shape}"
            )
        if np.any(var < 0):
            raise ValueError(f"variances must be >= 0, got min {var.min()}")
        m = mu.size
        if scalar and m != 1:
            raise ValueError(f"a scalar output needs one component, got {m}")
        self._basis_ref: object
        if isinstance(basis, str) and basis == "identity":
            b = None
            self._basis_ref = "identity"
        elif isinstance(basis, tuple) and len(basis) == 2 and basis[0] == "stored":
            from rdlab.sources.registry import ROTATION_FILES, stored_rotation

            dim = check_int("basis dimension", basis[1])
            if dim != m:
                raise ValueError(f"stored basis has dimension {dim}, expected {m}")
            b = stored_rotation(dim)
            self._basis_ref = {"stored": dim, "sha256": _stored_sha256(ROTATION_FILES[dim])}
        else:
            b = as_float_array("basis", basis, ndim=2)
            if b.shape != (m, m):
                raise ValueError(f"basis must have shape ({m}, {m}), got {b.shape}")
            if not np.allclose(b.T @ b, np.eye(m), atol=1e-9):
                raise ValueError("basis must be orthonormal (B^T B = I)")
            self._basis_ref = b.tolist()
        self.mean = mu
        self.variances = var
        self.basis = b
        self.scalar = bool(scalar)
        self.event_shape: tuple[int, ...] = () if scalar else (m,)
        act = var > 0
        self._active = np.flatnonzero(act)
        self._std = np.sqrt(var[act])
        self._basis_active = None if b is None else np.ascontiguousarray(b[:, act].T)

    @property
    def dim(self) -> int:
        return self.mean.size

    def covariance(self) -> np.ndarray:
        """The covariance B diag(v) B^T, shape (m, m)."""
        if self.basis is None:
            return np.diag(self.variances)
        return (self.basis * self.variances) @ self.basis.T

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """``size`` draws, shape ``(size, *event_shape)``."""
        size = check_int("size", size, minimum=0)
        z = rng.standard_normal((size, self._active.size)) * self._std
        if self._basis_active is None:
            y = np.broadcast_to(self.mean, (size, self.dim)).copy()
            y[:, self._active] += z
        else:
            y = self.mean + z @ self._basis_active
        return y[:, 0] if self.scalar else y

    def spec(self) -> dict[str, Any]:
        if self._spec is not None:
            return dict(self._spec)
        return {
            "kind": self.kind,
            "scalar": self.scalar,
            "mean": self.mean.tolist(),
            "variances": self.variances.tolist(),
            "basis": self._basis_ref,
        }

    def identity(self) -> bytes:
        return _spec_identity(self.spec())

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> GaussianOutput:
        basis = spec.get("basis")
        if isinstance(basis, dict):
            dim = basis.get("stored")
            if isinstance(dim, bool) or not isinstance(dim, int):
                raise ValueError("stored basis reference must name an integer dimension")
            from rdlab.sources.registry import ROTATION_FILES

            if dim not in ROTATION_FILES or basis.get("sha256") != _stored_sha256(
                ROTATION_FILES[dim]
            ):
                raise ValueError(f"stored basis {basis!r} is not the one this rdlab carries")
            basis = ("stored", dim)
        scalar = spec.get("scalar")
        if not isinstance(scalar, bool):
            raise ValueError("spec 'scalar' must be a bool")
        return cls(spec.get("mean"), spec.get("variances"), basis, scalar=scalar)

    def __repr__(self) -> str:
        return (
            f"GaussianOutput(dim={self.dim}, active={self._active.size}, "
            f"identity={self.identity().hex()[:12]})"
        )


def _stored_sha256(filename: str) -> str:
    from importlib import resources

    meta = json.loads((resources.files("rdlab") / "data" / "rotations.json").read_text())
    return str(meta[filename]["sha256"])


register_output_kind("gaussian", GaussianOutput.from_spec)


def _optimal_from_spec(spec: dict[str, Any]) -> GaussianOutput:
    source, level = spec.get("source"), spec.get("water_level")
    if not isinstance(source, str) or isinstance(level, bool) or not isinstance(level, float):
        raise ValueError("a 'gaussian-optimal' spec needs a string source and a float water_level")
    return _operating_point_at_level(source, check_positive("water_level", level)).output


register_output_kind("gaussian-optimal", _optimal_from_spec)


def checkpoint_identity(path: object) -> bytes:
    """SHA-256 of a file's bytes (a generator checkpoint): the identity of a learned Q_Y."""
    from pathlib import Path

    p = Path(path)  # type: ignore[arg-type]
    if not p.is_file():
        raise FileNotFoundError(f"{p} does not exist")
    h = hashlib.sha256()
    with p.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.digest()


class GeneratorOutput:
    r"""A learned output distribution :math:`Q_Y = G_*(P_Z)`, :math:`P_Z = N(0, I)` (Alg. 2 with
    the NERD generator, Lei et al. §V.B).

    Parameters
    ----------
    generator : callable
        Maps latents of shape ``(size, *latent_shape)`` (float64) to samples of shape
        ``(size, *event_shape)``; it must be deterministic (e.g. a torch module in eval mode
        on CPU with a fixed number of threads, wrapped to take and return numpy arrays).
    latent_shape, event_shape : tuple of int
        Shapes of one latent and of one sample.
    identity : bytes
        32 bytes naming the generator, e.g. :func:`checkpoint_identity` of its checkpoint.
    description : dict, optional
        JSON-ready facts recorded in the header's spec (run name, slope, ...).
    batch_size : int
        Latents passed to ``generator`` at once.

    Examples
    --------
    >>> g = GeneratorOutput(lambda z: np.tanh(z), (2,), (2,), bytes(32))
    >>> g.sample(np.random.default_rng(0), 5).shape
    (5, 2)
    """

    kind = "generator"

    def __init__(
        self,
        generator: Callable[[np.ndarray], np.ndarray],
        latent_shape: tuple[int, ...],
        event_shape: tuple[int, ...],
        identity: bytes,
        *,
        description: dict[str, Any] | None = None,
        batch_size: int = 4096,
    ) -> None:
        if not callable(generator):
            raise TypeError("generator must be callable")
        self.generator = generator
        self.latent_shape = tuple(check_int("latent_shape", v, minimum=1) for v in latent_shape)
        self.event_shape = tuple(check_int("event_shape", v, minimum=1) for v in event_shape)
        if not isinstance(identity, bytes) or len(identity) != 32:
            raise ValueError("identity must be 32 bytes (a SHA-256 digest)")
        self._identity = identity
        self.description = dict(description or {})
        self.batch_size = check_int("batch_size", batch_size, minimum=1)

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        size = check_int("size", size, minimum=0)
        z = rng.standard_normal((size, *self.latent_shape))
        parts = [
            np.asarray(self.generator(z[a : a + self.batch_size]), dtype=np.float64)
            for a in range(0, size, self.batch_size)
        ]
        y = np.concatenate(parts) if parts else np.empty((0, *self.event_shape))
        if y.shape != (size, *self.event_shape):
            raise ValueError(
                f"generator returned shape {y.shape}, expected {(size, *self.event_shape)}"
            )
        return y

    def identity(self) -> bytes:
        return self._identity

    def spec(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "identity": self._identity.hex(),
            "latent_shape": list(self.latent_shape),
            "event_shape": list(self.event_shape),
            **self.description,
        }


@dataclass(frozen=True)
class GaussianOperatingPoint:
    """The R(D)-optimal output of a Gaussian source at one slope (closed form).

    Attributes
    ----------
    output : GaussianOutput
        :math:`Q_Y^*`: per active component N(0, s - t) (docs/errata.md E002-1).
    slope : float
        dR/dD in bits per unit squared error (< 0), :math:`-1/(2 t \\ln 2)`.
    water_level : float
        t.
    distortion : float
        D = sum_i min(t, s_i) (total squared error per sample).
    rate_bits : float
        R(D) in bits per sample.
    """

    output: GaussianOutput
    slope: float
    water_level: float
    distortion: float
    rate_bits: float

    @property
    def guarantee_bits(self) -> float:
        """R + log2(R + 1) + 5 (eq. (25))."""
        return float(rcc_guarantee_bits(self.rate_bits))


def gaussian_operating_point(
    source: object, *, slope: float | None = None, distortion: float | None = None
) -> GaussianOperatingPoint:
    """The optimal Gaussian output distribution at a slope or a distortion (one of the two).

    Parameters
    ----------
    source : str, GaussianSource or array_like
        ``"gaussian20"`` (the registry source, with its stored rotation), ``"gaussian:4,2,1"``
        (zero-mean, diagonal; one variance means a scalar source), a
        :class:`~rdlab.sources.base.GaussianSource`, or a 1-D array of variances (diagonal).
    slope : float, optional
        dR/dD in bits per unit squared error, < 0.
    distortion : float, optional
        Total squared error D > 0.

    Examples
    --------
    >>> op = gaussian_operating_point("gaussian:1", distortion=0.25)
    >>> op.rate_bits, op.output.variances.tolist()
    (1.0, [0.75])
    """
    from rdlab.theory.gaussian import reverse_water_filling

    _, s, _, _ = _gaussian_parts(source)
    if (slope is None) == (distortion is None):
        raise ValueError("give exactly one of slope (< 0) or distortion (> 0)")
    if distortion is not None:
        d = check_positive("distortion", distortion)
        t = reverse_water_filling(s[s > 0], d).water_level
    else:
        sl = check_real("slope", slope)
        if sl >= 0:
            raise ValueError(f"slope must be < 0 (bits per unit distortion), got {sl}")
        t = -LOG2E / (2.0 * sl)
        if not math.isfinite(t) or t <= 0:
            raise ValueError(f"slope {sl} gives no usable water level")
    return _operating_point_at_level(source, float(t))


def _operating_point_at_level(source: object, t: float) -> GaussianOperatingPoint:
    mean, s, basis, scalar = _gaussian_parts(source)
    active = s > t
    out_var = np.where(active, s - t, 0.0)
    rate = float(np.sum(np.where(active, 0.5 * np.log2(np.where(active, s, 1.0) / t), 0.0)))
    spec = None
    if isinstance(source, str):
        spec = {"kind": "gaussian-optimal", "source": source, "water_level": float(t)}
    q = GaussianOutput(mean, out_var, basis, scalar=scalar, spec=spec)
    return GaussianOperatingPoint(
        output=q,
        slope=float(-LOG2E / (2.0 * t)),
        water_level=float(t),
        distortion=float(np.sum(np.minimum(t, s))),
        rate_bits=rate,
    )


def _gaussian_parts(source: object) -> tuple[np.ndarray, np.ndarray, object, bool]:
    from rdlab.sources.base import GaussianSource

    if isinstance(source, str):
        if source == "gaussian20":
            from rdlab.sources.registry import gaussian20_variances

            s = gaussian20_variances()
            return np.zeros(s.size), s, ("stored", 20), False
        if source.startswith("gaussian:"):
            try:
                s = np.array([float(v) for v in source[len("gaussian:") :].split(",")])
            except ValueError:
                raise ValueError(
                    f"'gaussian:' must be followed by comma-separated variances, got {source!r}"
                ) from None
            if not np.all(np.isfinite(s)) or np.any(s <= 0):
                raise ValueError(f"gaussian variances must be > 0, got {source!r}")
            return np.zeros(s.size), s, "identity", s.size == 1
        raise ValueError(
            f"unknown Gaussian output {source!r}; use 'gaussian20' or 'gaussian:V1,V2,...'"
        )
    if isinstance(source, GaussianSource):
        cov = source.cov
        if np.count_nonzero(cov - np.diag(np.diag(cov))) == 0:
            return source.mean, np.diag(cov).copy(), "identity", source.scalar
        return source.mean, source.eigenvalues, source.eigenvectors, source.scalar
    s = np.atleast_1d(as_float_array("source", source))
    if s.ndim != 1 or np.any(s <= 0):
        raise ValueError("source variances must be a 1-D array of values > 0")
    return np.zeros(s.size), s, "identity", False


# -- shared randomness -----------------------------------------------------------------------
def candidate_generator(
    seed: int, sample_index: int, chunk_index: int, stream: int = 0
) -> np.random.Generator:
    """The counter-based generator of one chunk: Philox(key=(seed, i), counter=(0,0,c,stream)).

    ``stream`` 0 draws the candidates, 1 the exponential weights; each chunk draws far fewer
    than 2**128 blocks, so chunks never overlap.
    """
    key = np.array([seed, sample_index], dtype=np.uint64)
    counter = np.array([0, 0, chunk_index, stream], dtype=np.uint64)
    return np.random.Generator(np.random.Philox(key=key, counter=counter))


def _chunk_sizes(n_candidates: int, chunk_size: int) -> list[int]:
    full, rest = divmod(n_candidates, chunk_size)
    return [chunk_size] * full + ([rest] if rest else [])


def candidate_chunk(
    q: OutputDistribution,
    seed: int,
    sample_index: int,
    chunk_index: int,
    n_candidates: int,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> np.ndarray:
    """Candidates ``chunk_index * chunk_size + 1 ..`` of sample ``sample_index`` (1-based K)."""
    sizes = _chunk_sizes(n_candidates, chunk_size)
    if not 0 <= chunk_index < len(sizes):
        raise ValueError(f"chunk_index must be in [0, {len(sizes) - 1}], got {chunk_index}")
    y = q.sample(candidate_generator(seed, sample_index, chunk_index, 0), sizes[chunk_index])
    return np.asarray(y, dtype=np.float64)


# -- encoder and decoder of the index --------------------------------------------------------
@dataclass(frozen=True)
class RCCSelection:
    """Output of :func:`rcc_select`.

    Attributes
    ----------
    indices : ndarray of int64, shape (n,)
        The selected K (1-based).
    reconstruction : ndarray, shape (n, *event_shape)
        :math:`Y_K`, bit-identical to what :func:`rcc_reconstruct` regenerates.
    distortion : ndarray, shape (n,)
        :math:`d(x_i, Y_{K_i})` (squared error summed over the event).
    """

    indices: np.ndarray
    reconstruction: np.ndarray
    distortion: np.ndarray


def _check_method(method: object) -> str:
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    return str(method)


def _check_seed(seed: object) -> int:
    return check_int("seed", seed, minimum=0, maximum=MAX_SEED)


def _check_chunk(chunk_size: object) -> int:
    c = check_int("chunk_size", chunk_size, minimum=1, maximum=2**20)
    if c & (c - 1):
        raise ValueError(f"chunk_size must be a power of two, got {c}")
    return c


def _check_slope(slope: object) -> float:
    s = check_real("slope", slope)
    if s >= 0:
        raise ValueError(f"slope must be < 0 (dR/dD in bits per unit distortion), got {s}")
    return s


def _check_samples(x: object, q: OutputDistribution) -> np.ndarray:
    xa = as_float_array("x", x)
    shape = tuple(q.event_shape)
    if xa.ndim != len(shape) + 1 or xa.shape[1:] != shape:
        raise ValueError(
            f"x must have shape (n, {', '.join(map(str, shape))}) to match Q_Y's event shape "
            f"{shape}, got {xa.shape}"
            if shape
            else f"x must have shape (n,) to match a scalar Q_Y, got {xa.shape}"
        )
    return xa


def _check_workers(workers: object) -> int:
    return check_int("workers", workers, minimum=1, maximum=256)


def _run_samples(
    fn: Callable[[int], None], n: int, workers: int, progress: bool, desc: str
) -> None:
    """Call ``fn(i)`` for every sample, in ``workers`` threads (numpy releases the GIL in the
    heavy parts); results do not depend on ``workers``."""
    from tqdm.auto import tqdm

    with tqdm(total=n, disable=not progress, desc=desc, unit="sample", leave=False) as bar:
        if workers == 1 or n < 2:
            for i in range(n):
                fn(i)
                bar.update(1)
            return
        from concurrent.futures import ThreadPoolExecutor

        def block(lo: int, hi: int) -> None:
            for i in range(lo, hi):
                fn(i)
                bar.update(1)

        edges = np.linspace(0, n, min(n, 8 * workers) + 1).astype(int)
        with ThreadPoolExecutor(max_workers=workers) as pool:
            jobs = [pool.submit(block, int(a), int(b)) for a, b in itertools.pairwise(edges)]
            for job in jobs:
                job.result()


def cumulative_weights(
    exponentials: object,
    n_candidates: int,
    method: str,
    *,
    start: int = 0,
    offset: float = 0.0,
) -> np.ndarray:
    r"""The weights :math:`W_i` of eq. (28), Lei et al., for candidates ``start+1 ..``.

    PFR: :math:`W_i = \sum_{j \le i} E_j` (Poisson arrival times). ORC:
    :math:`W_i = \sum_{j \le i} \frac{N}{N - j + 1} E_j`, i.e. N times the i-th smallest of N
    i.i.d. Exp(1) variables (Rényi's representation). ``offset`` is :math:`W_{start}`, carried
    over from the previous chunk.

    Examples
    --------
    >>> cumulative_weights([1.0, 1.0, 1.0, 1.0], 4, "pfr").tolist()
    [1.0, 2.0, 3.0, 4.0]
    >>> np.round(cumulative_weights([1.0, 1.0, 1.0, 1.0], 4, "orc"), 4).tolist()
    [1.0, 2.3333, 4.3333, 8.3333]
    """
    e = as_float_array("exponentials", exponentials, ndim=1)
    n = check_int("n_candidates", n_candidates, minimum=1, maximum=MAX_N_CANDIDATES)
    method = _check_method(method)
    start = check_int("start", start, minimum=0)
    if start + e.size > n:
        raise ValueError(f"start + len(exponentials) must be <= n_candidates ({n})")
    if method == "orc":
        j = start + np.arange(1, e.size + 1, dtype=np.float64)
        e = e * (n / (n - j + 1.0))
    return offset + np.cumsum(e)


def rcc_select(
    x: object,
    q: OutputDistribution,
    *,
    slope: float,
    n_candidates: int,
    seed: int,
    method: str = "pfr",
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    progress: bool = False,
    workers: int = 1,
) -> RCCSelection:
    r"""Algorithm 2's search: :math:`K = \arg\min_i d(x, Y_i) + \log_2 W_i / |\lambda|`.

    This is eq. (30), Lei et al. (Proposition 1) with :math:`\beta = \lambda \ln 2`; the weights
    follow eq. (28). Candidates are generated and scanned chunk by chunk.

    Parameters
    ----------
    x : array_like, shape (n, *event_shape)
        Samples to code (finite).
    q : OutputDistribution
        :math:`Q_Y`.
    slope : float
        :math:`\lambda` = dR/dD in bits per unit distortion, < 0.
    n_candidates : int
        N, 1 <= N <= :data:`MAX_N_CANDIDATES`.
    seed : int
        Shared seed, 0 <= seed < 2**64.
    method : {"pfr", "orc"}
    chunk_size : int
        Candidates per chunk (power of two).
    progress : bool
        Show a tqdm progress bar.
    workers : int
        Threads that code samples in parallel (the output does not depend on it).
    """
    xa = _check_samples(x, q)
    sl = _check_slope(slope)
    workers = _check_workers(workers)
    n = check_int("n_candidates", n_candidates, minimum=1, maximum=MAX_N_CANDIDATES)
    seed = _check_seed(seed)
    method = _check_method(method)
    chunk_size = _check_chunk(chunk_size)
    inv_abs_slope = 1.0 / abs(sl)
    sizes = _chunk_sizes(n, chunk_size)
    n_samples = xa.shape[0]
    flat = xa.reshape(n_samples, -1)
    indices = np.empty(n_samples, dtype=np.int64)
    dist = np.empty(n_samples)
    recon = np.empty_like(xa)

    def select(i: int) -> None:
        best = (math.inf, 0, None, 0.0)
        w_prev = 0.0
        for c, size in enumerate(sizes):
            y = np.asarray(q.sample(candidate_generator(seed, i, c, 0), size), dtype=np.float64)
            if y.shape != (size, *xa.shape[1:]):
                raise ValueError(
                    f"Q_Y.sample returned shape {y.shape}, expected {(size, *xa.shape[1:])}"
                )
            yf = y.reshape(size, -1)
            diff = yf - flat[i]
            d = np.einsum("ij,ij->i", diff, diff)
            e = candidate_generator(seed, i, c, 1).standard_exponential(size)
            w = cumulative_weights(e, n, method, start=c * chunk_size, offset=w_prev)  # eq. (28)
            w_prev = float(w[-1])
            # eq. (30), Lei et al.: d - ln(W)/beta with beta = slope * ln 2 < 0 (nats)
            score = d + np.log2(w) * inv_abs_slope
            a = int(np.argmin(score))
            if score[a] < best[0]:
                best = (float(score[a]), c * chunk_size + a + 1, y[a], float(d[a]))
        indices[i] = best[1]
        recon[i] = best[2]
        dist[i] = best[3]

    _run_samples(select, n_samples, workers, progress, "encode")
    return RCCSelection(indices=indices, reconstruction=recon, distortion=dist)


def rcc_reconstruct(
    q: OutputDistribution,
    indices: object,
    *,
    n_candidates: int,
    seed: int,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    progress: bool = False,
    workers: int = 1,
) -> np.ndarray:
    """Algorithm 3's output: :math:`Y_{K_i}` of sample i, regenerating one chunk per sample.

    Returns an array of shape ``(n, *event_shape)``; ``workers`` threads share the samples.
    """
    workers = _check_workers(workers)
    n = check_int("n_candidates", n_candidates, minimum=1, maximum=MAX_N_CANDIDATES)
    seed = _check_seed(seed)
    chunk_size = _check_chunk(chunk_size)
    k = np.asarray(indices)
    if k.ndim != 1 or not np.issubdtype(k.dtype, np.integer):
        raise TypeError("indices must be a 1-D integer array")
    if k.size and (k.min() < 1 or k.max() > n):
        raise ValueError(f"indices must lie in [1, {n}]")
    sizes = _chunk_sizes(n, chunk_size)
    out = np.empty((k.size, *q.event_shape))
    kl = k.tolist()

    def rebuild(i: int) -> None:
        c, r = divmod(kl[i] - 1, chunk_size)
        out[i] = q.sample(candidate_generator(seed, i, c, 0), sizes[c])[r]

    _run_samples(rebuild, k.size, workers, progress, "decode")
    return out


# -- the bitstream ---------------------------------------------------------------------------
_FIXED = struct.Struct("<BBBBQIddQB")


@dataclass(frozen=True)
class RCCHeader:
    """Everything the decoder needs, as stored in the codec header.

    Attributes
    ----------
    method : {"pfr", "orc"}
    index_coding : {"range", "prefix"}
    chunk_size : int
    distortion_measure : str
        ``"squared_error"``.
    seed : int
    n_candidates : int
    slope : float
        Bits per unit distortion (< 0).
    zipf_rate_bits : float
        Rate parameter C of the Zipf law (bits).
    n_samples : int
    event_shape : tuple of int
    output_identity : bytes
        SHA-256 identity of :math:`Q_Y`.
    output_spec : dict
        :meth:`OutputDistribution.spec` of :math:`Q_Y`.
    """

    method: str
    index_coding: str
    chunk_size: int
    distortion_measure: str
    seed: int
    n_candidates: int
    slope: float
    zipf_rate_bits: float
    n_samples: int
    event_shape: tuple[int, ...]
    output_identity: bytes
    output_spec: dict[str, Any]

    def to_bytes(self) -> bytes:
        spec = json.dumps(
            self.output_spec, sort_keys=True, separators=(",", ":"), allow_nan=False
        ).encode()
        fixed = _FIXED.pack(
            METHODS.index(self.method),
            INDEX_CODINGS.index(self.index_coding),
            self.chunk_size.bit_length() - 1,
            0,
            self.seed,
            self.n_candidates,
            self.slope,
            self.zipf_rate_bits,
            self.n_samples,
            len(self.event_shape),
        )
        dims = struct.pack(f"<{len(self.event_shape)}I", *self.event_shape)
        return fixed + dims + self.output_identity + struct.pack("<I", len(spec)) + spec

    @classmethod
    def from_bytes(cls, raw: bytes) -> RCCHeader:
        def bad(why: str) -> BitstreamError:
            return BitstreamError(f"invalid reverse-channel-coding header: {why}")

        if len(raw) < _FIXED.size:
            raise bad("too short")
        m, ic, lc, dm, seed, n, slope, c, n_samples, ndim = _FIXED.unpack_from(raw)
        if m >= len(METHODS):
            raise bad(f"method code {m}")
        if ic >= len(INDEX_CODINGS):
            raise bad(f"index coding code {ic}")
        if lc > 20:
            raise bad(f"chunk size 2**{lc}")
        if dm not in _DISTORTIONS:
            raise bad(f"distortion measure code {dm}")
        if not 1 <= n <= MAX_N_CANDIDATES:
            raise bad(f"n_candidates {n} outside [1, {MAX_N_CANDIDATES}]")
        if not (math.isfinite(slope) and slope < 0):
            raise bad(f"slope {slope}")
        if not (math.isfinite(c) and 0 <= c <= MAX_RATE_BITS):
            raise bad(f"zipf rate {c}")
        if ndim > _MAX_NDIM:
            raise bad(f"{ndim} event dimensions")
        pos = _FIXED.size
        if len(raw) < pos + 4 * ndim + 32 + 4:
            raise bad("too short")
        shape = struct.unpack_from(f"<{ndim}I", raw, pos)
        pos += 4 * ndim
        if (
            n_samples < 1
            or any(s < 1 for s in shape)
            or n_samples * math.prod(shape) > _MAX_ELEMENTS
        ):
            raise bad(f"{n_samples} samples of shape {shape}")
        identity = raw[pos : pos + 32]
        pos += 32
        (spec_len,) = struct.unpack_from("<I", raw, pos)
        pos += 4
        if pos + spec_len != len(raw):
            raise bad("length of the output spec does not match")
        try:
            spec = json.loads(raw[pos:].decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise bad(f"output spec is not JSON ({exc})") from None
        if not isinstance(spec, dict):
            raise bad("output spec is not an object")
        return cls(
            method=METHODS[m],
            index_coding=INDEX_CODINGS[ic],
            chunk_size=1 << lc,
            distortion_measure=_DISTORTIONS[dm],
            seed=seed,
            n_candidates=n,
            slope=slope,
            zipf_rate_bits=c,
            n_samples=n_samples,
            event_shape=tuple(shape),
            output_identity=identity,
            output_spec=spec,
        )

    @property
    def zipf_law(self) -> ZipfLaw:
        return ZipfLaw(self.zipf_rate_bits, self.n_candidates)


@dataclass(frozen=True)
class RCCEncoding:
    """Result of :func:`rcc_encode`.

    Attributes
    ----------
    bitstream : bytes
        The whole container (what is written to disk).
    header : RCCHeader
    indices : ndarray of int64, shape (n,)
    reconstruction : ndarray, shape (n, *event_shape)
        What the decoder will output (bit-identical).
    distortion : float
        Mean of :math:`d(x_i, Y_{K_i})` (squared error summed over the event).
    bits_per_sample : float
        ``8 * len(bitstream) / n``: the real rate, container included.
    payload_bits_per_sample : float
        ``8 * len(payload) / n``: the coded indices alone.
    information_bits_per_sample : float
        Mean ideal code length :math:`-\\log_2 q(K_i)` under the Zipf law.
    """

    bitstream: bytes
    header: RCCHeader
    indices: np.ndarray
    reconstruction: np.ndarray
    distortion: float
    bits_per_sample: float
    payload_bits_per_sample: float
    information_bits_per_sample: float

    @property
    def n_samples(self) -> int:
        return int(self.indices.size)


def rcc_encode(
    x: object,
    q: OutputDistribution,
    *,
    slope: float,
    n_candidates: int,
    seed: int,
    zipf_rate_bits: float,
    method: str = "pfr",
    index_coding: str = "range",
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    progress: bool = False,
    workers: int = 1,
) -> RCCEncoding:
    """Algorithm 2, Lei et al.: code the rows of ``x`` into one bitstream.

    Parameters
    ----------
    x : array_like, shape (n, *event_shape)
        n >= 1 finite samples.
    q : OutputDistribution
        :math:`Q_Y` (e.g. ``gaussian_operating_point(...).output``).
    slope : float
        dR/dD in bits per unit distortion, < 0 (the paper's :math:`\\beta` is ``slope * ln 2``).
    n_candidates : int
        N, 1 <= N <= 2**24.
    seed : int
        Shared seed (recorded in the header), 0 <= seed < 2**64.
    zipf_rate_bits : float
        Rate parameter C of the Zipf law (the R(D) estimate, bits), 0 <= C <= 1000.
    method : {"pfr", "orc"}
    index_coding : {"range", "prefix"}
        One range coder for the batch, or each index alone with the one-shot prefix code.
    chunk_size : int
        Candidates per chunk (power of two).
    progress : bool
        Show a progress bar.
    workers : int
        Threads that code samples in parallel (the bitstream does not depend on it).

    Examples
    --------
    >>> op = gaussian_operating_point("gaussian:1", distortion=0.25)
    >>> x = np.array([0.3, -1.2, 0.8])
    >>> enc = rcc_encode(x, op.output, slope=op.slope, n_candidates=64, seed=1,
    ...                  zipf_rate_bits=op.rate_bits)
    >>> dec = rcc_decode(enc.bitstream)
    >>> bool(np.array_equal(dec.reconstruction, enc.reconstruction))
    True
    """
    xa = _check_samples(x, q)
    if index_coding not in INDEX_CODINGS:
        raise ValueError(f"index_coding must be one of {INDEX_CODINGS}, got {index_coding!r}")
    c = check_in_range("zipf_rate_bits", zipf_rate_bits, 0.0, MAX_RATE_BITS)
    sel = rcc_select(
        xa,
        q,
        slope=slope,
        n_candidates=n_candidates,
        seed=seed,
        method=method,
        chunk_size=chunk_size,
        progress=progress,
        workers=workers,
    )
    header = RCCHeader(
        method=method,
        index_coding=index_coding,
        chunk_size=int(chunk_size),
        distortion_measure="squared_error",
        seed=int(seed),
        n_candidates=int(n_candidates),
        slope=float(slope),
        zipf_rate_bits=c,
        n_samples=int(xa.shape[0]),
        event_shape=tuple(int(s) for s in q.event_shape),
        output_identity=q.identity(),
        output_spec=q.spec(),
    )
    law = header.zipf_law
    if index_coding == "range":
        payload = encode_indices_range(sel.indices, law)
    else:
        payload, _ = encode_indices_prefix(sel.indices, law)
    data = pack_container(RCC_CODEC_ID, header.to_bytes(), payload)
    n = xa.shape[0]
    return RCCEncoding(
        bitstream=data,
        header=header,
        indices=sel.indices,
        reconstruction=sel.reconstruction,
        distortion=float(sel.distortion.mean()),
        bits_per_sample=8.0 * len(data) / n,
        payload_bits_per_sample=8.0 * len(payload) / n,
        information_bits_per_sample=float(law.information_bits(sel.indices).mean()),
    )


@dataclass(frozen=True)
class RCCDecoding:
    """Result of :func:`rcc_decode`: the reconstruction, the indices and the header."""

    reconstruction: np.ndarray
    indices: np.ndarray
    header: RCCHeader


def read_rcc_header(data: bytes) -> tuple[RCCHeader, bytes]:
    """Check the container and parse the RCC header; returns (header, payload).

    Raises
    ------
    BitstreamError
        If ``data`` is not a valid reverse-channel-coding bitstream.
    """
    frame = unpack_container(data, codec_id=RCC_CODEC_ID)
    return RCCHeader.from_bytes(frame.header), frame.payload


def rcc_decode(
    data: bytes,
    q: OutputDistribution | None = None,
    *,
    progress: bool = False,
    workers: int = 1,
) -> RCCDecoding:
    """Algorithm 3, Lei et al.: rebuild :math:`Y_{K_i}` of every sample in ``data``.

    Parameters
    ----------
    data : bytes
        A bitstream written by :func:`rcc_encode`.
    q : OutputDistribution, optional
        :math:`Q_Y`. If omitted it is rebuilt from the header (closed-form kinds only). Its
        identity must match the one in the header.
    progress : bool
        Show a progress bar.
    workers : int
        Threads that rebuild samples in parallel.

    Raises
    ------
    BitstreamError
        Invalid, corrupted or truncated stream, or a ``q`` other than the encoder's.
    """
    header, payload = read_rcc_header(data)
    if q is None:
        try:
            q = output_from_spec(header.output_spec)
        except (ValueError, TypeError) as exc:
            raise BitstreamError(f"cannot rebuild Q_Y from the header: {exc}") from None
    elif not isinstance(q, OutputDistribution):
        raise TypeError(f"q must be an OutputDistribution, got {type(q).__name__}")
    if q.identity() != header.output_identity:
        raise BitstreamError(
            "wrong Q_Y for this bitstream: it was encoded with output distribution "
            f"{header.output_identity.hex()[:16]}…, the decoder has {q.identity().hex()[:16]}…"
        )
    if tuple(q.event_shape) != header.event_shape:
        raise BitstreamError(
            f"Q_Y event shape {tuple(q.event_shape)} does not match the header's "
            f"{header.event_shape}"
        )
    law = header.zipf_law
    if header.n_candidates > 1:
        # every index costs at least -log2 q(1) bits (> 0.39 bit): a header that claims more
        # samples than the payload can hold is rejected before anything is allocated
        most = (8 * len(payload) + 96) / (0.99 * law.log2_normalizer) + 16
        if header.n_samples > most:
            raise BitstreamError(
                f"header claims {header.n_samples} samples; a {len(payload)}-byte payload "
                f"holds at most {int(most)}"
            )
    try:
        if header.index_coding == "range":
            k = decode_indices_range(payload, law, header.n_samples)
        else:
            k = decode_indices_prefix(payload, law, header.n_samples)
    except IndexCodingError as exc:
        raise BitstreamError(f"corrupted payload: {exc}") from None
    y = rcc_reconstruct(
        q,
        k,
        n_candidates=header.n_candidates,
        seed=header.seed,
        chunk_size=header.chunk_size,
        progress=progress,
        workers=workers,
    )
    return RCCDecoding(reconstruction=y, indices=k, header=header)


def rcc_measure(
    x: object,
    q: OutputDistribution,
    *,
    slope: float,
    n_candidates: int,
    seed: int,
    zipf_rate_bits: float,
    method: str = "pfr",
    workers: int = 1,
    progress: bool = False,
    decode: bool = True,
) -> dict[str, Any]:
    """Encode ``x`` (and, with ``decode``, decode and check the round trip); measure the code.

    The one place where experiments, benchmarks and the demo turn a coding run into numbers.

    Returns
    -------
    dict
        ``method``, ``n_candidates``, ``n_samples``, ``bitstream_bytes``; rates in bits per
        sample: ``rate_bits`` (the range-coded payload), ``one_shot_bits`` (each index alone
        with the prefix code), ``file_bits`` (8 * file size / n, container included),
        ``information_bits`` (ideal code length under the Zipf law); ``distortion`` (mean
        squared error per sample) and ``distortion_standard_error``;
        ``encode_samples_per_second`` and, with ``decode``, ``decode_samples_per_second``.

    Raises
    ------
    RuntimeError
        If the decoder does not rebuild the encoder's reconstruction bit for bit.
    """
    xa = np.asarray(x, dtype=np.float64)
    start = time.perf_counter()
    enc = rcc_encode(
        xa,
        q,
        slope=slope,
        n_candidates=n_candidates,
        seed=seed,
        zipf_rate_bits=zipf_rate_bits,
        method=method,
        workers=workers,
        progress=progress,
    )
    encode_seconds = time.perf_counter() - start
    n = xa.shape[0]
    _, one_shot_bits = encode_indices_prefix(enc.indices, enc.header.zipf_law)
    err = (xa - enc.reconstruction).reshape(n, -1)
    d = np.sum(err * err, axis=1)
    out: dict[str, Any] = {
        "method": method,
        "n_candidates": int(n_candidates),
        "n_samples": int(n),
        "bitstream_bytes": len(enc.bitstream),
        "rate_bits": enc.payload_bits_per_sample,
        "one_shot_bits": one_shot_bits / n,
        "file_bits": enc.bits_per_sample,
        "information_bits": enc.information_bits_per_sample,
        "distortion": float(d.mean()),
        "distortion_standard_error": float(d.std(ddof=1) / math.sqrt(n)) if n > 1 else None,
        "encode_samples_per_second": n / encode_seconds,
    }
    if decode:
        start = time.perf_counter()
        dec = rcc_decode(enc.bitstream, q, workers=workers, progress=progress)
        out["decode_samples_per_second"] = n / (time.perf_counter() - start)
        if dec.reconstruction.tobytes() != enc.reconstruction.tobytes():
            raise RuntimeError("the decoder did not rebuild the encoder's reconstruction")
    return out


__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "MAX_N_CANDIDATES",
    "METHODS",
    "OUTPUT_KINDS",
    "RCC_CODEC_ID",
    "GaussianOperatingPoint",
    "GaussianOutput",
    "GeneratorOutput",
    "OutputDistribution",
    "RCCDecoding",
    "RCCEncoding",
    "RCCHeader",
    "RCCSelection",
    "candidate_chunk",
    "candidate_generator",
    "checkpoint_identity",
    "cumulative_weights",
    "gaussian_operating_point",
    "output_from_spec",
    "rcc_decode",
    "rcc_encode",
    "rcc_guarantee_bits",
    "rcc_measure",
    "rcc_reconstruct",
    "rcc_select",
    "read_rcc_header",
    "register_output_kind",
]
