import hashlib
import json
from importlib import resources

import numpy as np
import pytest

from rdlab.sources import (
    BernoulliSource,
    DiscreteSource,
    EmpiricalSource,
    GaussianSource,
    UniformSource,
    discretized_gaussian,
    make_source,
    stored_rotation,
)
from rdlab.sources.registry import gaussian20_variances, haar_rotation


def test_gaussian_sampling_is_seeded_and_matches_covariance():
    a = np.array([[2.0, 0.8], [0.8, 1.0]])
    src = GaussianSource(a, mean=[1.0, -1.0])
    x1 = src.sample(200_000, seed=3)
    np.testing.assert_array_equal(x1, src.sample(200_000, seed=3))
    assert not np.array_equal(x1[:10], src.sample(10, seed=4))
    # sample covariance within ~5 standard errors (se of a covariance entry ~ sqrt(2/n) * 2)
    np.testing.assert_allclose(np.cov(x1.T), a, atol=0.03)
    np.testing.assert_allclose(x1.mean(0), [1.0, -1.0], atol=0.02)
    np.testing.assert_allclose(
        src.eigenvectors @ np.diag(src.eigenvalues) @ src.eigenvectors.T, a, atol=1e-12
    )
    assert src.eigenvalues[0] >= src.eigenvalues[1]


def test_scalar_sources_have_flat_samples():
    assert GaussianSource(2.0).sample(5, seed=0).shape == (5,)
    assert UniformSource(-1, 1).sample(5, seed=0).shape == (5,)
    assert BernoulliSource(0.3).sample(5, seed=0).shape == (5,)
    assert UniformSource([0, 0], [1, 2]).sample(5, seed=0).shape == (5, 2)


def test_discrete_and_bernoulli_frequencies():
    x = BernoulliSource(0.3).sample(100_000, seed=1)
    assert abs(x.mean() - 0.3) < 5 * np.sqrt(0.21 / 1e5)
    d = DiscreteSource([0.5, 0.5], alphabet=["a", "b"]).sample(10, seed=0)
    assert set(d) <= {"a", "b"}


def test_empirical_atoms_merge_duplicates():
    atoms, p = EmpiricalSource(np.array([1.0, 2.0, 1.0, 1.0])).atoms()
    np.testing.assert_array_equal(atoms[:, 0], [1.0, 2.0])
    np.testing.assert_allclose(p, [0.75, 0.25])


def test_gaussian20_registry_source():
    src = make_source("gaussian20")
    assert src.dim == 20
    np.testing.assert_allclose(src.eigenvalues, gaussian20_variances(), rtol=1e-12)
    v = stored_rotation(20)
    np.testing.assert_allclose(v @ v.T, np.eye(20), atol=1e-13)
    # the stored file's checksum is right (the file, not numpy's stream, is the reference)
    meta = json.loads((resources.files("rdlab") / "data" / "rotations.json").read_text())
    raw = (resources.files("rdlab") / "data" / "gaussian20_rotation.npy").read_bytes()
    assert hashlib.sha256(raw).hexdigest() == meta["gaussian20_rotation.npy"]["sha256"]


def test_haar_rotation_is_orthogonal_and_seeded():
    q = haar_rotation(6, seed=3)
    np.testing.assert_allclose(q @ q.T, np.eye(6), atol=1e-13)
    np.testing.assert_array_equal(q, haar_rotation(6, seed=3))
    assert not np.allclose(q, haar_rotation(6, seed=4))


def test_gaussian_registry_variances():
    src = make_source("gaussian", variances=[4, 2, 1])
    np.testing.assert_allclose(src.eigenvalues, [4, 2, 1])


def test_discretized_gaussian():
    x, p = discretized_gaussian(1000, 6.0, variance=4.0)
    assert x.shape == p.shape == (1000,)
    assert p.sum() == pytest.approx(1.0, abs=1e-14)
    assert p @ x**2 == pytest.approx(4.0, rel=1e-4)
    assert x[0] == -12.0 and x[-1] == 12.0


@pytest.mark.parametrize(
    "call, exc, message",
    [
        (lambda: GaussianSource(-1.0), ValueError, "must be > 0"),
        (lambda: GaussianSource([[1.0, 2.0], [2.0, 1.0]]), ValueError, "positive semi-definite"),
        (lambda: GaussianSource([[1.0, 0.5], [0.0, 1.0]]), ValueError, "symmetric"),
        (lambda: GaussianSource([1.0, 1.0], mean=[0.0]), ValueError, "mean must have shape"),
        (lambda: BernoulliSource(1.5), ValueError, r"p must be in \[0.0, 1.0\]"),
        (lambda: DiscreteSource([0.2, 0.2]), ValueError, "sums to"),
        (
            lambda: DiscreteSource([0.5, 0.5], alphabet=[1, 2, 3]),
            ValueError,
            "one symbol per pmf entry",
        ),
        (lambda: UniformSource(1.0, 0.0), ValueError, "high must be > low"),
        (lambda: GaussianSource(1.0).sample(-1, seed=0), ValueError, "n must be >= 0"),
        (lambda: GaussianSource(1.0).sample(3, seed=None), TypeError, "seed must be given"),
        (lambda: make_source("nope"), ValueError, "unknown source"),
        (lambda: make_source("gaussian", variances=[1, -2]), ValueError, "variances must be > 0"),
        (lambda: discretized_gaussian(1), ValueError, "n must be >= 2"),
    ],
)
def test_bad_input(call, exc, message):
    with pytest.raises(exc, match=message):
        call()
