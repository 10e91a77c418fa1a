"""Argument checks shared by every layer.

Each check raises :class:`ValueError` (or :class:`TypeError` for the wrong kind of object) whose
message names the argument and the allowed range, so that callers and the CLI can show it as is.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

PMF_ATOL = 1e-9
"""How far the sum of a probability vector may be from 1."""


def check_real(name: str, value: object) -> float:
    """Return ``value`` as a finite float, or raise naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real | np.floating | np.integer):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    out = float(value)
    if not math.isfinite(out):
        raise ValueError(f"{name} must be finite, got {out}")
    return out


def check_nonnegative(name: str, value: object) -> float:
    out = check_real(name, value)
    if out < 0:
        raise ValueError(f"{name} must be >= 0, got {out}")
    return out


def check_positive(name: str, value: object) -> float:
    out = check_real(name, value)
    if out <= 0:
        raise ValueError(f"{name} must be > 0, got {out}")
    return out


def check_nonpositive(name: str, value: object) -> float:
    out = check_real(name, value)
    if out > 0:
        raise ValueError(f"{name} must be <= 0, got {out}")
    return out


def check_in_range(
    name: str,
    value: object,
    low: float,
    high: float,
    *,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """Check ``low <= value <= high`` (with open ends where asked)."""
    out = check_real(name, value)
    bad_low = out <= low if low_open else out < low
    bad_high = out >= high if high_open else out > high
    if bad_low or bad_high:
        left = "(" if low_open else "["
        right = ")" if high_open else "]"
        raise ValueError(f"{name} must be in {left}{low}, {high}{right}, got {out}")
    return out


def check_int(
    name: str, value: object, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral | np.integer):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    out = int(value)
    if minimum is not None and out < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {out}")
    if maximum is not None and out > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {out}")
    return out


def as_float_array(name: str, value: object, *, ndim: int | None = None) -> np.ndarray:
    """Convert to a finite float64 array of the given number of dimensions."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be an array of real numbers ({exc})") from None
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimension(s), got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite (found NaN or inf)")
    return arr


def check_pmf(name: str, value: object, *, atol: float = PMF_ATOL) -> np.ndarray:
    """A 1-D probability vector: entries in [0, 1] summing to 1, both within ``atol``.

    Entries off [0, 1] by rounding only (a marginal summed to 1.0000000000000002, an entry
    computed as -1e-17) are accepted and clipped. Returns a float64 copy renormalised to sum to 1
    exactly (up to rounding).
    """
    p = as_float_array(name, value, ndim=1)
    if np.any(p < -atol) or np.any(p > 1.0 + atol):
        raise ValueError(f"{name} entries must lie in [0, 1]; got min {p.min()}, max {p.max()}")
    total = float(p.sum())
    if abs(total - 1.0) > atol:
        raise ValueError(
            f"{name} must sum to 1 within {atol:g}; it sums to {total!r} (off by {total - 1.0:+.3g})"
        )
    p = np.clip(p, 0.0, None)
    return p / float(p.sum())


def check_distortion_matrix(name: str, value: object, n_source: int | None = None) -> np.ndarray:
    """A finite, non-negative 2-D matrix d[x, y]; optionally with ``n_source`` rows."""
    d = as_float_array(name, value, ndim=2)
    if np.any(d < 0):
        raise ValueError(f"{name} entries must be >= 0; found min {d.min()}")
    if n_source is not None and d.shape[0] != n_source:
        raise ValueError(
            f"{name} must have one row per source symbol ({n_source}), got shape {d.shape}"
        )
    return d


def check_variances(name: str, value: object) -> np.ndarray:
    v = np.atleast_1d(as_float_array(name, value))
    if v.ndim != 1:
        raise ValueError(f"{name} must be a scalar or a 1-D array, got shape {v.shape}")
    if np.any(v <= 0):
        raise ValueError(f"{name} must be > 0, got min {v.min()}")
    return v


def make_rng(seed: object) -> np.random.Generator:
    """A numpy Generator from an int seed, a SeedSequence or a Generator (never from None)."""
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, np.random.SeedSequence):
        return np.random.default_rng(seed)
    if seed is None:
        raise TypeError("seed must be given explicitly (an int >= 0 or a numpy Generator)")
    s = check_int("seed", seed, minimum=0)
    return np.random.default_rng(s)


MAX_SEED = 2**64 - 1
"""Largest seed a bitstream header holds (uint64)."""


def check_seed(seed: object, name: str = "seed") -> int:
    """An integer seed in ``[0, 2**64)``, the range every bitstream header stores."""
    return check_int(name, seed, minimum=0, maximum=MAX_SEED)


def check_bytes(name: str, value: object) -> bytes:
    """``bytes`` from bytes, bytearray or memoryview; ``TypeError`` naming ``name`` otherwise."""
    if not isinstance(value, bytes | bytearray | memoryview):
        raise TypeError(f"{name} must be bytes, got {type(value).__name__}")
    return bytes(value)


def check_digest(name: str, value: object) -> bytes:
    """A 32-byte SHA-256 digest (the identity of a model in a bitstream header)."""
    out = check_bytes(name, value)
    if len(out) != 32:
        raise ValueError(f"{name} must be a 32-byte SHA-256 digest, got {len(out)} bytes")
    return out
