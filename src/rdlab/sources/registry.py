"""Registry of named sources, read by the CLI (``rdlab sample --source NAME``) and the demo.

Adding a source is one decorator::

    @register_source("name", "one-line description")
    def _make(**params) -> Source: ...

The rotations of the built-in correlated Gaussians are stored in ``rdlab/data`` (generated once
from the seed recorded beside them), so they never depend on a random-number stream that may
change across library versions.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources

import numpy as np

from rdlab.core.validation import check_variances
from rdlab.sources.base import GaussianSource, Source

ROTATION_FILES = {20: "gaussian20_rotation.npy", 40: "gaussian40_rotation.npy"}


@dataclass(frozen=True)
class SourceSpec:
    name: str
    description: str
    factory: Callable[..., Source]


SOURCES: dict[str, SourceSpec] = {}


def register_source(name: str, description: str):
    def decorator(factory: Callable[..., Source]) -> Callable[..., Source]:
        if name in SOURCES:
            raise ValueError(f"source {name!r} is registered twice")
        SOURCES[name] = SourceSpec(name, description, factory)
        return factory

    return decorator


def make_source(name: str, **params: object) -> Source:
    """Build the registered source ``name`` with its parameters."""
    if name not in SOURCES:
        raise ValueError(f"unknown source {name!r}; known: {', '.join(sorted(SOURCES))}")
    return SOURCES[name].factory(**params)


def haar_rotation(dim: int, seed: int) -> np.ndarray:
    """A Haar-distributed orthogonal matrix from numpy's PCG64 stream (QR with sign fix).

    Used once to create the stored rotations; the library then reads the stored file.
    """
    g = np.random.default_rng(seed).standard_normal((dim, dim))
    q, r = np.linalg.qr(g)
    return q * np.sign(np.diag(r))


def stored_rotation(dim: int) -> np.ndarray:
    """The stored orthogonal matrix for the built-in ``dim``-dimensional Gaussian.

    Its seed and SHA-256 are in ``rdlab/data/rotations.json``; the checksum is verified.
    """
    if dim not in ROTATION_FILES:
        raise ValueError(f"no stored rotation of dimension {dim}; stored: {sorted(ROTATION_FILES)}")
    data = resources.files("rdlab") / "data"
    meta = json.loads((data / "rotations.json").read_text())[ROTATION_FILES[dim]]
    raw = (data / ROTATION_FILES[dim]).read_bytes()
    if hashlib.sha256(raw).hexdigest() != meta["sha256"]:
        raise ValueError(f"stored rotation {ROTATION_FILES[dim]} is corrupted (checksum mismatch)")
    with (data / ROTATION_FILES[dim]).open("rb") as fh:
        return np.load(fh, allow_pickle=False)


def gaussian20_variances() -> np.ndarray:
    """Eigenvalues of the official NERD code's m = 20 Gaussian: 4·exp(−k/2), k = 0..19."""
    return 4.0 * np.exp(-np.arange(20) / 2.0)


@register_source(
    "gaussian20", "m=20 Gaussian, variances 4·exp(−k/2), k=0..19, fixed stored rotation"
)
def _gaussian20() -> Source:
    v = stored_rotation(20)
    cov = (v * gaussian20_variances()) @ v.T
    return GaussianSource(cov)


@register_source("gaussian", "zero-mean Gaussian with diagonal covariance (--variances 4,2,1)")
def _gaussian(variances: object = (1.0,)) -> Source:
    var = check_variances("variances", variances)
    return GaussianSource(var if var.size > 1 else float(var[0]))
