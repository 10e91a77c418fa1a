"""Degradations of seed 003 (Liu et al. 2022, App. B.1): bilinear x4 SR input, SVHN noise."""

import json

import numpy as np
import pytest

from rdlab.sources.degradations import (
    TASKS,
    Degradation,
    paper_degradation,
    resize_bilinear,
)

torch = pytest.importorskip("torch")


def _torch_resize(x, size):
    t = torch.from_numpy(np.ascontiguousarray(x))
    out = torch.nn.functional.interpolate(
        t, size=size, mode="bilinear", align_corners=False, antialias=False
    )
    return out.numpy()


def _rand(shape, seed=0):
    return np.random.default_rng(seed).random(shape, dtype=np.float32)


@pytest.mark.parametrize(
    ("shape", "size"),
    [
        ((3, 1, 28, 28), (7, 7)),
        ((3, 1, 7, 7), (28, 28)),
        ((2, 3, 32, 32), (8, 8)),
        ((2, 3, 8, 8), (32, 32)),
        ((2, 2, 28, 32), (14, 8)),
        ((2, 2, 5, 9), (13, 4)),
        ((1, 1, 10, 10), (3, 17)),
        ((1, 1, 6, 6), (6, 6)),
        ((1, 1, 1, 1), (4, 5)),
        ((1, 2, 4, 3), (1, 1)),
    ],
)
def test_resize_matches_torch_interpolate(shape, size):
    x = _rand(shape, seed=sum(shape))
    out = resize_bilinear(x, size)
    assert out.dtype == np.float32 and out.shape == (*shape[:2], *size)
    np.testing.assert_allclose(out, _torch_resize(x, size), rtol=0, atol=1e-6)


@pytest.mark.parametrize(("n_in", "n_out"), [(28, 7), (7, 28), (39, 31), (38, 17), (7, 31)])
def test_interpolation_weights_are_bit_identical_to_torch(n_in, n_out):
    # resizing the rows of an identity matrix along W gives the weights themselves
    eye = np.eye(n_in, dtype=np.float32).reshape(1, 1, n_in, n_in)
    np.testing.assert_array_equal(
        resize_bilinear(eye, (n_in, n_out)), _torch_resize(eye, (n_in, n_out))
    )
    eye_h = np.ascontiguousarray(eye.transpose(0, 1, 3, 2))
    np.testing.assert_array_equal(
        resize_bilinear(eye_h, (n_out, n_in)), _torch_resize(eye_h, (n_out, n_in))
    )


@pytest.mark.parametrize("side", [28, 32])
def test_sr_round_trip_matches_torch(side):
    x = _rand((4, 3, side, side), seed=side)
    low = side // 4
    expected = _torch_resize(_torch_resize(x, (low, low)), (side, side))
    deg = paper_degradation("sr")
    np.testing.assert_allclose(deg.apply(x), expected, rtol=0, atol=1e-6)
    np.testing.assert_allclose(deg.low_resolution(x), _torch_resize(x, (low, low)), atol=1e-6)


def test_downsample_of_block_constant_image_returns_the_blocks():
    blocks = _rand((2, 1, 7, 7), seed=5)
    x = np.repeat(np.repeat(blocks, 4, axis=2), 4, axis=3)
    np.testing.assert_array_equal(resize_bilinear(x, (7, 7)), blocks)
    np.testing.assert_array_equal(paper_degradation("sr").low_resolution(x), blocks)


@pytest.mark.parametrize("value", [0.0, 0.3, 1.0])
def test_sr_of_a_constant_image_is_that_constant_and_keeps_shape(value):
    x = np.full((3, 2, 28, 28), value, dtype=np.float32)
    out = paper_degradation("sr").apply(x)
    assert out.shape == x.shape and out.dtype == np.float32
    np.testing.assert_allclose(out, value, rtol=0, atol=1e-6)


def test_sr_is_deterministic_and_actually_blurs():
    deg = Degradation("sr", factor=4)
    assert deg.deterministic and not Degradation("denoise").deterministic
    x = _rand((2, 1, 28, 28))
    np.testing.assert_array_equal(deg.apply(x, seed=1), deg.apply(x, seed=2))
    assert np.abs(deg.apply(x) - x).mean() > 0.05


def test_denoise_noise_level_mean_and_no_clipping():
    x = np.zeros((10000, 3, 32, 32), dtype=np.float32)
    out = paper_degradation("denoise").apply(x, seed=0)
    assert out.shape == x.shape and out.dtype == np.float32
    assert abs(out.std() / (20 / 255) - 1) < 0.01
    assert abs(out.mean()) < 1e-3
    assert out.min() < 0  # not clipped at 0
    ones = paper_degradation("denoise").apply(np.ones((8, 3, 32, 32), np.float32), seed=0)
    assert ones.max() > 1  # nor at 1


def test_denoise_noise_is_pcg64_standard_normal_times_std_over_255():
    x = _rand((5, 3, 32, 32))
    out = Degradation("denoise", noise_level=10).apply(x, seed=42)
    rng = np.random.Generator(np.random.PCG64(42))
    noise = rng.standard_normal(x.shape, dtype=np.float32) * np.float32(10 / 255)
    np.testing.assert_allclose(out, x + noise, rtol=0, atol=1e-7)
    zero = Degradation("denoise", noise_level=0).apply(x, seed=42)
    np.testing.assert_array_equal(zero, x)


def test_denoise_seeds():
    deg = paper_degradation("denoise")
    x = _rand((4, 3, 32, 32))
    np.testing.assert_array_equal(deg.apply(x, seed=7), deg.apply(x, seed=7))
    assert not np.array_equal(deg.apply(x, seed=7), deg.apply(x, seed=8))
    deg.apply(x, seed=2**64 - 1)  # the whole seed range is accepted


@pytest.mark.parametrize("task", TASKS)
def test_uint8_input_equals_float_input_over_255(task):
    u8 = np.random.default_rng(1).integers(0, 256, size=(3, 3, 32, 32), dtype=np.uint8)
    deg = paper_degradation(task)
    np.testing.assert_array_equal(
        deg.apply(u8, seed=3), deg.apply(u8.astype(np.float32) / np.float32(255), seed=3)
    )


def test_paper_degradations_and_describe():
    sr, dn = paper_degradation("sr"), paper_degradation("denoise")
    assert (sr.task, sr.factor) == ("sr", 4)
    assert (dn.task, dn.noise_level) == ("denoise", 20.0)
    d = sr.describe()
    assert d["task"] == "sr" and d["factor"] == 4 and d["noise_level"] is None
    assert "bilinear" in d["resample"] and "align_corners=False" in d["resample"]
    assert d["clipped"] is False and d["model_input_size"] == "same as the target"
    d = dn.describe()
    assert d["noise_level"] == 20.0 and d["factor"] is None and d["clipped"] is False
    json.dumps(sr.describe()), json.dumps(dn.describe())
    factor = Degradation("sr", factor=np.int64(2)).factor
    assert type(factor) is int and factor == 2


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"task": "blur"}, ValueError, r"task.*'sr', 'denoise'"),
        ({"task": "sr", "factor": 0}, ValueError, "factor"),
        ({"task": "sr", "factor": 17}, ValueError, "factor"),
        ({"task": "sr", "factor": True}, TypeError, "factor"),
        ({"task": "sr", "factor": 3.5}, TypeError, "factor"),
        ({"task": "denoise", "noise_level": -1}, ValueError, "noise_level"),
        ({"task": "denoise", "noise_level": 256}, ValueError, "noise_level"),
        ({"task": "denoise", "noise_level": float("nan")}, ValueError, "noise_level"),
        ({"task": "denoise", "noise_level": "20"}, TypeError, "noise_level"),
    ],
)
def test_bad_parameters_raise(kwargs, error, match):
    with pytest.raises(error, match=match):
        Degradation(**kwargs)


def test_paper_degradation_rejects_unknown_task():
    with pytest.raises(ValueError, match="task"):
        paper_degradation("blur")


@pytest.mark.parametrize("task", TASKS)
def test_bad_images_and_seeds_raise(task):
    deg = paper_degradation(task)
    good = np.zeros((2, 1, 28, 28), np.float32)
    with pytest.raises(ValueError, match="images"):
        deg.apply(good[0])  # ndim 3
    bad = good.copy()
    bad[0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="images"):
        deg.apply(bad)
    with pytest.raises(ValueError, match="images"):
        deg.apply(good + 1.5)
    with pytest.raises(ValueError, match="images"):
        deg.apply(good - 0.1)
    with pytest.raises(TypeError, match="images"):
        deg.apply(good.astype(np.int64))
    with pytest.raises(ValueError, match="seed"):
        deg.apply(good, seed=-1)
    with pytest.raises(TypeError, match="seed"):
        deg.apply(good, seed=1.5)


def test_side_not_divisible_by_factor_raises():
    deg = paper_degradation("sr")
    with pytest.raises(ValueError, match=r"images.*factor"):
        deg.apply(np.zeros((1, 1, 30, 30), np.float32))
    with pytest.raises(ValueError, match=r"images.*factor"):
        deg.low_resolution(np.zeros((1, 1, 28, 30), np.float32))
    with pytest.raises(ValueError, match="low_resolution"):
        paper_degradation("denoise").low_resolution(np.zeros((1, 1, 28, 28), np.float32))


def test_resize_rejects_bad_arguments():
    x = np.zeros((1, 1, 4, 4), np.float32)
    with pytest.raises(ValueError, match="images"):
        resize_bilinear(x[0], (2, 2))
    with pytest.raises(TypeError, match="images"):
        resize_bilinear(x.astype(np.uint8), (2, 2))
    with pytest.raises(ValueError, match="images"):
        resize_bilinear(np.full_like(x, np.inf), (2, 2))
    with pytest.raises(ValueError, match="size"):
        resize_bilinear(x, (0, 2))
    with pytest.raises(TypeError, match="size"):
        resize_bilinear(x, (2.0, 2))
    with pytest.raises(TypeError, match="size"):
        resize_bilinear(x, 2)
