"""Distortion measures and distortion matrices for finite alphabets.

A distortion takes arrays ``x`` of shape (..., m) and ``y`` of shape (..., m) (broadcastable; the
last axis is the vector axis) and returns the per-pair distortion of shape (...). Scalars are
vectors with m = 1.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from rdlab.core.validation import as_float_array, check_real

Distortion = Callable[[np.ndarray, np.ndarray], np.ndarray]


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
