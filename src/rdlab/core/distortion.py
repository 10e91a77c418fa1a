"""Distortion measures, their names, and distortion matrices for finite alphabets.

A distortion takes arrays ``x`` of shape (..., m) and ``y`` of shape (..., m) (broadcastable; the
last axis is the vector axis) and returns the per-pair distortion of shape (...). Scalars are
vectors with m = 1.

Every result rdlab writes names its measure with a key of :data:`DISTORTION_MEASURES` in
``distortion_measure``; :func:`convert_distortion` is the one place that turns a value of one
measure into another (per sample and per component).
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np

from rdlab.core.validation import as_float_array, check_real

Distortion = Callable[[np.ndarray, np.ndarray], np.ndarray]

_SQ_LP = re.compile(r"sq-l(\d+(?:\.\d+)?)")

DISTORTION_MEASURES: dict[str, str] = {
    "squared_error": "squared error summed over the components of a sample, ||x - y||_2^2 "
    "(per sample; a scalar source has one component)",
    "mse_per_component": "mean squared error per component, ||x - y||_2^2 / m (for images: per "
    "pixel, in the squared unit of the pixel values, [0, 1] unless stated)",
    "sq-lP": "squared l_P distance ||x - y||_P^2 per sample, P >= 1 (written sq-l1, sq-l3, ...; "
    "sq-l2 is squared_error)",
    "hamming": "1 where the reproduction symbol differs from the source symbol, else 0 (per "
    "symbol)",
    "absolute": "absolute error summed over the components of a sample, ||x - y||_1",
    "ranking": "1 - reciprocal rank of the true item (per query; 1 - MRR on average)",
}
"""The distortion measures of rdlab results: ``distortion_measure`` holds one of these keys."""


def _as_vectors(name: str, v: object) -> np.ndarray:
    arr = as_float_array(name, v)
    return arr[None] if arr.ndim == 0 else arr


def squared_error(x: object, y: object) -> np.ndarray:
    r"""Squared Euclidean distance :math:`\|x - y\|_2^2` over the last axis.

    Examples
    --------
    >>> float(squared_error([1.0, 2.0], [0.0, 0.0]))
    5.0
    """
    xa = as_float_array("x", x)
    ya = as_float_array("y", y)
    if xa.ndim == 0 or ya.ndim == 0:
        return np.asarray((xa - ya) ** 2)
    diff = xa - ya
    return np.sum(diff * diff, axis=-1)


def hamming_distortion(x: object, y: object) -> np.ndarray:
    """Hamming distortion: 1 where the symbols differ, 0 where equal (elementwise).

    Examples
    --------
    >>> hamming_distortion([0, 1, 1], [0, 0, 1]).tolist()
    [0.0, 1.0, 0.0]
    """
    return (np.asarray(x) != np.asarray(y)).astype(np.float64)


def squared_lp(p: float) -> Distortion:
    r"""The squared :math:`\ell_p` distance :math:`d_p(x, y) = \|x - y\|_p^2` (seed 002 §IV-F).

    Parameters
    ----------
    p : float
        Order of the norm, ``p >= 1`` (``p = 2`` gives :func:`squared_error`).

    Examples
    --------
    >>> d1 = squared_lp(1)
    >>> float(d1(np.array([1.0, -2.0]), np.array([0.0, 0.0])))
    9.0
    """
    order = check_real("p", p)
    if order < 1:
        raise ValueError(f"p must be >= 1 for a norm, got {order}")

    def distortion(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        diff = np.abs(_as_vectors("x", x) - _as_vectors("y", y))
        return np.sum(diff**order, axis=-1) ** (2.0 / order)

    distortion.__name__ = f"squared_l{order:g}"
    return distortion


def check_distortion_measure(measure: object) -> str:
    """``measure`` if it is a key of :data:`DISTORTION_MEASURES` or ``sq-lP`` with a number
    ``P >= 1``; ``ValueError`` otherwise."""
    if isinstance(measure, str) and (m := _SQ_LP.fullmatch(measure)) and float(m.group(1)) >= 1:
        return measure
    if measure not in DISTORTION_MEASURES or measure == "sq-lP":
        raise ValueError(
            f"distortion_measure must be one of {', '.join(sorted(DISTORTION_MEASURES))}, "
            f"got {measure!r}"
        )
    return str(measure)


def per_sample_distortion(x: object, y: object, measure: str) -> np.ndarray:
    """Distortion of each sample (axis 0) between batches ``x`` and ``y`` of one shape.

    ``"squared_error"`` sums the squared error over every other axis of a sample;
    ``"mse_per_component"`` averages it; ``"hamming"`` averages the symbol mismatches.

    Examples
    --------
    >>> x, y = np.zeros((2, 2, 2)), np.ones((2, 2, 2))
    >>> per_sample_distortion(x, y, "squared_error").tolist()
    [4.0, 4.0]
    >>> per_sample_distortion(x, y, "mse_per_component").tolist()
    [1.0, 1.0]
    """
    name = check_distortion_measure(measure)
    if name == "hamming":
        xa, ya = np.asarray(x), np.asarray(y)
    else:
        xa, ya = as_float_array("x", x), as_float_array("y", y)
    if xa.shape != ya.shape or xa.ndim == 0:
        raise ValueError(
            f"x and y must be batches of one shape (n, ...), got {xa.shape} and {ya.shape}"
        )
    n = xa.shape[0]
    if name == "hamming":
        return (xa.reshape(n, -1) != ya.reshape(n, -1)).mean(axis=1).astype(np.float64)
    diff = (xa - ya).reshape(n, -1)
    if name == "squared_error":
        return np.einsum("ij,ij->i", diff, diff)
    if name == "mse_per_component":
        return np.einsum("ij,ij->i", diff, diff) / diff.shape[1]
    if name == "absolute":
        return np.abs(diff).sum(axis=1)
    raise ValueError(f"per-sample distortion is not defined here for measure {name!r}")


def convert_distortion(value: object, *, measure: str, to: str, components: int) -> float:
    """A distortion of ``measure`` as a value of measure ``to``, for samples of ``components``.

    Squared error per sample and mean squared error per component differ by the factor
    ``components`` (the number of components of one sample, e.g. pixels times channels).

    Examples
    --------
    >>> convert_distortion(0.02, measure="mse_per_component", to="squared_error", components=784)
    15.68
    """
    src, dst = check_distortion_measure(measure), check_distortion_measure(to)
    m = int(components)
    if m < 1:
        raise ValueError(f"components must be >= 1, got {components}")
    v = check_real("value", value)
    if src == dst:
        return v
    pair = {src, dst}
    if pair == {"squared_error", "mse_per_component"}:
        return v * m if src == "mse_per_component" else v / m
    raise ValueError(f"cannot convert a distortion of {src!r} into {dst!r}")


def distortion_matrix(
    source_alphabet: object,
    reproduction_alphabet: object | None = None,
    distortion: Distortion | str = "squared_error",
) -> np.ndarray:
    """Matrix ``d[i, j] = distortion(x_i, y_j)`` for finite alphabets.

    Parameters
    ----------
    source_alphabet : array_like, shape (n_x,) or (n_x, m)
        Source symbols (scalars or m-vectors).
    reproduction_alphabet : array_like, shape (n_y,) or (n_y, m), optional
        Reproduction symbols; the source alphabet when omitted.
    distortion : callable or {"squared_error", "hamming", "absolute"}
        Per-pair distortion.

    Returns
    -------
    ndarray, shape (n_x, n_y)

    Examples
    --------
    >>> distortion_matrix([0, 1], distortion="hamming").tolist()
    [[0.0, 1.0], [1.0, 0.0]]
    """
    xs = np.asarray(source_alphabet)
    ys = xs if reproduction_alphabet is None else np.asarray(reproduction_alphabet)
    if xs.size == 0 or ys.size == 0:
        raise ValueError("alphabets must not be empty")
    if isinstance(distortion, str):
        if distortion == "hamming":
            xs1 = xs.reshape(xs.shape[0], -1)
            ys1 = ys.reshape(ys.shape[0], -1)
            return np.any(xs1[:, None, :] != ys1[None, :, :], axis=-1).astype(np.float64)
        xa = as_float_array("source_alphabet", xs)
        ya = as_float_array("reproduction_alphabet", ys)
        xa = xa.reshape(xa.shape[0], -1)
        ya = ya.reshape(ya.shape[0], -1)
        if xa.shape[1] != ya.shape[1]:
            raise ValueError(
                f"source and reproduction symbols must have the same dimension, got {xa.shape[1]} and {ya.shape[1]}"
            )
        if distortion == "squared_error":
            # ||x||^2 + ||y||^2 - 2 x.y, clipped at 0 against rounding
            d = (xa * xa).sum(1)[:, None] + (ya * ya).sum(1)[None, :] - 2.0 * xa @ ya.T
            if xa.shape[1] == 1:
                d = (xa - ya.T) ** 2
            return np.maximum(d, 0.0)
        if distortion == "absolute":
            return np.abs(xa[:, None, :] - ya[None, :, :]).sum(-1)
        raise ValueError(
            f"distortion must be a callable or one of 'squared_error', 'hamming', 'absolute', got {distortion!r}"
        )
    if not callable(distortion):
        raise TypeError(f"distortion must be callable or a name, got {type(distortion).__name__}")
    xa = xs.reshape(xs.shape[0], -1)
    ya = ys.reshape(ys.shape[0], -1)
    d = np.asarray(distortion(xa[:, None, :], ya[None, :, :]), dtype=np.float64)
    if d.shape != (xa.shape[0], ya.shape[0]):
        raise ValueError(
            f"distortion returned shape {d.shape}, expected {(xa.shape[0], ya.shape[0])}"
        )
    if not np.all(np.isfinite(d)) or np.any(d < 0):
        raise ValueError("distortion must return finite, non-negative values")
    return d
