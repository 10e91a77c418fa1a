r"""Output distributions :math:`Q_Y` of reverse channel coding and the Gaussian operating point.

Anything that satisfies :class:`OutputDistribution` can be :math:`Q_Y`: the exact Gaussian
:class:`GaussianOutput` (the R(D)-optimal output of a Gaussian source, corrected form,
docs/errata.md E002-1) or a trained generator (:class:`GeneratorOutput`). Its ``identity`` (a
SHA-256 of its parameters, or of a checkpoint) is written into the bitstream, so decoding with
the wrong model fails instead of producing garbage; its ``spec`` says how to rebuild it
(:func:`output_from_spec`) or which model the decoder must be given.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from rdlab.coding.index_coding import rcc_guarantee_bits
from rdlab.core.information import LOG2E
from rdlab.core.io import file_sha256, safetensors_file_digest
from rdlab.core.validation import as_float_array, check_int, check_positive, check_real


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
    """The identity of a learned model's safetensors checkpoint: SHA-256 of its canonical
    content (tensors by name, metadata with sorted keys; see
    :func:`rdlab.core.io.safetensors_digest`), so the same weights and metadata always give
    the same identity, however and wherever the file was written.

    Raises
    ------
    FileNotFoundError, ValueError
        No such file, or not a safetensors file.
    """
    from pathlib import Path

    return safetensors_file_digest(Path(path))  # type: ignore[arg-type]


def legacy_checkpoint_identity(path: object) -> bytes:
    """The identity rdlab 0.2 gave a checkpoint: SHA-256 of the file's bytes (streams written
    then still name it; decoders accept it beside :func:`checkpoint_identity`)."""
    from pathlib import Path

    p = Path(path)  # type: ignore[arg-type]
    if not p.is_file():
        raise FileNotFoundError(f"{p} does not exist")
    return file_sha256(p)


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
    legacy_identities : sequence of bytes
        Identities older rdlab versions gave this generator: streams naming them decode too.

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
        legacy_identities: tuple[bytes, ...] = (),
    ) -> None:
        if not callable(generator):
            raise TypeError("generator must be callable")
        self.generator = generator
        self.latent_shape = tuple(check_int("latent_shape", v, minimum=1) for v in latent_shape)
        self.event_shape = tuple(check_int("event_shape", v, minimum=1) for v in event_shape)
        if not isinstance(identity, bytes) or len(identity) != 32:
            raise ValueError("identity must be 32 bytes (a SHA-256 digest)")
        self._identity = identity
        if not all(isinstance(v, bytes) and len(v) == 32 for v in legacy_identities):
            raise ValueError("legacy_identities must be 32-byte SHA-256 digests")
        self.legacy_identities = tuple(legacy_identities)
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
    def rate_bound_bits(self) -> float:
        """The codec's rate bound R + log2(R + 1) + 5 bits (eq. (25), Lei et al.)."""
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


__all__ = [
    "OUTPUT_KINDS",
    "GaussianOperatingPoint",
    "GaussianOutput",
    "GeneratorOutput",
    "OutputDistribution",
    "checkpoint_identity",
    "gaussian_operating_point",
    "legacy_checkpoint_identity",
    "output_from_spec",
    "register_output_kind",
]
