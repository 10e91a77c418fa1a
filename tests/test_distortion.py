import numpy as np
import pytest

from rdlab.core import distortion_matrix, hamming_distortion, squared_error, squared_lp


def test_squared_error_and_lp():
    x = np.array([[1.0, -2.0], [0.0, 3.0]])
    y = np.zeros(2)
    np.testing.assert_array_equal(squared_error(x, y), [5.0, 9.0])
    np.testing.assert_allclose(squared_lp(2)(x, y), [5.0, 9.0])
    np.testing.assert_allclose(squared_lp(1)(x, y), [9.0, 9.0])
    # ||v||_p is non-increasing in p
    v = np.random.default_rng(0).normal(size=(100, 5))
    d1, d2, d3 = (squared_lp(p)(v, 0 * v) for p in (1, 2, 3))
    assert np.all(d1 >= d2 - 1e-12) and np.all(d2 >= d3 - 1e-12)


def test_distortion_matrix_shapes_and_values():
    d = distortion_matrix([0.0, 1.0, 3.0], [0.0, 2.0])
    np.testing.assert_allclose(d, [[0, 4], [1, 1], [9, 1]])
    h = distortion_matrix([0, 1, 2], distortion="hamming")
    np.testing.assert_array_equal(h, 1 - np.eye(3))
    vec = distortion_matrix(np.eye(3), np.zeros((1, 3)))
    np.testing.assert_allclose(vec, [[1], [1], [1]])
    custom = distortion_matrix([0.0, 1.0], [0.0, 2.0], distortion=squared_lp(1))
    np.testing.assert_allclose(custom, [[0, 4], [1, 1]])
    np.testing.assert_array_equal(hamming_distortion([1, 2], [1, 3]), [0.0, 1.0])


def test_distortion_matrix_bad_input():
    with pytest.raises(ValueError, match="distortion must be a callable or one of"):
        distortion_matrix([0, 1], distortion="nope")
    with pytest.raises(ValueError, match="same dimension"):
        distortion_matrix(np.zeros((2, 2)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="p must be >= 1"):
        squared_lp(0.5)
    with pytest.raises(ValueError, match="non-negative"):
        distortion_matrix([0.0, 1.0], distortion=lambda x, y: (x - y).sum(-1))
