r"""The achievable distortion-perception region of a representation, estimated from samples.

Theorem 4 of Zhang, Qian, Chen & Khisti: under MSE, a representation :math:`Z` of :math:`X`
achieves (up to closure) exactly the pairs
:math:`D \ge E\|X - \tilde X\|^2 + \inf_{q:\, d(p_X, q) \le P} W_2^2(p_{\tilde X}, q)` with
:math:`\tilde X = E[X|Z]`. For the perception measure :math:`d = W_2^2` the region is fixed by
the extreme points :math:`(D_a, P_a) = (E\|X - \tilde X\|^2, W_2^2(p_{\tilde X}, p_X))` and
:math:`(D_b, 0) = (D_a + P_a, 0)` (see :class:`rdlab.theory.universal.DPRegion`).

Here the expectations are sample means and the Wasserstein distances are between empirical
laws, computed with POT (``ot.wasserstein_1d`` in one dimension, ``ot.emd2`` otherwise). POT
is imported on first use only (it pulls in optional back ends).
"""

from __future__ import annotations

import numpy as np

from rdlab.core.validation import as_float_array, check_in_range, check_int
from rdlab.theory.universal import DPRegion

CONDITIONAL_MEAN_METHODS = ("discrete", "linear", "knn")

MAX_OT_PAIRS = 25_000_000
"""Largest n_a * n_b for which a multi-dimensional exact OT problem is solved."""


def _samples(name: str, value: object) -> np.ndarray:
    arr = as_float_array(name, value)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise ValueError(f"{name} must have shape (n,) or (n, dim), got {arr.shape}")
    if arr.shape[0] < 2:
        raise ValueError(f"{name} must hold at least 2 samples, got {arr.shape[0]}")
    return arr


def wasserstein2_squared(a: object, b: object) -> float:
    r"""Squared Wasserstein-2 distance between the empirical laws of two sample sets.

    Parameters
    ----------
    a, b : array_like, shape (n,) or (n, dim)
        Samples (uniform weights); sizes may differ, dimensions must agree.

    Notes
    -----
    One dimension: ``ot.wasserstein_1d(a, b, p=2)`` (quantile coupling, exact). Higher
    dimensions: ``ot.emd2`` on the squared-Euclidean cost, limited to
    ``n_a * n_b <= MAX_OT_PAIRS``.
    """
    import ot

    x = _samples("a", a)
    y = _samples("b", b)
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"a and b must have the same dimension, got {x.shape[1]} and {y.shape[1]}")
    if x.shape[1] == 1:
        return float(ot.wasserstein_1d(x[:, 0], y[:, 0], p=2))
    if x.shape[0] * y.shape[0] > MAX_OT_PAIRS:
        raise ValueError(
            f"a and b are too large for exact OT ({x.shape[0]} x {y.shape[0]} > {MAX_OT_PAIRS}); "
            "subsample them"
        )
    cost = ot.dist(x, y, metric="sqeuclidean")
    wa = np.full(x.shape[0], 1.0 / x.shape[0])
    wb = np.full(y.shape[0], 1.0 / y.shape[0])
    return float(ot.emd2(wa, wb, cost, numItermax=10_000_000))


def conditional_mean(
    x: object, z: object, *, method: str = "discrete", n_neighbors: int = 50
) -> np.ndarray:
    r"""Estimate :math:`\tilde X_i = E[X | Z = z_i]` at every sample.

    Parameters
    ----------
    x : array_like, shape (n,) or (n, dim)
        Source samples.
    z : array_like, shape (n,) or (n, k)
        Paired representation samples.
    method : {"discrete", "linear", "knn"}
        ``"discrete"``: average of ``x`` over samples with the same ``z`` (exact for finite
        alphabets); ``"linear"``: least-squares affine regression on ``z`` (exact for jointly
        Gaussian pairs); ``"knn"``: mean of ``x`` over the ``n_neighbors`` nearest ``z``.

    Returns
    -------
    ndarray, shape of ``x``
    """
    xs = _samples("x", x)
    zs = _samples("z", z)
    if xs.shape[0] != zs.shape[0]:
        raise ValueError(
            f"x and z must hold the same number of samples, got {xs.shape[0]} and {zs.shape[0]}"
        )
    if method not in CONDITIONAL_MEAN_METHODS:
        raise ValueError(f"method must be one of {CONDITIONAL_MEAN_METHODS}, got {method!r}")
    if method == "discrete":
        _, inverse = np.unique(zs, axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        counts = np.bincount(inverse)
        out = np.empty_like(xs)
        for j in range(xs.shape[1]):
            out[:, j] = (np.bincount(inverse, weights=xs[:, j]) / counts)[inverse]
    elif method == "linear":
        design = np.column_stack([np.ones(zs.shape[0]), zs])
        coef, *_ = np.linalg.lstsq(design, xs, rcond=None)
        out = design @ coef
    else:
        from scipy.spatial import cKDTree

        k = check_int("n_neighbors", n_neighbors, minimum=1, maximum=zs.shape[0])
        _, idx = cKDTree(zs).query(zs, k=k)
        idx = np.asarray(idx).reshape(zs.shape[0], -1)
        out = xs[idx].mean(axis=1)
    return out.reshape(np.shape(x)) if np.ndim(x) == 1 else out


def dp_region_from_samples(
    x: object,
    x_tilde: object | None = None,
    *,
    z: object | None = None,
    reference: object | None = None,
    method: str = "discrete",
    n_neighbors: int = 50,
) -> DPRegion:
    r"""Theorem-4 region (W2² perception) of a representation, from samples.

    Parameters
    ----------
    x : array_like, shape (n,) or (n, dim)
        Source samples.
    x_tilde : array_like, optional
        Paired samples of :math:`\tilde X = E[X|Z]`. Give this or ``z``.
    z : array_like, optional
        Paired representation samples; :math:`\tilde X` is then estimated with
        :func:`conditional_mean` (``method``, ``n_neighbors``).
    reference : array_like, optional
        Samples of :math:`p_X` for the Wasserstein term (default: ``x`` itself).

    Returns
    -------
    DPRegion
        :math:`D_a` (mean of :math:`\|x - \tilde x\|^2`), :math:`P_a = W_2^2` between the
        empirical laws of :math:`\tilde x` and the reference, and ``n_samples``.
    """
    xs = _samples("x", x)
    if (x_tilde is None) == (z is None):
        raise ValueError("give exactly one of x_tilde or z")
    if x_tilde is None:
        xt = _samples("x_tilde", conditional_mean(xs, z, method=method, n_neighbors=n_neighbors))
    else:
        xt = _samples("x_tilde", x_tilde)
    if xt.shape != xs.shape:
        raise ValueError(f"x_tilde must have the shape of x {xs.shape}, got {xt.shape}")
    ref = xs if reference is None else _samples("reference", reference)
    d_a = float(np.mean(np.sum((xs - xt) ** 2, axis=1)))
    p_a = wasserstein2_squared(xt, ref)
    return DPRegion(d_a, p_a, n_samples=int(xs.shape[0]))


def geodesic_reconstruction(x_tilde: object, target: object, t: float) -> np.ndarray:
    r"""Decoder outputs on the Wasserstein geodesic from :math:`p_{\tilde X}` to the target law.

    :math:`\hat X = (1 - t)\tilde X + t\,T(\tilde X)` with :math:`T` the empirical optimal
    transport map from the ``x_tilde`` samples to the ``target`` samples (equal sizes). In one
    dimension :math:`T` matches ranks; otherwise it is read off the ``ot.emd`` plan (a
    permutation for equal uniform weights). Then :math:`W_2^2(\hat X, \tilde X) = t^2 W^2` and
    :math:`W_2^2(\hat X, X) = (1 - t)^2 W^2`: with :math:`t = 1 - \sqrt{P/P_a}` the decoder
    attains the Theorem-4 boundary point at perception :math:`P`.
    """
    xt = _samples("x_tilde", x_tilde)
    tg = _samples("target", target)
    t = check_in_range("t", t, 0.0, 1.0)
    if xt.shape != tg.shape:
        raise ValueError(f"target must have the shape of x_tilde {xt.shape}, got {tg.shape}")
    n = xt.shape[0]
    if xt.shape[1] == 1:
        mapped = np.empty_like(xt)
        mapped[np.argsort(xt[:, 0], kind="stable")] = np.sort(tg, axis=0)
    else:
        import ot

        if n * n > MAX_OT_PAIRS:
            raise ValueError(f"x_tilde is too large for exact OT ({n} x {n} > {MAX_OT_PAIRS})")
        w = np.full(n, 1.0 / n)
        plan = ot.emd(w, w, ot.dist(xt, tg, metric="sqeuclidean"), numItermax=10_000_000)
        mapped = tg[np.argmax(plan, axis=1)]
    out = (1.0 - t) * xt + t * mapped
    return out[:, 0] if np.ndim(x_tilde) == 1 else out
