"""Frozen result dataclasses shared by every solver, estimator and codec.

Conventions
-----------
- ``rate_bits`` is in bits (per source symbol, or per sample for vector sources).
- ``distortion`` is in the unit of the distortion measure (e.g. squared error per sample).
- ``slope`` is the slope dR/dD of the rate-distortion curve at the point, in **bits per unit of
  distortion**; it is non-positive. Blahut-Arimoto's Lagrange multiplier in nats is
  ``slope * ln 2`` (seed 002 writes it as ``-beta`` with ``beta >= 0``).
- ``rate_lower_bits``/``rate_upper_bits`` certify the true R(D) at ``distortion`` where a method
  can (Blahut-Arimoto); ``gap_bits`` is their difference.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np


def jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, np.generic):
        return jsonable(value.item())
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


@dataclass(frozen=True)
class RDPoint:
    """One point of a rate-distortion(-perception) curve.

    Attributes
    ----------
    rate_bits : float
        Rate in bits.
    distortion : float
        Expected distortion.
    slope : float or None
        dR/dD at the point in bits per unit of distortion (<= 0), where known.
    perception : float or None
        Perception measure where the problem has one (e.g. W2^2).
    rate_lower_bits, rate_upper_bits : float or None
        Certified bounds on the true rate at ``distortion``, where the method has them.
    gap_bits : float or None
        ``rate_upper_bits - rate_lower_bits``.
    iterations : int
        Iterations the method used (0 for closed forms).
    converged : bool
        Whether the method met its stopping rule.
    method : str
        Which method made the point (``"closed-form"``, ``"blahut-arimoto"``, ...).
    """

    rate_bits: float
    distortion: float
    slope: float | None = None
    perception: float | None = None
    rate_lower_bits: float | None = None
    rate_upper_bits: float | None = None
    gap_bits: float | None = None
    iterations: int = 0
    converged: bool = True
    method: str = "closed-form"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; fields that are ``None`` are left out."""
        return {k: jsonable(v) for k, v in asdict(self).items() if v is not None}


@dataclass(frozen=True)
class RDCurve:
    """An ordered collection of :class:`RDPoint` with a label.

    ``to_dict()`` gives the JSON shape every curve-producing command prints: an object whose
    ``points`` is a list of objects with at least ``rate_bits`` and ``distortion``.
    """

    points: tuple[RDPoint, ...]
    label: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "points", tuple(self.points))

    def __len__(self) -> int:
        return len(self.points)

    def __iter__(self):
        return iter(self.points)

    @property
    def rate_bits(self) -> np.ndarray:
        return np.array([p.rate_bits for p in self.points], dtype=float)

    @property
    def distortion(self) -> np.ndarray:
        return np.array([p.distortion for p in self.points], dtype=float)

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "meta": jsonable(dict(self.meta)),
            "points": [p.to_dict() for p in self.points],
        }


@dataclass(frozen=True)
class RDSolution:
    """A rate-distortion point together with the channel that achieves it.

    Attributes
    ----------
    rate_bits, distortion, slope, rate_lower_bits, rate_upper_bits, gap_bits, iterations,
    converged : see :class:`RDPoint`.
    channel : ndarray, shape (n_x, n_y)
        The test channel ``W(y|x)``; rows sum to 1.
    output_pmf : ndarray, shape (n_y,)
        The output marginal ``q(y) = sum_x p(x) W(y|x)``.
    """

    rate_bits: float
    distortion: float
    slope: float
    channel: np.ndarray
    output_pmf: np.ndarray
    rate_lower_bits: float
    rate_upper_bits: float
    gap_bits: float
    iterations: int
    converged: bool
    method: str = "blahut-arimoto"

    @property
    def point(self) -> RDPoint:
        return RDPoint(
            rate_bits=self.rate_bits,
            distortion=self.distortion,
            slope=self.slope,
            rate_lower_bits=self.rate_lower_bits,
            rate_upper_bits=self.rate_upper_bits,
            gap_bits=self.gap_bits,
            iterations=self.iterations,
            converged=self.converged,
            method=self.method,
        )
