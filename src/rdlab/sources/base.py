"""Sources: distributions that can be sampled with a seed and describe themselves.

Every source has ``dim`` (the length of one sample; 1 for scalar sources), ``sample(n, seed)``
returning an array of shape ``(n,)`` for scalar sources and ``(n, dim)`` for vector ones, and
``describe()`` giving a JSON-ready description (used in run configs and bitstream headers).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rdlab.core.validation import (
    as_float_array,
    check_in_range,
    check_int,
    check_pmf,
    make_rng,
)


class Source:
    """Base class: a distribution with seeded sampling."""

    name = "source"
    dim: int = 1

    def sample(self, n: int, seed: object) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    @staticmethod
    def _check_n(n: object) -> int:
        return check_int("n", n, minimum=0)


class GaussianSource(Source):
    r"""A Gaussian source :math:`N(\mu, \Sigma)`, scalar or vector.

    Parameters
    ----------
    cov : float, array_like of shape (m,), or array_like of shape (m, m)
        A variance (scalar source), a vector of variances (diagonal covariance) or a full
        symmetric positive semi-definite covariance matrix.
    mean : float or array_like of shape (m,), optional
        Mean; zero by default.

    Attributes
    ----------
    eigenvalues : ndarray, shape (m,)
        Eigenvalues of the covariance in decreasing order (cached).
    eigenvectors : ndarray, shape (m, m)
        Matching orthonormal eigenvectors as columns: ``cov = V diag(eigenvalues) V^T``.

    Examples
    --------
    >>> src = GaussianSource([4.0, 1.0])
    >>> src.sample(3, seed=0).shape
    (3, 2)
    """

    name = "gaussian"

    def __init__(self, cov: object, mean: object | None = None) -> None:
        c = as_float_array("cov", cov)
        if c.ndim == 0:
            if c <= 0:
                raise ValueError(f"cov (a variance) must be > 0, got {float(c)}")
            self.scalar = True
            self.cov = c.reshape(1, 1)
        elif c.ndim == 1:
            if np.any(c <= 0):
                raise ValueError(f"cov (variances) must be > 0, got min {c.min()}")
            self.scalar = False
            self.cov = np.diag(c)
        elif c.ndim == 2:
            if c.shape[0] != c.shape[1]:
                raise ValueError(f"cov must be square, got shape {c.shape}")
            if not np.allclose(c, c.T, atol=1e-10 * max(1.0, np.abs(c).max())):
                raise ValueError("cov must be symmetric")
            self.scalar = False
            self.cov = 0.5 * (c + c.T)
        else:
            raise ValueError(f"cov must be a scalar, a vector or a matrix, got shape {c.shape}")
        self.dim = self.cov.shape[0]
        if mean is None:
            self.mean = np.zeros(self.dim)
        else:
            m = np.atleast_1d(as_float_array("mean", mean))
            if m.shape != (self.dim,):
                raise ValueError(f"mean must have shape ({self.dim},), got {m.shape}")
            self.mean = m
        w, v = np.linalg.eigh(self.cov)
        if w.min() < -1e-10 * max(1.0, abs(w.max())):
            raise ValueError(
                f"cov must be positive semi-definite; smallest eigenvalue {w.min():.3g}"
            )
        order = np.argsort(w)[::-1]
        # cached eigen-decomposition, eigenvalues in decreasing order
        self._eig = (np.clip(w[order], 0.0, None), v[:, order])

    @property
    def eigenvalues(self) -> np.ndarray:
        return self._eig[0]

    @property
    def eigenvectors(self) -> np.ndarray:
        return self._eig[1]

    @property
    def total_variance(self) -> float:
        """Trace of the covariance: the zero-rate distortion D_max under squared error."""
        return float(np.trace(self.cov))

    def sample(self, n: int, seed: object) -> np.ndarray:
        n = self._check_n(n)
        rng = make_rng(seed)
        z = rng.standard_normal((n, self.dim))
        x = self.mean + (z * np.sqrt(self.eigenvalues)) @ self.eigenvectors.T
        return x[:, 0] if self.scalar else x

    def describe(self) -> dict[str, Any]:
        return {
            "source": self.name,
            "dim": self.dim,
            "mean": self.mean.tolist(),
            "eigenvalues": self.eigenvalues.tolist(),
        }


class DiscreteSource(Source):
    """A finite-alphabet source with pmf ``pmf`` over ``alphabet`` (default ``0..n-1``).

    Examples
    --------
    >>> DiscreteSource([0.5, 0.25, 0.25], alphabet=[-1, 0, 1]).sample(4, seed=1).shape
    (4,)
    """

    name = "discrete"

    def __init__(self, pmf: object, alphabet: object | None = None) -> None:
        self.pmf = check_pmf("pmf", pmf)
        if alphabet is None:
            self.alphabet = np.arange(self.pmf.size)
        else:
            self.alphabet = np.asarray(alphabet)
            if self.alphabet.shape[0] != self.pmf.size:
                raise ValueError(
                    f"alphabet must have one symbol per pmf entry ({self.pmf.size}), "
                    f"got {self.alphabet.shape[0]}"
                )
        self.dim = 1 if self.alphabet.ndim == 1 else int(np.prod(self.alphabet.shape[1:]))

    def sample(self, n: int, seed: object) -> np.ndarray:
        n = self._check_n(n)
        idx = make_rng(seed).choice(self.pmf.size, size=n, p=self.pmf)
        return self.alphabet[idx]

    def describe(self) -> dict[str, Any]:
        return {"source": self.name, "pmf": self.pmf.tolist(), "alphabet": self.alphabet.tolist()}


class BernoulliSource(DiscreteSource):
    """Bernoulli(p) on {0, 1}: P(X = 1) = p."""

    name = "bernoulli"

    def __init__(self, p: float) -> None:
        self.p = check_in_range("p", p, 0.0, 1.0)
        super().__init__([1.0 - self.p, self.p], alphabet=[0, 1])

    def describe(self) -> dict[str, Any]:
        return {"source": self.name, "p": self.p}


class UniformSource(Source):
    """Uniform on the box [low, high] (scalar, or per coordinate for array bounds)."""

    name = "uniform"

    def __init__(self, low: object = 0.0, high: object = 1.0) -> None:
        lo = as_float_array("low", low)
        hi = as_float_array("high", high)
        if lo.shape != hi.shape or lo.ndim > 1:
            raise ValueError(
                f"low and high must be scalars or 1-D of one shape, got {lo.shape}, {hi.shape}"
            )
        if np.any(hi <= lo):
            raise ValueError("high must be > low in every coordinate")
        self.scalar = lo.ndim == 0
        self.low = np.atleast_1d(lo)
        self.high = np.atleast_1d(hi)
        self.dim = self.low.size

    @property
    def variance(self) -> np.ndarray:
        return (self.high - self.low) ** 2 / 12.0

    def sample(self, n: int, seed: object) -> np.ndarray:
        n = self._check_n(n)
        x = make_rng(seed).uniform(self.low, self.high, size=(n, self.dim))
        return x[:, 0] if self.scalar else x

    def describe(self) -> dict[str, Any]:
        return {"source": self.name, "low": self.low.tolist(), "high": self.high.tolist()}


class EmpiricalSource(Source):
    """The empirical distribution of given samples (rows); sampling draws rows with replacement."""

    name = "empirical"

    def __init__(self, samples: object) -> None:
        x = as_float_array("samples", samples)
        if x.ndim == 0:
            raise ValueError("samples must have at least one dimension")
        self.samples = x
        self.scalar = x.ndim == 1
        self.dim = 1 if self.scalar else int(np.prod(x.shape[1:]))

    def atoms(self) -> tuple[np.ndarray, np.ndarray]:
        """Distinct samples (as rows of shape (k, dim)) and their empirical probabilities."""
        flat = self.samples.reshape(self.samples.shape[0], -1)
        uniq, counts = np.unique(flat, axis=0, return_counts=True)
        return uniq, counts / counts.sum()

    def sample(self, n: int, seed: object) -> np.ndarray:
        n = self._check_n(n)
        idx = make_rng(seed).integers(0, self.samples.shape[0], size=n)
        return self.samples[idx]

    def describe(self) -> dict[str, Any]:
        return {"source": self.name, "n": int(self.samples.shape[0]), "dim": self.dim}
